"""Retention with the real bot: a cohort's coordinators are warned before its purge, which
comes once its retention has run out and leaves none of its people's words while its
statistics stay; the day's run is made by one process of several; sent messages lose
their words after their days; a handled update keeps nothing of what it said."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import create_app
from bot.playground.botapi import BotAPIStandin
from bot.storage import repositories as repo
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import (
    Answer,
    Cohort,
    CohortCoordinator,
    Consent,
    DialogSession,
    InboxUpdate,
    Membership,
    Outgoing,
    Pair,
    Person,
    Profile,
)
from tests.e2e.conftest import COORDINATOR_ID, MovableClock, Running, bot_settings, start_bot
from tests.e2e.people import Person as Chat
from tests.e2e.test_dialogs import translator

pytestmark = pytest.mark.postgres  # what the purge leaves is the database's

MENTEE, MENTOR, STAYING = 1201, 1202, 1203  # Staying is in a cohort still running too
WORDS = ("RXmood", "RXrelay", "RXintake", "RXstaying")


async def seed(database_url: str, now: datetime) -> dict[str, int]:
    """An old cohort (ended a year ago) with a mentee, her mentor and another mentee who is
    also in a running cohort; check-ins with moods, a relayed message, intakes. Written
    before the bot starts: its first sweep, at start, warns of the purge."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as db:
            return await _seed(db, now)
    finally:
        await engine.dispose()


async def _seed(db: AsyncSession, now: datetime) -> dict[str, int]:
    for person_id, name in (
        (COORDINATOR_ID, "Dace"),
        (MENTEE, "Mara"),
        (MENTOR, "Mikus"),
        (STAYING, "Sanda"),
    ):
        db.add(
            Person(
                id=person_id,
                first_name=name,
                telegram_language="lv",
                created_at=now,
                last_seen_at=now,
            )
        )
    old = Cohort(
        name="Riga 2025",
        mode="coordinator",
        created_by=COORDINATOR_ID,
        created_at=now - timedelta(days=500),
        ends_on=(now - timedelta(days=365)).date(),
    )
    running = Cohort(
        name="Riga 2027", mode="coordinator", created_by=COORDINATOR_ID, created_at=now
    )
    db.add_all([old, running])
    await db.flush()
    for cohort in (old, running):
        db.add(CohortCoordinator(cohort_id=cohort.id, person_id=COORDINATOR_ID))
    for cohort, person_id, role in (
        (old, MENTEE, "mentee"),
        (old, MENTOR, "mentor"),
        (old, STAYING, "mentee"),
        (running, STAYING, "mentee"),
    ):
        db.add(
            Membership(
                cohort_id=cohort.id,
                person_id=person_id,
                role=role,
                status="active",
                joined_at=now - timedelta(days=480),
            )
        )
    for person_id, occupation in (
        (MENTEE, "RXintake nurse"),
        (MENTOR, "RXintake doctor"),
        (STAYING, "RXstaying teacher"),
    ):
        role = "mentor" if person_id == MENTOR else "mentee"
        db.add(
            Profile(
                person_id=person_id,
                role=role,
                data={"occupation": occupation},
                updated_at=now,
            )
        )
    pair = Pair(
        cohort_id=old.id,
        mentee_id=MENTEE,
        mentor_id=MENTOR,
        status="ended",
        score=70,
        created_at=now - timedelta(days=470),
        decided_at=now - timedelta(days=469),
        ended_at=now - timedelta(days=370),
        end_reason="RXrelay the programme ended",
    )
    db.add(pair)
    await db.flush()
    for person_id in (MENTEE, STAYING):
        # They agreed to the mood question: the cohort's statistics count their moods.
        db.add(Consent(person_id=person_id, kind="mood", given=True, at=now - timedelta(days=430)))
    for person_id, mood, days_ago in ((MENTEE, 3, 420), (MENTEE, 4, 413), (STAYING, 5, 420)):
        record = DialogSession(
            person_id=person_id,
            dialog_id="checkin",
            status="finished",
            state={},
            started_at=now - timedelta(days=days_ago),
            updated_at=now - timedelta(days=days_ago),
            finished_at=now - timedelta(days=days_ago),
        )
        db.add(record)
        await db.flush()
        db.add(Answer(session_id=record.id, key="mood", value=mood, answered_at=record.started_at))
        db.add(
            Answer(
                session_id=record.id,
                key="note",
                value=f"RXmood of {person_id}",
                answered_at=record.started_at,
            )
        )
    repo.enqueue(
        db,
        kind="relay",
        chat_id=MENTOR,
        method="sendMessage",
        payload={"text": "RXrelay: see you Monday"},
        now=now - timedelta(days=468),
        context={"pair": pair.id, "from": MENTEE},
    ).status = "sent"
    await db.commit()
    return {"old": old.id, "running": running.id, "pair": pair.id}


async def scan(bot: Running) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    async with bot.app.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        for name in sorted(names):
            for row in (await connection.execute(text(f'SELECT * FROM "{name}"'))).all():
                if any(word in repr(tuple(row)) for word in WORDS):
                    found.setdefault(name, []).append(tuple(row))
    return found


async def stats_of(bot: Running, cohort_id: int) -> Any:
    async with bot.app.sessions() as db:
        cohort = await db.get(Cohort, cohort_id)
        assert cohort is not None
        return await bot.app.dispatcher["stats"].cohort_stats(db, cohort)


