"""Presses a modified client can send: data that does not parse, that names another
person's session, commitment, meeting or pair, or that is out of date, and the same
button pressed twice. Each is answered, and what should change nothing changes nothing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.domain.consent import ConsentKind
from bot.playground.botapi import BotAPIStandin, BotMessage
from bot.storage.models import (
    Base,
    Cohort,
    Commitment,
    DialogSession,
    InboxUpdate,
    Meeting,
    Membership,
    Outgoing,
    Pair,
)
from bot.storage.models import Person as PersonRow
from bot.telegram.buttons import (
    Button,
    CommitmentButton,
    ConsentChoice,
    DialogButton,
    HistoryRecord,
    Invitation,
    Language,
    MeetingButton,
    Menu,
    PulseStart,
    Restart,
    Setting,
)
from bot.telegram.routers.settings import stamp
from tests.e2e.conftest import Running
from tests.e2e.people import Person
from tests.e2e.test_dialogs import translator

NOT_COMPARED = {"inbox_updates", "bot_state"}
MISSING = 999_999


def someone(standin: BotAPIStandin, bot: Running, user_id: int, name: str) -> Person:
    return Person(standin, standin.user(user_id, name, "en"), bot)


async def snapshot(bot: Running) -> dict[str, list[str]]:
    """Every row of every table but the inbox and the bot's own state."""
    tables: dict[str, list[str]] = {}
    async with bot.app.sessions() as db:
        for table in Base.metadata.sorted_tables:
            if table.name not in NOT_COMPARED:
                rows = (await db.execute(select(table))).all()
                tables[table.name] = sorted(repr(tuple(row)) for row in rows)
    return tables


async def failures(bot: Running) -> list[Any]:
    async with bot.app.sessions() as db:
        return list(
            (
                await db.execute(
                    select(InboxUpdate.update_id, InboxUpdate.failure).where(
                        InboxUpdate.failure.is_not(None)
                    )
                )
            ).all()
        )


async def outbox_settled(bot: Running, standin: BotAPIStandin) -> None:
    """Until nothing due is waiting in the outbox (the schedule's sweep has run)."""
    now = bot.app.polling.clock.now()

    async def due() -> int:
        async with bot.app.sessions() as db:
            return int(
                await db.scalar(
                    select(func.count())
                    .select_from(Outgoing)
                    .where(Outgoing.status.in_(("pending", "sending")), Outgoing.due_at <= now)
                )
                or 0
            )

    await bot.app.sweep()
    bot.app.outbox.wake()
    for _ in range(400):
        if not await due() and not (bot.handling() or bot.sending()):
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the outbox did not settle")


@dataclass
class World:
    anna: Person
    ben: Person
    first_question: BotMessage  # Anna's, answered since by typing
    ben_question: BotMessage
    anna_session: int
    ben_session: int
    anna_done: int  # a commitment of Anna's, done already
    ben_open: int  # an open commitment of Ben's
    anna_pair: int
    anna_old_pair: int  # ended
    ben_pair: int
    anna_meeting: int
    anna_called_off: int
    ben_meeting: int


async def world(standin: BotAPIStandin, bot: Running) -> World:
    """Anna and Ben, mentees of one cohort, each with a mentor, a meeting planned and a
    wheel begun; Anna has typed her first rating, so that question's buttons are old."""
    anna, ben = someone(standin, bot, 501, "Anna"), someone(standin, bot, 502, "Ben")
    rita, mark = someone(standin, bot, 503, "Rita"), someone(standin, bot, 504, "Mark")
    for who in (anna, ben, rita, mark):
        await who.write("/start")
    await anna.write("/wheel")
    first_question = anna.last()
    await anna.write("6")
    await ben.write("/wheel")
    ben_question = ben.last()
    now = bot.app.polling.clock.now()
    async with bot.app.sessions() as db:
        sessions = dict(
            (await db.execute(select(DialogSession.person_id, DialogSession.id))).tuples().all()
        )
        cohort = Cohort(name="Riga 2027", mode="coordinator", created_by=42, created_at=now)
        db.add(cohort)
        await db.flush()
        for person_id, role in ((501, "mentee"), (502, "mentee"), (503, "mentor"), (504, "mentor")):
            db.add(
                Membership(
                    cohort_id=cohort.id,
                    person_id=person_id,
                    role=role,
                    status="active",
                    joined_at=now,
                )
            )

        def pair(mentee: int, mentor: int, status: str) -> Pair:
            return Pair(
                cohort_id=cohort.id,
                mentee_id=mentee,
                mentor_id=mentor,
                status=status,
                score=1,
                created_at=now,
                decided_at=now,
            )

        anna_pair, anna_old_pair = pair(501, 503, "active"), pair(501, 504, "ended")
        ben_pair = pair(502, 504, "active")
        db.add_all([anna_pair, anna_old_pair, ben_pair])
        await db.flush()

        def meeting(pair_id: int, status: str) -> Meeting:
            return Meeting(
                pair_id=pair_id,
                starts_at=now + timedelta(days=7),
                set_by=501,
                status=status,
                created_at=now,
            )

        meetings = [
            meeting(anna_pair.id, "planned"),
            meeting(anna_pair.id, "cancelled"),
            meeting(ben_pair.id, "planned"),
        ]

        def commitment(person_id: int, status: str) -> Commitment:
            return Commitment(
                person_id=person_id,
                session_id=sessions[person_id],
                text="Walk every day",
                due_on=(now + timedelta(days=14)).date(),
                status=status,
                created_at=now,
            )

        commitments = [commitment(501, "done"), commitment(502, "open")]
        db.add_all([*meetings, *commitments])
        await db.commit()
        found = World(
            anna,
            ben,
            first_question,
            ben_question,
            sessions[501],
            sessions[502],
            commitments[0].id,
            commitments[1].id,
            anna_pair.id,
            anna_old_pair.id,
            ben_pair.id,
            meetings[0].id,
            meetings[1].id,
            meetings[2].id,
        )
    await outbox_settled(bot, standin)
    return found


