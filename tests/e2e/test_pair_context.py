"""A mentor with two mentees: what they do is about the pair it names (the message replied
to, the mentee chosen), or they are asked which mentee; never simply the latest pair. A press
naming someone else's pair, or another coordinator's broadcast, changes nothing; no press,
however forged, goes unanswered or fails."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select, text

from bot.playground.botapi import BotAPIStandin, BotMessage
from bot.storage.models import (
    Broadcast,
    Cohort,
    CohortCoordinator,
    DialogSession,
    InboxUpdate,
    Membership,
    Outgoing,
    Pair,
    Person,
    Profile,
)
from bot.telegram import buttons
from tests.e2e.conftest import COORDINATOR_ID, MovableClock, Running
from tests.e2e.people import Person as Chat
from tests.e2e.test_dialogs import translator

RITA, ANNA, BEN = 901, 902, 903  # a mentor and her two mentees
CARL, DINA = 904, 905  # another mentor and his mentee
LAURA = 906  # the coordinator of another cohort
SKIPPED_TABLES = {"inbox_updates", "bot_state", "alembic_version"}


class Programme:
    """Two cohorts put straight into the database: Dace's, where Rita mentors Anna and Ben
    (Anna's pair decided last) and Carl mentors Dina, and Laura's, empty but hers."""

    def __init__(self, standin: BotAPIStandin, bot: Running) -> None:
        self.bot = bot

        def chat(user_id: int, name: str) -> Chat:
            return Chat(standin, standin.user(user_id, name, "en"), bot)

        self.dace = chat(COORDINATOR_ID, "Dace")
        self.rita, self.anna, self.ben = chat(RITA, "Rita"), chat(ANNA, "Anna"), chat(BEN, "Ben")
        self.carl, self.dina = chat(CARL, "Carl"), chat(DINA, "Dina")
        self.laura = chat(LAURA, "Laura")
        self.pairs: dict[str, int] = {}
        self.cohorts: dict[str, int] = {}
        self.dina_session = 0

    async def seed(self, now: datetime) -> None:
        async with self.bot.app.sessions() as db:
            people = [
                (COORDINATOR_ID, "Dace"),
                (RITA, "Rita"),
                (ANNA, "Anna"),
                (BEN, "Ben"),
                (CARL, "Carl"),
                (DINA, "Dina"),
                (LAURA, "Laura"),
            ]
            for person_id, name in people:
                db.add(
                    Person(
                        id=person_id,
                        first_name=name,
                        telegram_language="en",
                        created_at=now,
                        last_seen_at=now,
                    )
                )
            await db.flush()
            for name, coordinator in (("Riga 2027", COORDINATOR_ID), ("Tartu 2027", LAURA)):
                cohort = Cohort(
                    name=name, mode="coordinator", created_by=coordinator, created_at=now
                )
                db.add(cohort)
                await db.flush()
                db.add(CohortCoordinator(cohort_id=cohort.id, person_id=coordinator))
                self.cohorts[name] = cohort.id
            riga = self.cohorts["Riga 2027"]
            for person_id, role in (
                (RITA, "mentor"),
                (ANNA, "mentee"),
                (BEN, "mentee"),
                (CARL, "mentor"),
                (DINA, "mentee"),
            ):
                db.add(
                    Membership(
                        cohort_id=riga,
                        person_id=person_id,
                        role=role,
                        status="active",
                        joined_at=now,
                    )
                )
                data: dict[str, Any] = (
                    {"show_name": True} if role == "mentee" else {"capacity": 3, "bio": ""}
                )
                db.add(Profile(person_id=person_id, role=role, data=data, updated_at=now))
            for key, mentee, mentor, days_ago in (
                ("ben", BEN, RITA, 20),
                ("anna", ANNA, RITA, 10),  # the latest decided
                ("dina", DINA, CARL, 15),
            ):
                pair = Pair(
                    cohort_id=riga,
                    mentee_id=mentee,
                    mentor_id=mentor,
                    status="active",
                    score=50,
                    created_at=now - timedelta(days=30),
                    decided_at=now - timedelta(days=days_ago),
                )
                db.add(pair)
                await db.flush()
                self.pairs[key] = pair.id
            session = DialogSession(
                person_id=DINA,
                dialog_id="grow",
                status="finished",
                state={},
                started_at=now,
                updated_at=now,
                finished_at=now,
            )
            db.add(session)
            await db.flush()
            self.dina_session = session.id
            await db.commit()

    async def pair(self, key: str) -> Pair:
        async with self.bot.app.sessions() as db:
            found = await db.get(Pair, self.pairs[key])
            assert found is not None
            return found

    async def relayed(self, sender: Chat, receiver: Chat, words: str) -> BotMessage:
        """``sender`` writes; the message as ``receiver`` got it, once the bot knows which
        message it was sent as."""
        await sender.write(words)
        message = await sender.standin.wait_for_message(receiver.user, contains=words, timeout=10)

        async def known() -> bool:
            async with self.bot.app.sessions() as db:
                found = await db.scalar(
                    select(Outgoing.id).where(
                        Outgoing.chat_id == receiver.user.id,
                        Outgoing.sent_message_id == message.message_id,
                    )
                )
            return found is not None

        for _ in range(200):
            if await known():
                return message
            await asyncio.sleep(0.05)
        raise AssertionError("the relayed message's id was never recorded")


async def snapshot(bot: Running) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the inbox's and the polling offset, once the outbox
    has sent what is due."""
    for _ in range(400):
        async with bot.app.sessions() as db:
            due = await db.scalar(
                select(Outgoing.id)
                .where(
                    Outgoing.status.in_(("pending", "sending")),
                    Outgoing.due_at <= bot.app.polling.clock.now(),
                )
                .limit(1)
            )
        if due is None and not (bot.handling() or bot.sending()):
            break
        await asyncio.sleep(0.05)
    async with bot.app.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        tables = {}
        for name in sorted(set(names) - SKIPPED_TABLES):
            rows = (await connection.execute(text(f'SELECT * FROM "{name}"'))).all()
            tables[name] = sorted((tuple(r) for r in rows), key=repr)
        return tables


async def failures(bot: Running) -> list[str | None]:
    async with bot.app.sessions() as db:
        found = await db.execute(
            select(InboxUpdate.failure).where(InboxUpdate.failure.is_not(None))
        )
        return list(found.scalars())


async def made(standin: BotAPIStandin, bot: Running, clock: MovableClock) -> Programme:
    programme = Programme(standin, bot)
    await programme.seed(clock.now())
    return programme


async def finish_end_form(who: Chat, bot: Running) -> None:
    t = translator(bot, "en")
    await who.write("It has run its course")
    await who.write("Regular calls")
    await who.press("5")
    await who.press(t("Yes"))


async def test_a_reply_to_a_mentees_message_is_about_that_mentees_pair(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    p = await made(standin, bot, clock)
    from_ben = await p.relayed(p.ben, p.rita, "Hello, it is Ben")
    await p.relayed(p.anna, p.rita, "Hello, it is Anna")

    # A reply goes to Ben, though Anna wrote last and her pair was decided last.
    await p.rita.write("Hi Ben, Thursday?", reply_to=from_ben)
    await standin.wait_for_message(p.ben.user, contains="Hi Ben, Thursday?", timeout=10)
    assert not any("Hi Ben" in (m.text or "") for m in p.anna.sent())

    (noted,) = await p.rita.write("/contact", reply_to=from_ben)
    assert noted.text == "Noted. Contacts are swapped once the other side agrees too."
    assert (await p.pair("ben")).contact_consent == [RITA]
    assert (await p.pair("anna")).contact_consent == []
    await standin.wait_for_message(p.ben.user, contains="would like to swap contacts", timeout=10)

    replies = await p.rita.write("/report", reply_to=from_ben)
    shown = [m.text or "" for m in replies]
    assert "This is about your mentoring with Ben." in shown
    assert any("What is the problem?" in m for m in shown)
    await p.rita.write("Ben has missed our last two calls")
    alert = await standin.wait_for_message(p.dace.user, contains="reports a problem", timeout=10)
    assert f"pair #{p.pairs['ben']}" in (alert.text or "")
    assert "Ben has missed our last two calls" in (alert.text or "")

    replies = await p.rita.write("/end", reply_to=from_ben)
    assert "This is about your mentoring with Ben." in [m.text for m in replies]
    await finish_end_form(p.rita, bot)
    await standin.wait_for_message(p.ben.user, contains="ended by the other side", timeout=10)
    ended, kept = await p.pair("ben"), await p.pair("anna")
    assert ended.status == "ended" and ended.ended_by == RITA
    assert ended.end_reason == "It has run its course"
    assert kept.status == "active" and kept.ended_at is None
    assert not any("ended by the other side" in (m.text or "") for m in p.anna.sent())

    # Ben's pair is over: a reply to his message goes to nobody else instead.
    (refused,) = await p.rita.write("Are you still there?", reply_to=from_ben)
    assert "belongs to a mentoring that is over" in (refused.text or "")
    (refused,) = await p.rita.write("/contact", reply_to=from_ben)
    assert refused.text == "The message you replied to belongs to a mentoring that is over."
    assert (await p.pair("anna")).contact_consent == []
    assert not any("Are you still there?" in (m.text or "") for m in p.anna.sent())
    assert await failures(bot) == []


async def test_without_a_reply_the_mentor_is_asked_which_mentee(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    p = await made(standin, bot, clock)

    (question,) = await p.rita.write("/contact")
    assert (question.text or "").startswith("Swap contacts with whom?")
    assert p.rita.labels(question) == ["Ben", "Anna"]
    assert (await p.pair("ben")).contact_consent == []
    (noted,) = await p.rita.press("Ben", question)
    assert noted.text == "Noted. Contacts are swapped once the other side agrees too."
    assert (await p.pair("ben")).contact_consent == [RITA]
    assert (await p.pair("anna")).contact_consent == []
    assert p.rita.labels(question) == []  # answered: the choice is gone

    (question,) = await p.rita.write("/report")
    assert (question.text or "").startswith("Which of your mentorings is the problem in?")
    replies = await p.rita.press("Anna", question)
    assert "This is about your mentoring with Anna." in [m.text for m in replies]
    await p.rita.write("Anna wants a different mentor")
    alert = await standin.wait_for_message(p.dace.user, contains="Anna wants", timeout=10)
    assert f"pair #{p.pairs['anna']}" in (alert.text or "")

    (question,) = await p.rita.write("/end")
    assert (question.text or "").startswith("End the mentoring with whom?")
    data = buttons.WhichMentee(action="end", pair=p.pairs["ben"]).pack()
    await p.rita.press("Ben", question)
    await p.rita.write("It has run its course")
    # The same choice pressed again (a double tap, an old copy): the form goes on.
    await p.rita.act(lambda: standin.press_data(p.rita.user, data, question))
    async with bot.app.sessions() as db:
        forms = (
            await db.execute(
                select(DialogSession.status).where(
                    DialogSession.person_id == RITA, DialogSession.dialog_id == "end_pair"
                )
            )
        ).scalars()
        assert list(forms) == ["active"]
    t = translator(bot, "en")
    await p.rita.write("Regular calls")
    await p.rita.press("5")
    await p.rita.press(t("Yes"))
    await standin.wait_for_message(p.ben.user, contains="ended by the other side", timeout=10)
    assert (await p.pair("ben")).status == "ended"
    assert (await p.pair("anna")).status == "active"

    # Ben's pair is over: the old choice does nothing.
    before = await snapshot(bot)
    await p.rita.act(lambda: standin.press_data(p.rita.user, data, question))
    assert p.rita.alerts()[-1] == "This pair is no longer active."
    assert await snapshot(bot) == before
    assert await failures(bot) == []


async def test_the_mentee_chosen_in_mentees_is_the_one_meant(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    p = await made(standin, bot, clock)
    (listing,) = await p.rita.write("/mentees")
    label = next(label for label in p.rita.labels(listing) if label.startswith("Ben"))
    await p.rita.press(label, listing)
    assert p.rita.alerts()[-1] == "Your messages now go to this mentee."
    (noted,) = await p.rita.write("/contact")
    assert noted.text == "Noted. Contacts are swapped once the other side agrees too."
    assert (await p.pair("ben")).contact_consent == [RITA]
    await p.rita.write("See you soon")
    await standin.wait_for_message(p.ben.user, contains="See you soon", timeout=10)
    # A mentee has one pair: theirs, without a question.
    (noted,) = await p.anna.write("/contact")
    assert noted.text == "Noted. Contacts are swapped once the other side agrees too."
    assert (await p.pair("anna")).contact_consent == [ANNA]


async def test_a_press_naming_someone_elses_pair_changes_nothing(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    p = await made(standin, bot, clock)
    await p.rita.write("/mentees")
    await p.anna.write("/help")
    await p.ben.write("/help")
    dina = p.pairs["dina"]
    forged = [
        (p.rita, buttons.WhichMentee(action="end", pair=dina).pack()),
        (p.rita, buttons.WhichMentee(action="contact", pair=dina).pack()),
        (p.rita, buttons.Talk(pair=dina).pack()),
        (p.rita, buttons.RequestAnswer(pair=dina, answer="yes").pack()),
        (p.rita, buttons.SummaryChoice(session=p.dina_session, send=True).pack()),
        # A mentee is no mentor, even of her own pair; nor is another pair hers.
        (p.anna, buttons.WhichMentee(action="end", pair=p.pairs["anna"]).pack()),
        (p.anna, buttons.Talk(pair=p.pairs["ben"]).pack()),
        (p.ben, buttons.SummaryChoice(session=p.dina_session, send=True).pack()),
        (p.ben, buttons.RequestAnswer(pair=p.pairs["ben"], answer="no").pack()),
    ]
    before = await snapshot(bot)
    answered = len(standin.answered_callbacks)
    for who, data in forged:
        await who.act(lambda who=who, data=data: standin.press_data(who.user, data))
    alerts = standin.answered_callbacks[answered:]
    assert [a.data for a in alerts] == [data for _, data in forged]
    assert all(a.show_alert for a in alerts)
    assert {a.text for a in alerts} <= {
        "This button is not meant for you, so it does nothing.",
        "This command is for mentors.",
    }
    assert await snapshot(bot) == before
    assert not any("Dina" in (m.text or "") for m in p.rita.sent())
    assert await failures(bot) == []


async def test_a_coordinator_cannot_touch_another_coordinators_broadcast(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    p = await made(standin, bot, clock)
    replies = await p.laura.write("/broadcast")
    assert "Who should get it?" in (replies[-1].text or "")
    async with bot.app.sessions() as db:
        draft = (await db.execute(select(Broadcast))).scalar_one()
    riga = p.cohorts["Riga 2027"]
    await p.dace.write("/help")
    await p.rita.write("/help")
    forged = [
        (p.dace, buttons.BroadcastAudience(draft=draft.id, step="k", value="everyone").pack()),
        (p.dace, buttons.BroadcastSend(draft=draft.id, action="now").pack()),
        (p.dace, buttons.BroadcastCancel(draft=draft.id).pack()),
        (p.rita, buttons.BroadcastCancel(draft=draft.id).pack()),
        # Laura's own draft, but a cohort she does not coordinate.
        (p.laura, buttons.BroadcastAudience(draft=draft.id, step="c", value=str(riga)).pack()),
        (
            p.laura,
            buttons.BroadcastAudience(
                draft=draft.id, step="r", value=str(riga), detail="all"
            ).pack(),
        ),
        (p.laura, buttons.GroupLink(chat=-1001, cohort=riga).pack()),
    ]
    before = await snapshot(bot)
    answered = len(standin.answered_callbacks)
    for who, data in forged:
        await who.act(lambda who=who, data=data: standin.press_data(who.user, data))
    alerts = standin.answered_callbacks[answered:]
    assert [a.data for a in alerts] == [data for _, data in forged]
    texts = [a.text for a in alerts]
    assert texts[:3] == ["This button is not meant for you, so it does nothing."] * 3
    assert texts[3] == "This command is for programme coordinators."
    assert texts[4:6] == ["This broadcast has changed; /broadcast starts a new one."] * 2
    assert texts[6] == "This button is not meant for you, so it does nothing."
    assert await snapshot(bot) == before
    assert await failures(bot) == []


# Any press at all ---------------------------------------------------------------------

KINDS = ("talk", "who", "share", "sum", "ask", "req", "bc", "bcs", "bcx", "gl")
PRESSERS = (RITA, ANNA, COORDINATOR_ID, LAURA, CARL)

WORDS = ["", "yes", "no", "1", "0", "-0", "1e3", "end", "contact", "report", "always", "k"]
WORDS += ["everyone", "mentee", "cohort", "quiet", "c", "q", "r", "all", "now", "at", "hour"]
part = st.one_of(
    st.integers(min_value=0, max_value=6).map(str),  # ids that exist, and a few that do not
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(WORDS),
    st.text(max_size=12),
)


ids = st.sampled_from(["1", "2", "3", "4", str(RITA), str(CARL)])


def words(*choices: str) -> st.SearchStrategy[str]:
    return st.sampled_from(choices)


# Parts shaped like each kind's own, with values that exist, nearly exist, or not at all.
PLAUSIBLE: dict[str, list[st.SearchStrategy[str]]] = {
    "talk": [ids],
    "who": [words("end", "contact", "report", "meet"), ids],
    "share": [words("ask", "always", "never")],
    "sum": [ids, words("1", "0", "true", "no")],
    "ask": [ids],
    "req": [ids, words("yes", "no")],
    "bc": [
        ids,
        words("k", "c", "q", "r"),
        words("everyone", "mentee", "cohort", "quiet", "1"),
        words("all", "mentee", "groups", ""),
    ],
    "bcs": [ids, words("now", "later", "two", "at"), words("hour", "tomorrow", "")],
    "bcx": [ids],
    "gl": [words("-1001", "-1", "0"), words("0", "1", "2")],
}


# Who would have such a button.
HOLDERS = {
    "talk": (RITA, CARL),
    "who": (RITA, CARL),
    "share": (ANNA,),
    "sum": (ANNA, RITA),
    "ask": (ANNA,),
    "req": (RITA, CARL),
    "bc": (LAURA, COORDINATOR_ID),
    "bcs": (LAURA, COORDINATOR_ID),
    "bcx": (LAURA, COORDINATOR_ID),
    "gl": (COORDINATOR_ID, LAURA),
}


def presses(kind: str) -> st.SearchStrategy[tuple[int, str, list[str], str]]:
    """Shaped like the kind's own, pressed by someone who could have it (most presses);
    or anything, by anyone: as many parts as the kind has fields, or any number."""
    fields = len(buttons.Button.kinds[kind].model_fields)
    shaped = st.tuples(
        st.sampled_from(HOLDERS[kind]),
        st.just(kind),
        st.tuples(*PLAUSIBLE[kind]).map(list),
        st.just(":"),
    )
    anything = st.tuples(
        st.sampled_from(PRESSERS),
        st.just(kind),
        st.one_of(st.lists(part, min_size=fields, max_size=fields), st.lists(part, max_size=5)),
        st.sampled_from([":", ":", "|"]),
    )
    return st.one_of(shaped, shaped, anything)


press = st.sampled_from(KINDS).flatmap(presses)
EXAMPLES: list[tuple[int, str]] = []


@seed(20261201)
@settings(database=None, max_examples=300, deadline=None)
@given(press)
def collect(example: tuple[int, str, list[str], str]) -> None:
    presser, kind, parts, separator = example
    data = separator.join([kind, *parts])
    if len(data.encode()) <= 64:  # Telegram takes no more
        EXAMPLES.append((presser, data))


async def test_any_press_of_these_kinds_is_answered_and_fails_nothing(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    EXAMPLES.clear()
    collect()
    assert len(EXAMPLES) > 100
    p = await made(standin, bot, clock)
    chats = {c.user.id: c for c in (p.rita, p.anna, p.dace, p.laura, p.carl)}
    for chat in chats.values():
        await chat.write("/help")
    # Drafts for the broadcast buttons to name (ids 1 and 2).
    await p.laura.write("/broadcast")
    await p.dace.write("/broadcast")
    answered = len(standin.answered_callbacks)
    for start in range(0, len(EXAMPLES), 20):
        for presser, data in EXAMPLES[start : start + 20]:
            await standin.press_data(chats[presser].user, data)
        await p.rita.settle()
    pressed = [data for _, data in EXAMPLES]
    assert sorted(a.data for a in standin.answered_callbacks[answered:]) == sorted(pressed)
    assert not standin.calls("answerCallbackQuery", status=400)
    assert await failures(bot) == []
