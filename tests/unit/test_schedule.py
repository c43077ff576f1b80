"""The rules every message the bot starts obeys, on SQLite and PostgreSQL: stale ones are
dropped, several at once are merged, a daily budget, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.domain.consent import ConsentKind
from bot.domain.texts import N_, Msg, msg_from_json
from bot.services.followup import FollowUpService
from bot.services.messages import queue_message
from bot.services.schedule import Scheduler
from bot.storage import consents as consent_store
from bot.storage import repositories as repo
from bot.storage.database import create_sessionmaker
from bot.storage.models import Outgoing, Person

# Storage: on both databases.
pytestmark = pytest.mark.postgres

PERSON = 2001
# Wednesday 25 November 2026, 11:00 in Riga.
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.moment = NOW

    def now(self) -> datetime:
        return self.moment


# Each person's zone as the bot finds it: their setting, their intake's, else Riga.
ZONES = FollowUpService(Clock(), "Europe/Riga", "en").zone_of


def scheduler(clock: Clock) -> Scheduler:
    return Scheduler(clock, FollowUpService(clock, "Europe/Riga", "en"), "en", budget=3)


async def person(db: AsyncSession) -> Person:
    await repo.upsert_person(db, PERSON, "Anna", "en", NOW)
    found = await db.get(Person, PERSON)
    assert found is not None
    return found


def check_in(db: AsyncSession, who: Person, text: str, **details: object) -> None:
    queue_message(
        db,
        who,
        Msg(N_("📌 Today is the day for: {text}\nDid you do it?"), {"text": text}),
        kind="commitment_checkin",
        now=NOW - timedelta(hours=1),
        due_at=NOW - timedelta(minutes=5),
        default_locale="en",
        buttons=[[(Msg(N_("✅ Done")), f"cm:{text}:done")]],
        **details,  # type: ignore[arg-type]
    )


async def gate(db: AsyncSession, clock: Clock) -> list[Outgoing]:
    rows = await repo.claim_outgoing(db, clock.now(), 100, timedelta(seconds=90))
    sending = await scheduler(clock).gate(db, rows, clock.now())
    await db.commit()
    return sending


async def test_several_for_one_person_go_as_one_numbered_message(db_engine: AsyncEngine) -> None:
    clock = Clock()
    async with create_sessionmaker(db_engine)() as db:
        anna = await person(db)
        check_in(db, anna, "Run 5 km")
        check_in(db, anna, "Call mum")
        await db.commit()
        sending = await gate(db, clock)
        assert len(sending) == 1
        parts = sending[0].payload["parts"]
        texts = [msg_from_json(p["msg"]) for p in parts]
        assert [t.id for t in texts] == ["{n}. {text}", "{n}. {text}"]
        assert [t.values["n"] for t in texts] == [1, 2]
        labels = [msg_from_json(b["msg"]) for p in parts for row in p["buttons"] for b in row]
        assert [label.values["n"] for label in labels] == [1, 2]
        statuses = list((await db.execute(select(Outgoing.status).order_by(Outgoing.id))).scalars())
        assert statuses == ["sending", "merged"]


async def test_over_the_daily_budget_waits_for_tomorrow(db_engine: AsyncEngine) -> None:
    clock = Clock()
    async with create_sessionmaker(db_engine)() as db:
        anna = await person(db)
        for text in ("one", "two", "three"):
            check_in(db, anna, text)
        await db.commit()
        # Earlier today (Riga) three went out one by one.
        for n, row in enumerate((await db.execute(select(Outgoing))).scalars()):
            row.status, row.sent_at = "sent", NOW - timedelta(hours=n + 1)
        check_in(db, anna, "four")
        await db.commit()
        assert await gate(db, clock) == []
        waiting = (await db.execute(select(Outgoing).where(Outgoing.status != "sent"))).scalar_one()
    assert waiting.status == "pending" and waiting.error == "daily limit reached"
    # Tomorrow at the end of the quiet hours: 08:00 in Riga.
    assert waiting.due_at == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


async def test_stale_ones_are_dropped_and_quiet_hours_are_kept(db_engine: AsyncEngine) -> None:
    clock = Clock()
    async with create_sessionmaker(db_engine)() as db:
        anna = await person(db)
        check_in(db, anna, "too late", stale_at=NOW - timedelta(minutes=1))
        await db.commit()
        assert await gate(db, clock) == []
        stale = (await db.execute(select(Outgoing))).scalar_one()
        assert (stale.status, stale.error) == ("stale", "its next occurrence had come")
        clock.moment = datetime(2026, 11, 25, 20, 30, tzinfo=UTC)  # 22:30 in Riga
        check_in(db, anna, "at night")
        await db.commit()
        assert await gate(db, clock) == []
        night = (
            await db.execute(select(Outgoing).where(Outgoing.status == "pending"))
        ).scalar_one()
    assert night.due_at == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


async def test_a_digest_shows_the_mentor_what_the_mentee_agreed_to(db_engine: AsyncEngine) -> None:
    from bot.services.digests import mentor_digest
    from bot.storage.models import (
        Answer,
        Cohort,
        Commitment,
        DialogSession,
        Pair,
        Profile,
    )

    async with create_sessionmaker(db_engine)() as db:
        for pid, name in ((3001, "Rita"), (3002, "Anna")):
            await repo.upsert_person(db, pid, name, "en", NOW)
        cohort = Cohort(name="C", mode="coordinator", settings={}, created_by=1, created_at=NOW)
        db.add(cohort)
        await db.flush()
        db.add(
            Pair(
                cohort_id=cohort.id,
                mentee_id=3002,
                mentor_id=3001,
                status="active",
                score=50,
                created_at=NOW,
                decided_at=NOW,
            )
        )
        profile = Profile(person_id=3002, role="mentee", data={"show_name": True}, updated_at=NOW)
        db.add(profile)
        consent_store.record(db, 3002, ConsentKind.MOOD, True, NOW - timedelta(days=4))
        sessions = []
        for n, mood in enumerate((2, 4)):
            record = DialogSession(
                person_id=3002,
                dialog_id="checkin",
                status="finished",
                state={},
                started_at=NOW,
                updated_at=NOW,
                finished_at=NOW - timedelta(days=3 - n),
            )
            db.add(record)
            await db.flush()
            db.add(Answer(session_id=record.id, key="mood", value=mood, answered_at=NOW))
            sessions.append(record)
        # Only the second check-in's summary was shared.
        repo.enqueue(
            db,
            kind="summary",
            chat_id=3001,
            method="sendMessage",
            payload={"text": "summary"},
            now=NOW - timedelta(days=2),
            context={"from": 3002, "session": sessions[1].id},
        )
        for due, status in ((NOW.date() - timedelta(days=5), "open"), (NOW.date(), "done")):
            db.add(
                Commitment(
                    person_id=3002,
                    session_id=sessions[0].id,
                    text="private words",
                    due_on=due,
                    status=status,
                    created_at=NOW,
                    closed_at=NOW - timedelta(days=1) if status == "done" else None,
                )
            )
        await db.commit()
        mentor = await db.get(Person, 3001)
        assert mentor is not None
        since = NOW - timedelta(days=7)

        async def digest(share: str) -> Msg:
            profile.data = {"show_name": True, "share": share}
            await db.flush()
            (part,) = await mentor_digest(db, mentor, since, NOW, ZONES)
            return part

        asked = await digest("ask")
        assert asked.values["trend"] == "4" and "done" not in asked.values
        always = await digest("always")
        assert always.values["trend"] == "2 → 4"
        assert (always.values["done"], always.values["overdue"]) == (1, 1)
        never = await digest("never")
        assert set(never.values) == {"name", "shared"} and never.values["shared"] == 1
        for part in (asked, always, never):
            assert "private words" not in str(part)
        # Consent withdrawn: the moods given before it do not reach the mentor either.
        consent_store.record(db, 3002, ConsentKind.MOOD, False, NOW)
        for share in ("ask", "always"):
            withdrawn = await digest(share)
            assert withdrawn.values["trend"] == Msg("kept private")
            assert "2" not in str(withdrawn.values["trend"])


async def test_a_digest_claimed_again_after_a_crash_goes_as_it_was_composed(
    db_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process composed the digest, committed the claim and was killed before sending:
    the process that claims it after the lease sends what was composed, and does not fail
    reading it (which stopped every start)."""
    from bot.services import schedule

    async def news(*_: object) -> list[Msg]:
        return [Msg(N_("{n} · {label}"), {"n": 1, "label": "news"})]

    monkeypatch.setattr(schedule, "mentor_digest", news)
    clock = Clock()
    async with create_sessionmaker(db_engine)() as db:
        anna = await person(db)
        queue_message(
            db,
            anna,
            Msg(N_("Today is the day for: {text}"), {"text": "heading"}),
            kind=schedule.DIGEST,
            now=NOW - timedelta(hours=1),
            due_at=NOW - timedelta(minutes=5),
            default_locale="en",
        )
        await db.commit()
        (first,) = await gate(db, clock)
        composed = first.payload
        clock.moment = NOW + timedelta(seconds=91)  # the lease ran out
        (again,) = await gate(db, clock)
        row = (await db.execute(select(Outgoing))).scalar_one()
    assert again.id == first.id
    assert row.status == "sending" and row.payload == composed
    texts = [msg_from_json(p["msg"]) for p in composed["parts"]]
    assert [t.values.get("text") for t in texts] == ["heading", None]


