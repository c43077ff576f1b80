"""Consents for sensitive answers: recorded with their history, asked once before a dialog
that needs them, and what is not consented to is neither asked nor shared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.app import create_programme
from bot.domain import engine
from bot.domain.consent import ConsentKind
from bot.domain.dialogs import DialogError, load_dialog, load_dialogs
from bot.domain.engine import Press, Progress
from bot.services.dialogs import DialogService, Turn
from bot.services.followup import FollowUpService
from bot.services.people import PeopleService
from bot.services.privacy import PrivacyService
from bot.storage import consents as consent_store
from bot.storage import repositories as repo
from bot.storage.database import create_sessionmaker
from bot.storage.models import (
    Cohort,
    CohortCoordinator,
    DialogSession,
    Membership,
    Outgoing,
    Pair,
    Person,
    Profile,
)
from tests.dialog_answers import TODAY, valid_input

ROOT = Path(__file__).resolve().parents[2]
DIALOGS = load_dialogs(ROOT / "dialogs")
NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)
MENTEE, MENTOR, COORDINATOR, STRANGER = 7, 8, 9, 10


class Clock:
    def __init__(self) -> None:
        self.moment = NOW

    def now(self) -> datetime:
        return self.moment


# The engine and the definitions ------------------------------------------------------


def test_the_mood_and_the_wheels_ratings_name_their_consents() -> None:
    assert DIALOGS["checkin"].consent_steps() == {"mood": ConsentKind.MOOD}
    assert DIALOGS["wheel"].consents() == (ConsentKind.WHEEL,)
    assert set(DIALOGS["wheel"].consent_steps()) == set(DIALOGS["wheel"].steps[-4].show_from)
    assert all(not DIALOGS[d].consents() for d in ("grow", "dilts", "intake_mentee"))


def test_a_run_without_a_step_never_asks_it_and_keeps_that_across_restarts() -> None:
    checkin = DIALOGS["checkin"]
    progress = engine.start(checkin, frozenset({"mood"})).progress
    assert progress.cursor is not None
    assert engine.step_at(checkin, progress.cursor).id == "talked"
    stored = progress.to_json()
    assert stored["omitted"] == ["mood"]
    progress = Progress.from_json(stored)
    progress = engine.handle(checkin, progress, Press("c:yes"), TODAY).progress
    # Back from the first question asked stays there: the left-out step is not reached.
    back = engine.handle(checkin, progress, Press("back"), TODAY).progress
    assert back.cursor is not None and engine.step_at(checkin, back.cursor).id == "talked"
    progress = engine.handle(checkin, progress, Press("skip"), TODAY).progress
    assert progress.finished and "mood" not in progress.answers
    assert [line.label.id for line in engine.summary(checkin, progress)] == [
        "Talked with the mentor",
        "For my mentor",
    ]
    # A run with every step keeps the state it always had.
    assert "omitted" not in engine.start(checkin).progress.to_json()


def test_only_a_top_level_question_can_need_a_consent(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "id: bad\nkind: form\nroles: [everyone]\ntitle: t\nintro: i\noutro: o\nsteps:\n"
        "  - {id: rate, kind: scale, label: R, prompt: P, min: 1, max: 5}\n"
        "  - {id: chart, kind: show, show: wheel_chart, show_from: [rate], consent: wheel}\n",
        encoding="utf-8",
    )
    with pytest.raises(DialogError, match="only a question"):
        load_dialog(path)
    path.write_text(
        "id: bad\nkind: form\nroles: [everyone]\ntitle: t\nintro: i\noutro: o\nsteps:\n"
        "  - id: loop\n    kind: loop\n    item_label: x\n    steps:\n"
        "      - {id: rate, kind: scale, label: R, prompt: P, consent: mood}\n",
        encoding="utf-8",
    )
    with pytest.raises(DialogError, match="inside a loop"):
        load_dialog(path)


# Storage ----------------------------------------------------------------------------


async def add_people(db: AsyncSession) -> None:
    for person_id, name in ((MENTEE, "Anna"), (MENTOR, "Rita"), (COORDINATOR, "Ivo")):
        db.add(Person(id=person_id, first_name=name, created_at=NOW, last_seen_at=NOW))
    db.add(Person(id=STRANGER, first_name="Ben", created_at=NOW, last_seen_at=NOW))
    await db.flush()


@pytest.mark.postgres
async def test_decisions_keep_their_history_and_the_latest_holds(db_engine: AsyncEngine) -> None:
    async with create_sessionmaker(db_engine)() as db:
        await add_people(db)
        assert await consent_store.decisions(db, MENTEE) == {}
        for n, (kind, given) in enumerate(
            [
                (ConsentKind.MOOD, True),
                (ConsentKind.WHEEL, False),
                (ConsentKind.MOOD, False),
                (ConsentKind.MOOD, True),
            ]
        ):
            consent_store.record(db, MENTEE, kind, given, NOW + timedelta(minutes=n))
        consent_store.record(db, STRANGER, ConsentKind.MOOD, False, NOW)
        await db.commit()
        assert await consent_store.decisions(db, MENTEE) == {
            ConsentKind.MOOD: True,
            ConsentKind.WHEEL: False,
        }
        assert await consent_store.has(db, MENTEE, ConsentKind.MOOD)
        assert not await consent_store.has(db, MENTEE, ConsentKind.WHEEL)
        assert not await consent_store.has(db, MENTOR, ConsentKind.MOOD)
        giving = await db.scalars(
            select(Person.id)
            .where(consent_store.gives(ConsentKind.MOOD, Person.id))
            .order_by(Person.id)
        )
        assert list(giving) == [MENTEE]
        history = await consent_store.history(db, MENTEE)
        assert [(row.kind, row.given, row.at) for row in history] == [
            ("mood", True, NOW),
            ("wheel", False, NOW + timedelta(minutes=1)),
            ("mood", False, NOW + timedelta(minutes=2)),
            ("mood", True, NOW + timedelta(minutes=3)),
        ]


@pytest.mark.postgres
async def test_a_person_erased_takes_their_consents_along(db_engine: AsyncEngine) -> None:
    people = PeopleService(Clock())
    async with create_sessionmaker(db_engine)() as db:
        await add_people(db)
        await people.set_consent(db, MENTEE, ConsentKind.MOOD, True)
        await db.commit()
        await PrivacyService(Clock(), "en").erase(db, MENTEE)
        await db.commit()
        assert await consent_store.history(db, MENTEE) == []


# The dialogs ------------------------------------------------------------------------


async def programme_world(db: AsyncSession) -> tuple[DialogService, PeopleService, Clock]:
    """Anna, a mentee paired with Rita in a cohort Ivo coordinates; Ben, a stranger."""
    clock = Clock()
    dialogs = DialogService(DIALOGS, clock)
    people = PeopleService(clock)
    people.on_consent_change.append(dialogs.consent_changed)
    await add_people(db)
    cohort = Cohort(name="Spring", mode="coordinator", settings={}, created_by=1, created_at=NOW)
    db.add(cohort)
    await db.flush()
    db.add(CohortCoordinator(cohort_id=cohort.id, person_id=COORDINATOR))
    db.add(
        Membership(
            cohort_id=cohort.id, person_id=MENTEE, role="mentee", status="active", joined_at=NOW
        )
    )
    db.add(Profile(person_id=MENTEE, role="mentee", data={"share": "always"}, updated_at=NOW))
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
    await db.flush()
    return dialogs, people, clock


def first_question(dialogs: DialogService, progress: Progress | None, dialog: str) -> str:
    assert progress is not None and progress.cursor is not None
    return engine.step_at(dialogs.dialogs[dialog], progress.cursor).id


@pytest.mark.postgres
async def test_the_mood_is_asked_only_with_consent_and_the_question_comes_first(
    db_engine: AsyncEngine,
) -> None:
    async with create_sessionmaker(db_engine)() as db:
        dialogs, people, _clock = await programme_world(db)
        for who in (MENTEE, STRANGER):
            asked = await dialogs.start(db, who, "checkin")
            assert (asked.kind, asked.consent, asked.record) == (
                Turn.CONSENT,
                ConsentKind.MOOD,
                None,
            )
        await people.set_consent(db, STRANGER, ConsentKind.MOOD, False)
        without = await dialogs.start(db, STRANGER, "checkin")
        assert without.kind is Turn.STARTED
        assert first_question(dialogs, without.progress, "checkin") == "talked"
        await people.set_consent(db, MENTEE, ConsentKind.MOOD, True)
        with_mood = await dialogs.start(db, MENTEE, "checkin")
        assert first_question(dialogs, with_mood.progress, "checkin") == "mood"
        # Withdrawn while that check-in is open: it is closed, and the next one has no mood.
        assert await people.set_consent(db, MENTEE, ConsentKind.MOOD, False)
        assert not await people.set_consent(db, MENTEE, ConsentKind.MOOD, False)
        assert with_mood.record is not None
        await db.refresh(with_mood.record)
        assert with_mood.record.status == "abandoned"
        again = await dialogs.start(db, MENTEE, "checkin")
        assert again.kind is Turn.STARTED
        assert first_question(dialogs, again.progress, "checkin") == "talked"
        assert [(r.kind, r.given) for r in await consent_store.history(db, MENTEE)] == [
            ("mood", True),
            ("mood", False),
        ]


@pytest.mark.postgres
async def test_the_wheel_asks_mentees_and_shares_ratings_only_with_consent(
    db_engine: AsyncEngine,
) -> None:
    async with create_sessionmaker(db_engine)() as db:
        dialogs, people, _clock = await programme_world(db)
        # A stranger's ratings go nowhere: they are not asked.
        assert (await dialogs.start(db, STRANGER, "wheel")).kind is Turn.STARTED
        asked = await dialogs.start(db, MENTEE, "wheel")
        assert (asked.kind, asked.consent) == (Turn.CONSENT, ConsentKind.WHEEL)
        await people.set_consent(db, MENTEE, ConsentKind.WHEEL, False)
        turn = await dialogs.start(db, MENTEE, "wheel")
        # Declining does not take the Wheel away: it is the mentee's own tool.
        assert first_question(dialogs, turn.progress, "wheel") == "family"
        record = await finish(db, dialogs, MENTEE, turn.record)
        own = await dialogs.summary(db, MENTEE, record.id)
        shared = await dialogs.summary(db, MENTEE, record.id, for_others=True)
        assert own is not None and shared is not None
        labels = {line.label.id for line in own[2]}
        assert "Health" in labels and "Significant other" in labels
        assert not {"Health", "Significant other"} & {line.label.id for line in shared[2]}
        await people.set_consent(db, MENTEE, ConsentKind.WHEEL, True)
        shared = await dialogs.summary(db, MENTEE, record.id, for_others=True)
        assert shared is not None and "Health" in {line.label.id for line in shared[2]}


async def finish(
    db: AsyncSession, dialogs: DialogService, person_id: int, record: DialogSession | None
) -> DialogSession:
    assert record is not None
    for n in range(200):
        found = await db.get(DialogSession, record.id)
        assert found is not None
        if found.status == "finished":
            return found
        answers = await repo.load_answers(db, found.id)
        progress = Progress.from_json({**found.state, "answers": answers})
        event = valid_input(dialogs.dialogs[found.dialog_id], progress, n)
        turn = await dialogs.answer(db, person_id, event, update_id=1000 + n)
        assert turn.kind is Turn.ACCEPTED, turn.error
    raise AssertionError("the dialog did not finish")


@pytest.mark.postgres
async def test_a_low_mood_reaches_the_coordinators_only_with_consent(
    db_engine: AsyncEngine,
) -> None:
    """A check-in open since before consents were asked can hold a mood without one: twice
    low, it tells nobody; with the consent, it does."""
    async with create_sessionmaker(db_engine)() as db:
        dialogs, people, clock = await programme_world(db)
        # Registers the check-in's finisher.
        create_programme(dialogs, clock, (), "en", FollowUpService(clock, "Europe/Riga", "en"))
        checkin = dialogs.dialogs["checkin"]

        async def low_check_in(update: int) -> None:
            state = engine.start(checkin).progress.to_json()
            del state["answers"]
            record = DialogSession(
                person_id=MENTEE,
                dialog_id="checkin",
                status="active",
                state=state,
                started_at=clock.now(),
                updated_at=clock.now(),
            )
            db.add(record)
            await db.flush()
            for n, event in enumerate([Press("c:1"), Press("c:no"), Press("skip")]):
                turn = await dialogs.answer(db, MENTEE, event, update_id=update + n)
                assert turn.kind is Turn.ACCEPTED
            clock.moment += timedelta(minutes=5)

        await low_check_in(100)
        await low_check_in(200)
        alerts = select(Outgoing).where(Outgoing.kind == "alert")
        assert (await db.scalars(alerts)).all() == []
        await people.set_consent(db, MENTEE, ConsentKind.MOOD, True)
        await low_check_in(300)
        (alert,) = (await db.scalars(alerts)).all()
        assert alert.chat_id == COORDINATOR and "twice in a row" in str(alert.payload)
