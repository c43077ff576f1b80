"""A mentee who has told the bot things (relayed messages, a coaching answer, a commitment
with its reminders, a meeting, a poll vote, an intake) asks for a copy of their data and
then for its erasure, with the real bot: the copy holds every row a scan of the database
finds about them; after erasure no table, and no byte of the SQLite file or its WAL, holds
their words or their id, nothing is queued to or about them, their mentor and coordinator
are told (the mentor in his language), and the mentor's next message reaches nobody else."""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url

from bot.playground.botapi import BotAPIStandin
from bot.storage.models import (
    Cohort,
    CohortCoordinator,
    Commitment,
    DialogSession,
    Membership,
    Outgoing,
    Pair,
    Person,
    Poll,
    PollDelivery,
    PollVote,
    Profile,
)
from bot.telegram.buttons import Talk
from tests.e2e.conftest import COORDINATOR_ID, MovableClock, Running, start_bot
from tests.e2e.people import Person as Chat
from tests.e2e.test_dialogs import translator


@pytest.fixture
async def bot(
    standin: BotAPIStandin, database_url: str, clock: MovableClock
) -> AsyncIterator[Running]:
    """The bot with people's words stored in the clear: a scan that finds none of them after
    erasure then shows that erasure removed them, not that encryption hid them."""
    running = await start_bot(standin, database_url, clock, encrypt_data=False)
    yield running
    await running.stop()


pytestmark = pytest.mark.postgres  # what is left of a person is the database's

# Larger than 2**31, as Telegram's newer ids are.
QUILL = 7_123_456_789
RITA, BEN = 911, 913  # her mentor, who also mentors Ben
NAME = "Quillona"
# Words only Quill wrote (or that are only about her), as she wrote them.
WORDS = ("QXrelay", "QXanswer", "QXcommit", "QXtopic", "QXlink", "QXintake", NAME)


class Seeded:
    def __init__(self, standin: BotAPIStandin, bot: Running) -> None:
        self.bot = bot
        self.dace = Chat(standin, standin.user(COORDINATOR_ID, "Dace", "en"), bot)
        self.quill = Chat(standin, standin.user(QUILL, NAME, "en"), bot)
        self.rita = Chat(standin, standin.user(RITA, "Rita", "lv"), bot)
        self.ben = Chat(standin, standin.user(BEN, "Ben", "en"), bot)
        self.pairs: dict[int, int] = {}

    async def seed(self, now: datetime) -> None:
        """A cohort where Rita mentors Quill and Ben; a poll Quill answered."""
        async with self.bot.app.sessions() as db:
            for person_id, name, language in (
                (COORDINATOR_ID, "Dace", "en"),
                (QUILL, NAME, "en"),
                (RITA, "Rita", "lv"),
                (BEN, "Ben", "en"),
            ):
                db.add(
                    Person(
                        id=person_id,
                        first_name=name,
                        telegram_language=language,
                        created_at=now,
                        last_seen_at=now,
                    )
                )
            cohort = Cohort(
                name="Riga 2027", mode="coordinator", created_by=COORDINATOR_ID, created_at=now
            )
            db.add(cohort)
            await db.flush()
            db.add(CohortCoordinator(cohort_id=cohort.id, person_id=COORDINATOR_ID))
            profiles: dict[int, dict[str, Any]] = {
                QUILL: {"show_name": True, "occupation": "QXintake: a baker of bread"},
                BEN: {"show_name": True},
                RITA: {"capacity": 3, "bio": ""},
            }
            for person_id, data in profiles.items():
                role = "mentor" if person_id == RITA else "mentee"
                db.add(
                    Membership(
                        cohort_id=cohort.id,
                        person_id=person_id,
                        role=role,
                        status="active",
                        joined_at=now,
                    )
                )
                db.add(Profile(person_id=person_id, role=role, data=data, updated_at=now))
            for mentee, days_ago in ((BEN, 20), (QUILL, 10)):
                pair = Pair(
                    cohort_id=cohort.id,
                    mentee_id=mentee,
                    mentor_id=RITA,
                    status="active",
                    score=61,
                    reasons=[{"id": "shared topics"}],
                    created_at=now - timedelta(days=30),
                    decided_at=now - timedelta(days=days_ago),
                )
                db.add(pair)
                await db.flush()
                self.pairs[mentee] = pair.id
            poll = Poll(
                kind="poll",
                question="Which day suits the meetup?",
                options=["Monday", "Friday"],
                status="sent",
                cohort_id=cohort.id,
                created_by=COORDINATOR_ID,
                created_at=now,
            )
            db.add(poll)
            await db.flush()
            db.add(PollDelivery(telegram_poll_id="tg-poll-1", poll_id=poll.id, chat_id=QUILL))
            db.add(PollVote(telegram_poll_id="tg-poll-1", person_id=QUILL, option=1, voted_at=now))
            await db.commit()

    async def commitment(self, now: datetime) -> None:
        """A commitment of Quill's, with its reminder and check-in queued."""
        async with self.bot.app.sessions() as db:
            record = DialogSession(
                person_id=QUILL,
                dialog_id="grow",
                status="finished",
                state={},
                started_at=now,
                updated_at=now,
                finished_at=now,
            )
            db.add(record)
            await db.flush()
            promise = Commitment(
                person_id=QUILL,
                session_id=record.id,
                text="QXcommit: bake for the neighbours",
                due_on=date(2026, 12, 10),
                created_at=now,
            )
            db.add(promise)
            await db.flush()
            await self.bot.app.dispatcher["followup"].schedule(db, QUILL, [promise])
            await db.commit()