async def test_a_row_that_fails_to_compose_is_marked_failed_and_the_others_go(
    db_engine: AsyncEngine,
) -> None:
    clock = Clock()

    async def poison(db: AsyncSession, row: Outgoing, who: Person, now: datetime) -> bool:
        if row.context.get("poison"):
            raise KeyError("msg")
        return True

    async with create_sessionmaker(db_engine)() as db:
        anna = await person(db)
        await repo.upsert_person(db, PERSON + 1, "Rita", "en", NOW)
        rita = await db.get(Person, PERSON + 1)
        assert rita is not None
        check_in(db, anna, "bad", context={"poison": True})
        check_in(db, rita, "good")
        await db.commit()
        gated = scheduler(clock)
        gated.composers["commitment_checkin"] = poison
        rows = await repo.claim_outgoing(db, clock.now(), 100, timedelta(seconds=90))
        sending = await gated.gate(db, rows, clock.now())
        await db.commit()
        outcomes = {
            chat: (status, error)
            for chat, status, error in await db.execute(
                select(Outgoing.chat_id, Outgoing.status, Outgoing.error)
            )
        }
    assert [row.chat_id for row in sending] == [PERSON + 1]
    assert outcomes == {PERSON: ("failed", "compose: KeyError"), PERSON + 1: ("sending", None)}


