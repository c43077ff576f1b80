"""Whether a finished session's summary goes to the mentee's mentor: the conversation
service decides, from the mentee's choice (/share), their pair and the kind of session."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.app import Programme, create_programme
from bot.domain.dialogs import load_dialogs
from bot.services.conversation import SummaryOffer
from bot.services.dialogs import DialogService
from bot.services.followup import FollowUpService
from bot.storage.database import create_sessionmaker
from bot.storage.models import Cohort, DialogSession, Outgoing, Pair, Person, Profile

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
MENTEE, MENTOR, STRANGER = 7, 8, 9


class Clock:
    def now(self) -> datetime:
        return NOW


def finished(person_id: int, dialog_id: str) -> DialogSession:
    return DialogSession(
        person_id=person_id,
        dialog_id=dialog_id,
        status="finished",
        state={"seq": 3},
        started_at=NOW,
        updated_at=NOW,
        finished_at=NOW,
    )


async def setup(db: AsyncSession) -> tuple[Programme, Person, DialogSession, DialogSession]:
    """A mentee in an active pair with one finished GROW session and one finished report."""
    dialogs = DialogService(load_dialogs(ROOT / "dialogs"), Clock())
    programme = create_programme(
        dialogs, Clock(), (), "en", FollowUpService(Clock(), "Europe/Riga", "en")
    )
    for person_id, name in ((MENTEE, "Anna"), (MENTOR, "Rita"), (STRANGER, "Ben")):
        db.add(Person(id=person_id, first_name=name, created_at=NOW, last_seen_at=NOW))
    cohort = Cohort(name="Spring", mode="coordinator", settings={}, created_by=1, created_at=NOW)
    db.add(cohort)
    await db.flush()
    db.add(Profile(person_id=MENTEE, role="mentee", data={"share": "ask"}, updated_at=NOW))
    db.add(
        Pair(
            cohort_id=cohort.id,
            mentee_id=MENTEE,
            mentor_id=MENTOR,
            status="active",
            score=80,
            reasons=[],
            created_at=NOW,
        )
    )
    grow, report = finished(MENTEE, "grow"), finished(MENTEE, "report")
    db.add_all([grow, report])
    await db.flush()
    mentee = await db.get(Person, MENTEE)
    assert mentee is not None
    return programme, mentee, grow, report


async def test_the_mentees_choice_decides_and_only_coaching_sessions_go(
    db_engine: AsyncEngine,
) -> None:
    async with create_sessionmaker(db_engine)() as db:
        programme, mentee, grow, report = await setup(db)
        conversation = programme.conversation
        assert await conversation.summary_offer(db, mentee, grow.id) is SummaryOffer.ASK
        await conversation.set_share_mode(db, MENTEE, "always")
        assert await conversation.summary_offer(db, mentee, grow.id) is SummaryOffer.SEND
        await conversation.set_share_mode(db, MENTEE, "never")
        assert await conversation.summary_offer(db, mentee, grow.id) is SummaryOffer.KEEP
        await conversation.set_share_mode(db, MENTEE, "always")
        # A form's answers (a report is for the coordinators) are never a summary to share,
        # not even when the mentee asks for it by the session's id.
        assert await conversation.summary_offer(db, mentee, report.id) is SummaryOffer.KEEP
        assert await conversation.shareable(db, mentee, report.id) is None
        assert await conversation.share_summary(db, mentee, report.id, ["x"]) is None
        # Someone else's session is not theirs to share.
        stranger = await db.get(Person, STRANGER)
        assert stranger is not None
        assert await conversation.shareable(db, stranger, grow.id) is None
        shareable = await conversation.shareable(db, mentee, grow.id)
        assert shareable is not None and shareable.mentor.id == MENTOR
        assert shareable.name == f"#{(await db.scalar(select(Pair.id)))}"  # a pseudonym
        sent = await conversation.share_summary(db, mentee, grow.id, ["part 1", "part 2"])
        assert sent is not None and sent.id == MENTOR
        rows = (await db.scalars(select(Outgoing).order_by(Outgoing.id))).all()
        assert [(r.kind, r.chat_id, r.payload) for r in rows] == [
            ("summary", MENTOR, {"text": "part 1"}),
            ("summary", MENTOR, {"text": "part 2"}),
        ]


async def test_without_an_active_pair_nothing_is_offered(db_engine: AsyncEngine) -> None:
    async with create_sessionmaker(db_engine)() as db:
        programme, mentee, grow, _ = await setup(db)
        pair = await db.scalar(select(Pair))
        assert pair is not None
        pair.status = "ended"
        await programme.conversation.set_share_mode(db, MENTEE, "always")
        assert await programme.conversation.summary_offer(db, mentee, grow.id) is SummaryOffer.KEEP
        assert await programme.conversation.share_summary(db, mentee, grow.id, ["x"]) is None
        assert await db.scalar(select(func.count()).select_from(Outgoing)) == 0