def data_of(message: BotMessage, label: str) -> str:
    data = next(d for row in message.buttons for text, d in row if text == label)
    assert data is not None
    return data


async def anna_stamp(bot: Running) -> str:
    async with bot.app.sessions() as db:
        row = await db.get(PersonRow, 501)
        assert row is not None
        return stamp(row)


async def test_forged_foreign_and_stale_presses_are_refused_and_change_nothing(
    standin: BotAPIStandin, bot: Running
) -> None:
    w = await world(standin, bot)
    right = await anna_stamp(bot)
    old_rating = data_of(w.first_question, "9")
    forged = [
        # Not one of our buttons
        "",
        "d|x|y|z",
        "d|1|2",
        f"d|{2**31}|0|c:5",
        "d|1|0|c;5",
        "restart:grow",
        "restart:wheel:-1",
        "menu:",
        "menu:grow:1",
        "lang:",
        "lang:en:lv",
        "deleteme:maybe",
        "deleteme:",
        "hist:wheel",
        "hist:-1",
        "histw:1",
        "set:",
        "set:quiet:",
        "set:tz:Europe/Riga;drop:00",
        f"cm:{w.ben_open}",
        "cm:x:done",
        f"cm:{2**31}:done",
        "cm:-1:done",
        "inv:checkin_invite",
        "inv::",
        "consent:health:1:",
        "consent:mood:maybe:checkin",
        "mt:zap:1",
        "mt:cancel:",
        "mt:cancel:1.5",
        "x" * 70,
        "menu:grow\n",
        "menu:\x00",
        "nothing:at:all",
        # Another person's
        data_of(w.ben_question, "5"),
        Restart(dialog="wheel", session=w.ben_session).pack(),
        HistoryRecord(session=w.ben_session).pack(),
        CommitmentButton(commitment=w.ben_open, action="done").pack(),
        CommitmentButton(commitment=w.ben_open, action="drop").pack(),
        MeetingButton(action="cancel", number=w.ben_meeting).pack(),
        MeetingButton(action="new", number=w.ben_pair).pack(),
        MeetingButton(action="pair", number=w.ben_pair).pack(),
        PulseStart(pair=w.ben_pair, round=1).pack(),
        # Out of date, gone, or never offered
        old_rating,
        DialogButton(session=w.anna_session, seq=0, action="c:99").pack(),
        DialogButton(session=MISSING, seq=0, action="c:5").pack(),
        Restart(dialog="wheel", session=MISSING).pack(),
        Restart(dialog="meet", session=w.anna_session).pack(),
        Restart(dialog="intake_mentee", session=w.anna_session).pack(),
        Restart(dialog="nonsense", session=w.anna_session).pack(),
        Menu(choice="meet").pack(),
        Menu(choice="intake_mentee").pack(),
        Menu(choice="cohort_new").pack(),
        Menu(choice="closing").pack(),
        Menu(choice="nonsense").pack(),
        Language(code="de").pack(),
        HistoryRecord(session=w.anna_session).pack(),  # not finished
        HistoryRecord(session=MISSING).pack(),
        Setting(name="quiet", stamp="deadbeef").pack(),
        Setting(name="quiet").pack(),
        Setting(name="tz", value="Mars/Olympus", stamp=right).pack(),
        Setting(name="pause", value="5", stamp=right).pack(),
        Setting(name="wd", value="7", stamp=right).pack(),
        Setting(name="hr", value="3", stamp=right).pack(),
        Setting(name="checkins", value="maybe", stamp=right).pack(),
        Setting(name="nonsense", value="1", stamp=right).pack(),
        CommitmentButton(commitment=w.anna_done, action="done").pack(),
        CommitmentButton(commitment=w.anna_done, action="d7").pack(),
        CommitmentButton(commitment=w.anna_done, action="explode").pack(),
        CommitmentButton(commitment=MISSING, action="done").pack(),
        Invitation(kind="checkin_invite", code="123").pack(),
        Invitation(kind="wheel_invite", code="0").pack(),
        Invitation(kind="nonsense", code="1").pack(),
        ConsentChoice(kind=ConsentKind.MOOD, given=True, then="grow").pack(),
        ConsentChoice(kind=ConsentKind.WHEEL, given=True, then="nonsense").pack(),
        MeetingButton(action="cancel", number=w.anna_called_off).pack(),
        MeetingButton(action="pair", number=w.anna_old_pair).pack(),
        MeetingButton(action="new", number=w.anna_old_pair).pack(),
        MeetingButton(action="cancel", number=MISSING).pack(),
        MeetingButton(action="new", number=MISSING).pack(),
        PulseStart(pair=w.anna_old_pair, round=1).pack(),
        PulseStart(pair=MISSING, round=1).pack(),
        "pls:x:1",
        "pls:1",
    ]
    before = await snapshot(bot)
    for data in forged:
        replies = await w.anna.act(lambda data=data: standin.press_data(w.anna.user, data))
        assert replies == [], f"{data!r} was answered with a message"
        answer = standin.answered_callbacks[-1]
        assert answer.data == data
        assert answer.show_alert and answer.text, f"{data!r} got no alert"
        assert await snapshot(bot) == before, f"{data!r} changed something"
    assert await failures(bot) == []