async def test_overdue_is_by_the_mentee_s_own_date(db_engine: AsyncEngine) -> None:
    """21:30 on 25 November in New York is 02:30 on the 26th in UTC: a commitment of the
    25th is not overdue there yet; in Riga (04:30 on the 26th) it is."""
    from bot.services.digests import mentor_digest
    from bot.storage.models import Cohort, Commitment, DialogSession, Pair, Profile

    now = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
    async with create_sessionmaker(db_engine)() as db:
        for pid, name in ((3001, "Rita"), (3002, "Nora"), (3003, "Anna")):
            await repo.upsert_person(db, pid, name, "en", now)
        cohort = Cohort(name="C", mode="coordinator", settings={}, created_by=1, created_at=now)
        db.add(cohort)
        await db.flush()
        for mentee, zone in ((3002, "America/New_York"), (3003, "Europe/Riga")):
            db.add(
                Pair(
                    cohort_id=cohort.id,
                    mentee_id=mentee,
                    mentor_id=3001,
                    status="active",
                    score=50,
                    created_at=now,
                    decided_at=now,
                )
            )
            data = {"show_name": True, "share": "always", "timezone": zone}
            db.add(Profile(person_id=mentee, role="mentee", data=data, updated_at=now))
            grow = DialogSession(
                person_id=mentee,
                dialog_id="grow",
                status="finished",
                state={},
                started_at=now,
                updated_at=now,
                finished_at=now,
            )
            db.add(grow)
            await db.flush()
            db.add(
                Commitment(
                    person_id=mentee,
                    session_id=grow.id,
                    text="call the bank",
                    due_on=datetime(2026, 11, 25).date(),
                    status="open",
                    created_at=now - timedelta(days=3),
                )
            )
        await db.commit()
        mentor = await db.get(Person, 3001)
        assert mentor is not None
        parts = await mentor_digest(db, mentor, now - timedelta(days=7), now, ZONES)
    overdue = {part.values["name"]: part.values["overdue"] for part in parts}
    assert overdue == {"Nora": 0, "Anna": 1}