@pytest.fixture
async def old_cohort(
    standin: BotAPIStandin, database_url: str, clock: MovableClock
) -> AsyncIterator[tuple[Running, dict[str, int]]]:
    """The old cohort, and the bot started on it."""
    ids = await seed(database_url, clock.now())
    running = await start_bot(standin, database_url, clock)
    yield running, ids
    await running.stop()


async def test_a_cohort_is_purged_after_its_retention_and_keeps_its_statistics(
    standin: BotAPIStandin, old_cohort: tuple[Running, dict[str, int]], clock: MovableClock
) -> None:
    bot, ids = old_cohort
    dace = Chat(standin, standin.user(COORDINATOR_ID, "Dace", "lv"), bot)
    # The sweep at start warns, in the coordinator's language, and purges nothing yet.
    warning = await standin.wait_for_message(dace.user, contains="🗂", timeout=10)
    purge_day = clock.now().date() + timedelta(days=14)
    assert warning.text == translator(bot, "lv")(
        "🗂 On {day} the data of the people of <b>{cohort}</b> will be deleted: their "
        "answers, profiles, pairs and messages in it. The cohort's statistics stay. If you "
        "need anything else, export it before then (/export)."
    ).format(day=bot.app.dispatcher["renderer"].value(purge_day, "lv"), cohort="Riga 2025")
    before = await stats_of(bot, ids["old"])
    assert before.mentees == 2 and before.pairs == {"ended": 1} and before.mood
    seen = await shown_stats(dace)
    assert seen and "Riga 2025" in seen[0]
    # The relayed message, sent long ago, has lost its words already; the rest waits.
    assert set(await scan(bot)) == {"answers", "profiles", "pairs"}

    clock.moment += timedelta(days=13)
    await bot.app.keep_retention()
    assert set(await scan(bot)) == {"answers", "profiles", "pairs"}

    clock.moment += timedelta(days=1)
    await bot.app.keep_retention()
    left = await scan(bot)
    # Only Sanda's, who is in a running cohort too, are left: her own, not the cohort's.
    assert set(left) == {"answers", "profiles"}
    assert all(
        "RXstaying" in repr(rows) or f"RXmood of {STAYING}" in repr(rows) for rows in left.values()
    )
    async with bot.app.sessions() as db:
        assert await db.get(Person, MENTEE) is None and await db.get(Person, MENTOR) is None
        assert await db.get(Person, STAYING) is not None
        assert await db.scalar(select(func.count()).select_from(Pair)) == 0
        memberships = (await db.execute(select(Membership.cohort_id))).scalars().all()
        assert memberships == [ids["running"]]
        old = await db.get(Cohort, ids["old"])
        assert old is not None and old.purged_at == clock.now()
    assert await stats_of(bot, ids["old"]) == before
    # What the coordinator sees of it is what she saw before the purge.
    assert await shown_stats(dace) == seen


async def shown_stats(dace: Chat) -> list[str]:
    """The texts /stats shows of the old cohort."""
    await dace.write("/stats")
    shown = await dace.press("Riga 2025")
    return [m.text or "" for m in shown if (m.text or "").startswith("Statistika")]


async def test_the_days_retention_is_run_by_one_process_of_several(
    standin: BotAPIStandin, database_url: str, clock: MovableClock
) -> None:
    await seed(database_url, clock.now())
    apps = [await create_app(bot_settings(standin, database_url), clock) for _ in range(2)]
    try:
        await asyncio.gather(*(app.keep_retention() for app in apps))
        async with apps[0].sessions() as db:
            warned = await db.scalar(
                select(func.count())
                .select_from(Outgoing)
                .where(Outgoing.person_id == COORDINATOR_ID, Outgoing.kind == "alert")
            )
    finally:
        for app in apps:
            await app.close()
    assert warned == 1


async def test_sent_messages_lose_their_words_and_handled_updates_keep_none(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    now = clock.now()
    async with bot.app.sessions() as db:
        for days, words in ((31, "RXold"), (28, "RXnew")):
            row = repo.enqueue(
                db,
                kind="relay",
                chat_id=MENTOR,
                method="sendMessage",
                payload={"text": words},
                now=now - timedelta(days=days),
                context={"pair": 5, "from": MENTEE},
            )
            row.status = "sent"
        await db.commit()
    person = Chat(standin, standin.user(MENTEE, "Mara", "lv"), bot)
    await person.write("/help")
    # The sweep at start has claimed today already: the next run is tomorrow's.
    clock.moment += timedelta(days=1)
    await bot.app.keep_retention()
    async with bot.app.sessions() as db:
        rows = (
            await db.execute(
                select(Outgoing.payload, Outgoing.context).where(Outgoing.kind == "relay")
            )
        ).all()
        inbox = (await db.execute(select(InboxUpdate))).scalars().all()
    context = {"pair": 5, "from": MENTEE}
    assert sorted(((r.payload, r.context) for r in rows), key=repr) == [
        ({"text": "RXnew"}, context),
        ({}, context),
    ]
    assert inbox and all(
        row.handled_at is not None and row.payload == {} and row.person_id is None for row in inbox
    )


def test_purge_day_is_never_before_the_warning_has_had_its_days() -> None:
    from bot.services.retention import RetentionService

    service = RetentionService.__new__(RetentionService)
    service.retention, service.warning = timedelta(days=180), timedelta(days=14)
    cohort = Cohort(ends_on=date(2026, 1, 1))
    assert service.purge_day(cohort, datetime(2026, 5, 1)) == date(2026, 6, 30)
    assert service.purge_day(cohort, datetime(2026, 12, 1)) == date(2026, 12, 15)