async def test_a_second_tap_is_answered_and_changes_nothing(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    carl = someone(standin, bot, 505, "Carl")
    await carl.write("/start")
    await outbox_settled(bot, standin)

    async def twice(data: str, message: BotMessage) -> None:
        await carl.act(lambda: standin.press_data(carl.user, data, message=message))
        after_first = await snapshot(bot)
        answered = len(standin.answered_callbacks)
        await carl.act(lambda: standin.press_data(carl.user, data, message=message))
        assert len(standin.answered_callbacks) == answered + 1
        assert standin.answered_callbacks[-1].data == data
        assert await snapshot(bot) == after_first, f"a second {data!r} changed something"

    # The same answer to a question.
    (_intro, question) = await carl.write("/wheel")
    await twice(data_of(question, "7"), question)
    assert carl.alerts()[-1] == t(
        "This question has already been answered. Please use the newest message."
    )

    # The settings: a press on the message before the last change changes nothing.
    (first,) = await carl.write("/settings")
    (second,) = await carl.press(t("⏹ Stop regular check-ins"), message=first)
    stopped = await snapshot(bot)
    pause = t("⏸ Pause {days} d").format(days=7)
    for label in (t("⏹ Stop regular check-ins"), t("🌙 Change quiet hours"), pause):
        assert await carl.press(label, message=first) == []
        assert carl.alerts()[-1] == t(
            "Your settings have changed since this message. /settings shows them now."
        )
        assert await snapshot(bot) == stopped
    await twice(data_of(second, t("🌙 Change quiet hours")), second)
    async with bot.app.sessions() as db:
        row = await db.get(PersonRow, carl.user.id)
        assert row is not None and (row.quiet_from, row.quiet_to) == (22, 7)
        assert row.checkins_stopped
    # The newest message's buttons work, whatever the last change was.
    (third,) = await carl.write("/settings")
    (paused,) = await carl.press(pause, message=third)
    (resumed,) = await carl.press(t("▶️ Resume reminders"), message=paused)
    await carl.press(t("▶️ Restart regular check-ins"), message=resumed)
    async with bot.app.sessions() as db:
        row = await db.get(PersonRow, carl.user.id)
        assert row is not None and row.paused_until is None and not row.checkins_stopped

    # Start again, twice: one new session, not two.
    await carl.write("/cancel")
    replies = await carl.write("/continue")
    again = next(m for m in replies if m.buttons and "Welcome back" in (m.text or ""))
    await twice(data_of(again, t("Start again from the beginning")), again)
    assert carl.alerts()[-1] == t(
        "This button is for an earlier session. Please use the newest message."
    )

    # Deleting everything, twice.
    (confirm,) = await carl.write("/deleteme")
    await twice(data_of(confirm, t("Yes, delete everything")), confirm)
    async with bot.app.sessions() as db:
        assert await db.get(PersonRow, carl.user.id) is None
    assert await failures(bot) == []


# Generated presses -------------------------------------------------------------------

# Each kind of button of these routers, by its prefix and separator: what each of its
# fields can be (words and numbers it takes, the real ids as "id"), besides junk.
KINDS: list[tuple[str, str, list[list[str]]]] = [
    ("d", "|", [["id"], ["0", "1", "2", "3"], ["ok", "back", "skip", "keep", "c:yes", "c:+30"]]),
    ("restart", ":", [["grow", "wheel", "dilts", "checkin", "meet", "intake_mentee"], ["id"]]),
    ("menu", ":", [["grow", "wheel", "history", "language", "meet", "cohort_new", "closing"]]),
    ("lang", ":", [["en", "lv", "de"]]),
    ("hist", ":", [["id", "wheel"]]),
    ("histw", ":", []),
    (
        "set",
        ":",
        [
            ["tz", "quiet", "pause", "resume", "wd", "hr", "checkins", "digest", "zones", "days"],
            ["Europe/Riga", "on", "off", "7", "daily", "3", "12", "-1", "99"],
            ["stamp", "deadbeef", "0"],
        ],
    ),
    ("cm", ":", [["id"], ["done", "partly", "notyet", "drop", "d7", "d14", "d0", "d-7"]]),
    (
        "consent",
        ":",
        [["mood", "wheel", "health"], ["0", "1", "2"], ["", "checkin", "wheel", "grow"]],
    ),
    ("inv", ":", [["checkin_invite", "wheel_invite", "digest"], ["0", "29345678", "1"]]),
    ("mt", ":", [["new", "pair", "cancel"], ["id"]]),
    ("pls", ":", [["id"], ["0", "1", "2"]]),
    # Last: a yes deletes the person, and what they pressed before with it.
    ("deleteme", ":", [["yes", "no"]]),
]
PER_KIND = 24
JUNK = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", "0", "-1", "00", "+1", " 1", "1e3", "NaN", "٣", "2147483648", "ā:b"]),
    st.text(max_size=12),
    st.from_regex(r"[A-Za-z0-9_]{1,12}", fullmatch=True),
)