async def told_things(standin: BotAPIStandin, bot: Running, clock: MovableClock) -> Seeded:
    s = Seeded(standin, bot)
    await s.seed(clock.now())
    await s.commitment(clock.now())
    await s.quill.write("QXrelay: I am afraid of the oven")
    await standin.wait_for_message(s.rita.user, contains="QXrelay", timeout=10)
    await s.quill.write("/dilts")
    await s.quill.write("QXanswer: the bakery closes")
    await s.quill.write("/cancel")
    await s.quill.write("/meet")
    await s.quill.write("02.12.2026")
    await s.quill.write("18:00")
    await s.quill.write("QXtopic: sourdough")
    await s.quill.write("https://meet.example.org/QXlink")
    await standin.wait_for_message(s.rita.user, contains="QXtopic", timeout=10)
    return s


async def scan(bot: Running) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table that holds Quill's id (as a number or in text) or her
    words, by table, each as a mapping of its columns."""
    found: dict[str, list[dict[str, Any]]] = {}
    async with bot.app.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        for name in sorted(names):
            result = await connection.execute(text(f'SELECT * FROM "{name}"'))
            for row in result.mappings():
                values = list(row.values())
                shown = repr(values)
                if QUILL in values or str(QUILL) in shown or any(word in shown for word in WORDS):
                    found.setdefault(name, []).append(dict(row))
    return found


async def primary_keys(bot: Running) -> dict[str, list[str]]:
    async with bot.app.engine.connect() as connection:

        def keys(sync: Any) -> dict[str, list[str]]:
            found = inspect(sync)
            return {
                name: found.get_pk_constraint(name)["constrained_columns"]
                for name in found.get_table_names()
            }

        return await connection.run_sync(keys)


async def test_the_copy_holds_every_row_about_the_person(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    s = await told_things(standin, bot, clock)
    (copy,) = await s.quill.write("/mydata")
    assert copy.document is not None and copy.caption is not None
    assert copy.caption.startswith("Everything I store about you, as a JSON file.")
    assert "· 1 mentoring pair" in copy.caption and "· 1 commitment" in copy.caption
    data = json.loads(copy.document)
    assert (data["format"], data["version"]) == ("mentorbot-personal-data", 1)

    found = await scan(bot)
    keys = await primary_keys(bot)
    assert set(found) >= {"people", "outbox", "answers", "commitments", "profiles", "pairs"}
    for table, rows in found.items():
        held = {tuple(row[k] for k in keys[table]) for row in data["records"].get(table, [])}
        for row in rows:
            assert tuple(row[k] for k in keys[table]) in held, (table, row)

    # What the rows mean, by subject.
    assert data["settings"]["quiet_hours"] == {"from": 21, "to": 8}
    assert data["settings"]["checkin"] == {"weekday": 0, "hour": 10, "stopped": False}
    assert data["roles"]["coordinator_of"] == []
    assert data["profile"]["answers"]["occupation"] == "QXintake: a baker of bread"
    (pair,) = data["pairs"]
    assert (pair["as"], pair["partner"], pair["score"]) == ("mentee", "Rita", 61)
    assert pair["reasons"] == [{"id": "shared topics"}]
    assert [m["status"] for m in data["meetings"]] == ["planned"]
    assert [c["text"] for c in data["commitments"]] == ["QXcommit: bake for the neighbours"]
    dilts = next(x for x in data["sessions"] if x["dialog"] == "dilts")
    assert "QXanswer: the bakery closes" in dilts["answers"].values()
    assert data["poll_votes"] == [
        {
            "question": "Which day suits the meetup?",
            "answer": "Friday",
            "voted_at": data["poll_votes"][0]["voted_at"],
        }
    ]
    assert [(m["direction"], m["text"]) for m in data["messages"]] == [
        ("sent", "QXrelay: I am afraid of the oven")
    ]


def database_files(database_url: str) -> list[Path]:
    path = Path(str(make_url(database_url).database))
    return [p for p in (path, path.with_name(path.name + "-wal")) if p.exists()]


async def test_erasure_leaves_nothing_and_ends_the_pair_properly(
    standin: BotAPIStandin, bot: Running, clock: MovableClock, database_url: str
) -> None:
    s = await told_things(standin, bot, clock)
    from_quill = next(m for m in s.rita.sent() if "QXrelay" in (m.text or ""))
    t_en, t_lv = translator(bot, "en"), translator(bot, "lv")
    async with bot.app.sessions() as db:
        waiting = (
            await db.execute(
                select(Outgoing.kind).where(
                    Outgoing.person_id.in_((RITA, COORDINATOR_ID)),
                    Outgoing.status == "pending",
                )
            )
        ).scalars()
        # About Quill and queued for others: the nudges, the mentor's meeting reminder.
        assert {"nudge", "nudge_alert", "meet_reminder"} <= set(waiting)

    if database_files(database_url):
        # Her words are in the file (or its WAL) before: the scan below can find them.
        assert any(b"QXrelay" in path.read_bytes() for path in database_files(database_url))

    await s.quill.write("/deleteme")
    await s.quill.press(t_en("Yes, delete everything"))
    assert s.quill.last().text == t_en(
        "Everything I stored about you is deleted. If you write again, I start afresh."
    )
    told = await standin.wait_for_message(s.rita.user, contains="mentorēj", timeout=10)
    assert told.text == t_lv(
        "One of your mentees has left the programme and had their data deleted, so your "
        "mentoring pair with them has ended. To be sure your next message reaches the "
        "mentee you mean, reply to one of their messages or choose with /mentees."
    )
    alert = await standin.wait_for_message(s.dace.user, contains="has ended", timeout=10)
    assert alert.text == (
        f"Pair #{s.pairs[QUILL]} has ended: the mentee left the programme and had their data "
        "deleted. Their mentor Rita has been told."
    )
    await s.quill.settle()

    # Nothing queued to or about her: all of it went, or was cancelled.
    async with bot.app.sessions() as db:
        pending = (
            await db.execute(
                select(Outgoing.kind, Outgoing.person_id).where(Outgoing.status == "pending")
            )
        ).all()
    assert all(kind not in ("nudge", "nudge_alert", "meet_reminder") for kind, _ in pending)
    assert await scan(bot) == {}
    for path in database_files(database_url):
        stored = path.read_bytes()
        for needle in (*WORDS, str(QUILL)):
            assert needle.encode() not in stored, (path.name, needle)
        assert struct.pack(">q", QUILL) not in stored, path.name

    # Rita's next message, and a reply to Quill's, reach nobody: not Ben either.
    before = len(s.ben.sent())
    (left,) = await s.rita.write("Are you still there?")
    assert left.text == t_lv(
        "One of your mentees has left the programme, so this message was not passed on. "
        "Reply to a message of the mentee you mean, or choose with /mentees."
    )
    (over,) = await s.rita.write("Hello again", reply_to=from_quill)
    assert over.text == t_lv(
        "The message you replied to belongs to a mentoring that is over, so yours was not "
        "passed on."
    )
    assert len(s.ben.sent()) == before
    # Once she names Ben, her messages go to him.
    (chooser,) = await s.rita.write("/mentees")
    assert [row[0][1] for row in chooser.buttons] == [Talk(pair=s.pairs[BEN]).pack()]
    await s.rita.press(chooser.buttons[0][0][0], chooser)
    await s.rita.write("Hi Ben")
    await standin.wait_for_message(s.ben.user, contains="Hi Ben", timeout=10)
    assert await scan(bot) == {}