def generated(
    prefix: str, separator: str, fields: list[list[str]], known: dict[str, list[str]], number: int
) -> list[str]:
    """Presses of one kind: its prefix and its fields, each a value it takes (the real ids
    for "id", the stamp for "stamp") but for at most one that is junk; now and then parts
    that are all junk, as many as any (a fixed seed: the same presses each run)."""
    assert len(fields) == len(Button.kinds[prefix].model_fields)
    values = [
        st.sampled_from([value for word in words for value in known.get(word, [word])])
        for words in fields
    ]

    @st.composite
    def press(draw: st.DrawFn) -> str:
        if draw(st.integers(0, 5)) == 5:
            parts = draw(st.lists(JUNK, max_size=4))
        else:
            junk = draw(st.integers(-1, len(fields) - 1))
            parts = [draw(JUNK if n == junk else value) for n, value in enumerate(values)]
        return separator.join([prefix, *parts])

    found: list[str] = []

    @seed(number)
    @settings(
        max_examples=PER_KIND,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(press())
    def collect(data: str) -> None:
        found.append(data)

    collect()
    return found


async def test_generated_presses_are_all_answered_and_none_fails(
    standin: BotAPIStandin, bot: Running
) -> None:
    w = await world(standin, bot)
    # The real ids and stamp, so that many presses name something that exists.
    known = {
        "id": [
            str(n)
            for n in (
                w.anna_session,
                w.ben_session,
                w.anna_done,
                w.ben_open,
                w.anna_pair,
                w.ben_pair,
                w.anna_meeting,
                w.ben_meeting,
                MISSING,
            )
        ],
        "stamp": [await anna_stamp(bot)],
    }
    presses = [
        data
        for number, (prefix, separator, fields) in enumerate(KINDS)
        for data in generated(prefix, separator, fields, known, number)
    ]
    assert len(presses) > len(KINDS) * PER_KIND // 2
    for data in presses:
        answered = len(standin.answered_callbacks)
        await w.anna.act(lambda data=data: standin.press_data(w.anna.user, data))
        assert len(standin.answered_callbacks) == answered + 1, f"{data!r} was not answered"
        assert standin.answered_callbacks[-1].data == data
    assert await failures(bot) == []
