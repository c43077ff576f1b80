"""Coordinators scoped to their cohorts: forged and foreign presses change nothing, links
can be minted for one coordinator, spent, expired and revoked, and an operator takes a
coordinator's rights away."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, get_args, get_origin

from hypothesis import Phase, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.playground.botapi import BotAPIStandin, BotMessage
from bot.storage.models import (
    Base,
    Cohort,
    CohortCoordinator,
    InboxUpdate,
    Invite,
    Membership,
    Outgoing,
    Pair,
    Poll,
)
from bot.telegram.buttons import (
    Approve,
    Button,
    CohortCoordinators,
    CohortSetting,
    CohortSettings,
    Exclude,
    Export,
    GroupLink,
    InviteStep,
    Leaderboard,
    PairStatus,
    PairsView,
    PollResults,
    PollTarget,
    ProposalPage,
    RemindIntake,
    RevokeInvite,
    RunMatching,
    Stats,
)
from tests.e2e.conftest import MovableClock, Running
from tests.e2e.people import Person
from tests.e2e.test_dialogs import translator
from tests.e2e.test_programme import matched_pair, person, wait_text

A = "Riga <spring> 2027"
B = "Liepāja autumn 2027"
REFUSALS = {
    "This command is for programme coordinators.",
    "This button is not meant for you, so it does nothing.",
    "This button no longer works.",
}


async def new_cohort(who: Person, bot: Running, name: str) -> None:
    t = translator(bot, "en")
    await who.write("/cohort_new")
    await who.write(name)
    await who.press(t("A coordinator matches them"))
    replies = await who.press(t("In a month"))
    assert any(name in (m.text or "") for m in replies)


async def coordinator_link(who: Person, bot: Running, cohort: str) -> tuple[BotMessage, str]:
    await who.write("/invite")
    await who.press(cohort)
    (link,) = await who.press(translator(bot, "en")("Coordinators"))
    return link, (link.text or "").split("start=")[1]


@dataclass
class Programme:
    operator: Person
    mentee: Person
    mentor: Person
    ada: Person  # coordinates A
    bea: Person  # coordinates B
    stranger: Person
    cohort_a: int
    cohort_b: int
    pair: int
    poll: int  # Ada's draft
    bea_poll: int  # Bea's draft
    mentee_code: str  # A's mentee link


async def programme(standin: BotAPIStandin, bot: Running) -> Programme:
    """Two cohorts: A with a matched pair and Ada as a coordinator of its own, B with Bea;
    a poll drafted by each; a stranger who has only said hello."""
    operator, mentee, mentor = await matched_pair(standin, bot)
    await new_cohort(operator, bot, B)
    ada = person(standin, standin.user(861, "Ada", "en"), bot)
    bea = person(standin, standin.user(862, "Bea", "en"), bot)
    for who, cohort in ((ada, A), (bea, B)):
        _link, code = await coordinator_link(operator, bot, cohort)
        (joined,) = await who.write(f"/start {code}")
        assert "You now help coordinate this cohort" in (joined.text or "")
    await ada.write("/poll When shall we meet?\nMonday\nTuesday")
    await bea.write("/poll Which topic next?\nGoals\nHabits")
    stranger = person(standin, standin.user(869, "Zane", "en"), bot)
    await stranger.write("/start")
    async with bot.app.sessions() as db:
        ids = {c.name: c.id for c in (await db.execute(select(Cohort))).scalars()}
        pair = await db.scalar(select(Pair.id).where(Pair.status == "active"))
        polls = {p.created_by: p.id for p in (await db.execute(select(Poll))).scalars()}
        code = await db.scalar(
            select(Invite.code).where(Invite.cohort_id == ids[A], Invite.role == "mentee")
        )
    assert pair is not None and code is not None
    return Programme(
        operator,
        mentee,
        mentor,
        ada,
        bea,
        stranger,
        ids[A],
        ids[B],
        pair,
        polls[861],
        polls[862],
        code,
    )


def forged(p: Programme) -> list[str]:
    """Presses of every coordination kind for what is A's (its pair, Ada's poll)."""
    a = p.cohort_a
    return [
        RunMatching(cohort=a).pack(),
        Approve(cohort=a).pack(),
        Approve(cohort=a, pair=p.pair).pack(),
        Exclude(pair=p.pair, cohort=a).pack(),
        CohortSettings(cohort=a).pack(),
        CohortSetting(cohort=a, key="matching_mode", value="best_scores").pack(),
        InviteStep(cohort=a).pack(),
        InviteStep(cohort=a, role="coordinator", code="Forged_code_0001").pack(),
        InviteStep(cohort=a, role="mentee", days=0, uses=0, code="Forged_code_0002").pack(),
        RevokeInvite(cohort=a, code=p.mentee_code).pack(),
        CohortCoordinators(cohort=a).pack(),
        CohortCoordinators(cohort=a, person=p.ada.user.id).pack(),
        ProposalPage(cohort=a, page=1).pack(),
        RemindIntake(cohort=a).pack(),
        PairsView(cohort=a, show="paused").pack(),
        PairStatus(pair=p.pair, action="paused").pack(),
        PairStatus(pair=p.pair, action="ended").pack(),
        PairStatus(pair=p.pair, action="reassign").pack(),
        Stats(cohort=a).pack(),
        Export(cohort=a).pack(),
        Leaderboard(cohort=a).pack(),
        PollTarget(poll=p.poll, to="c", target=a).pack(),
        PollResults(poll=p.poll).pack(),
        GroupLink(chat=-1001234, cohort=a).pack(),
    ]


async def quiet(bot: Running, clock: MovableClock) -> None:
    """The schedule swept and the outbox sent all that is due, so that nothing but the
    presses can change the database."""
    await bot.app.sweep()
    deadline = time.monotonic() + 15
    while True:
        async with bot.app.sessions() as db:
            due = await db.scalar(
                select(func.count())
                .select_from(Outgoing)
                .where(Outgoing.status.in_(("pending", "sending")), Outgoing.due_at <= clock.moment)
            )
        if not due and not (bot.handling() or bot.sending()):
            return
        assert time.monotonic() < deadline, "the outbox did not finish in time"
        await asyncio.sleep(0.02)


async def snapshot(bot: Running, clock: MovableClock) -> dict[str, list[tuple[Any, ...]]]:
    await quiet(bot, clock)
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with bot.app.sessions() as db:
        for table in Base.metadata.sorted_tables:
            if table.name in ("inbox_updates", "bot_state"):
                continue
            rows = await db.execute(select(table).order_by(*table.primary_key.columns))
            tables[table.name] = [tuple(row) for row in rows.all()]
    return tables


async def press(standin: BotAPIStandin, who: Person, data: str) -> tuple[list[BotMessage], Any]:
    """A press with this data; the bot's new messages and its answer to the press."""
    before = len(standin.answered_callbacks)
    messages = await who.act(lambda: standin.press_data(who.user, data))
    answers = standin.answered_callbacks[before:]
    assert len(answers) == 1, f"{data!r} by {who.user.first_name}: {answers!r}"
    return messages, answers[0]


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


async def test_forged_and_foreign_presses_are_refused_and_change_nothing(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    p = await programme(standin, bot)
    before = await snapshot(bot, clock)
    for who in (p.stranger, p.mentee, p.mentor, p.bea):
        for data in forged(p):
            messages, answer = await press(standin, who, data)
            assert messages == [], (who.user.first_name, data)
            assert answer.show_alert and answer.text in {t(r) for r in REFUSALS}, (
                who.user.first_name,
                data,
                answer.text,
            )
    # Bea's own poll, sent to a cohort that is not hers: the poll service says no.
    _messages, answer = await press(
        standin, p.bea, PollTarget(poll=p.bea_poll, to="c", target=p.cohort_a).pack()
    )
    assert answer.show_alert and answer.text == t("This poll has already been sent, or is gone.")
    # Bea is no operator: her cohort's coordinators are not hers to revoke.
    _messages, answer = await press(
        standin, p.bea, CohortCoordinators(cohort=p.cohort_b, person=p.bea.user.id).pack()
    )
    assert answer.text == t("Only an operator of this bot can revoke a coordinator's rights.")
    assert await snapshot(bot, clock) == before
    assert await failures(bot) == []


async def test_a_stranger_cannot_make_a_cohort(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    stranger = person(standin, standin.user(870, "Zane", "en"), bot)
    await stranger.write("/start")
    for data in ("menu:cohort_new", "restart:cohort_new:1"):
        messages, answer = await press(standin, stranger, data)
        assert messages == [] and answer.show_alert
        assert answer.text == t("This command is for programme coordinators.")
    (reply,) = await stranger.write("/cohort_new")
    assert reply.text == t("This command is for programme coordinators.")
    # What the form would have asked for, written anyway, makes no cohort either.
    await stranger.write("Evil cohort")
    async with bot.app.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(Cohort)) == 0
        assert await db.scalar(select(func.count()).select_from(CohortCoordinator)) == 0
    assert await failures(bot) == []


async def test_a_coordinator_link_works_once_and_for_72_hours(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    operator, _mentee, _mentor = await matched_pair(standin, bot)
    await operator.write("/invite")
    (step,) = await operator.press(A)
    tap = next(d for row in step.buttons for label, d in row if label == t("Coordinators"))
    assert tap is not None
    (link,) = await operator.press(t("Coordinators"))
    code = (link.text or "").split("start=")[1]
    assert t("The invite link:\n{link}").split("\n")[0] in (link.text or "")
    async with bot.app.sessions() as db:
        invite = await db.get(Invite, code)
        count = await db.scalar(select(func.count()).select_from(Invite))
    assert invite is not None and invite.role == "coordinator" and invite.max_uses == 1
    assert invite.expires_at == clock.moment + timedelta(hours=72)
    # A second press of the same button (a double tap) gives the same link, not another.
    assert step.buttons == []  # the question's buttons are gone once the link is made
    messages, _answer = await press(standin, operator, tap)
    assert code in (messages[-1].text or "")
    async with bot.app.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(Invite)) == count

    first = person(standin, standin.user(871, "Ilze", "en"), bot)
    second = person(standin, standin.user(872, "Juris", "en"), bot)
    (joined,) = await first.write(f"/start {code}")
    assert "You now help coordinate this cohort" in (joined.text or "")
    (used,) = await second.write(f"/start {code}")
    assert "used as many times as it allows" in (used.text or "")

    _link, late = await coordinator_link(operator, bot, A)
    clock.moment += timedelta(hours=72, minutes=1)
    (expired,) = await second.write(f"/start {late}")
    assert "has expired" in (expired.text or "")
    (refused,) = await second.write("/match")
    assert refused.text == t("This command is for programme coordinators.")
    (allowed,) = await first.write("/match")
    assert allowed.text == t("Which cohort do you want to match?")
    assert first.labels(allowed) == [A]


async def test_cohorts_shows_each_links_state_and_a_revoked_link_lets_nobody_in(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    operator, _mentee, _mentor = await matched_pair(standin, bot)
    _link, spent = await coordinator_link(operator, bot, A)
    helper = person(standin, standin.user(873, "Laura", "en"), bot)
    await helper.write(f"/start {spent}")
    _link, stale = await coordinator_link(operator, bot, A)
    clock.moment += timedelta(hours=73)
    _link, live = await coordinator_link(operator, bot, A)

    (listing,) = await operator.write("/cohorts")
    text = listing.text or ""
    lines = text.splitlines()
    one_use = t("uses left: {count}").format(count=1)
    assert any(live in line and one_use in line for line in lines)
    assert any(line.endswith(" · spent: used 1 time") for line in lines)
    # The stale link was made at 09:00 on 25 November and worked for 72 hours.
    assert any(line.endswith(" · expired 2026-11-28 09:00 (UTC)") for line in lines)
    assert stale not in text and spent not in text  # a link that no longer works is not shown
    # Three links still work: the mentees', the mentors' and the new coordinator link.
    revoke = [label for label in operator.labels(listing) if label.startswith("🚫")]
    assert len(revoke) == 3
    mentee_line = next(line for line in text.splitlines() if line.startswith("1. "))
    assert mentee_line.startswith("1. " + t("Mentees"))
    code = re.search(r"start=(\S+)", mentee_line)
    assert code is not None

    await operator.press(t("🚫 Revoke link {number}").format(number=1), listing)
    alert = standin.answered_callbacks[-1]
    assert alert.text == t("Revoked: nobody can join with this link any more.")
    shown = next(m for m in operator.sent() if m.message_id == listing.message_id)
    assert "revoked 2026-11-28 10:00 (UTC)" in (shown.text or "")
    assert t("{role}: no link works now; /invite makes one.").format(role=t("Mentees")) in (
        shown.text or ""
    )
    assert t("{role}: no link works now; /invite makes one.").format(role=t("Mentors")) not in (
        text
    )
    assert len([label for label in operator.labels(shown) if label.startswith("🚫")]) == 2
    # Pressed again (an old copy of the button): nothing more happens.
    async with bot.app.sessions() as db:
        cohort = await db.scalar(select(Cohort.id))
    assert cohort is not None
    _messages, answer = await press(
        standin, operator, RevokeInvite(cohort=cohort, code=code.group(1)).pack()
    )
    assert answer.text == t("This link no longer works anyway.")

    newcomer = person(standin, standin.user(874, "Marta", "en"), bot)
    (refused,) = await newcomer.write(f"/start {code.group(1)}")
    assert refused.text == t(
        "This invite link has been revoked. Please ask your programme coordinator for a new one."
    )
    async with bot.app.sessions() as db:
        assert await db.scalar(select(func.count()).where(Membership.person_id == 874)) == 0
    assert await failures(bot) == []


async def test_an_operator_revokes_a_coordinator(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    p = await programme(standin, bot)
    (team,) = await p.ada.write("/coordinators")
    assert "Ada" in (team.text or "") and t("{name} (operator)").format(name="Dace") in (
        team.text or ""
    )
    assert p.ada.labels(team) == []  # only an operator gets the buttons

    replies = await p.operator.write("/coordinators")
    of_a = next(m for m in replies if A in (m.text or ""))
    assert p.operator.labels(of_a) == [t("🚫 Revoke {number}. {name}").format(number=1, name="Ada")]
    await p.operator.press(p.operator.labels(of_a)[0], of_a)
    alert = standin.answered_callbacks[-1]
    assert alert.text == (
        t("{name} no longer coordinates {cohort}.").format(name="Ada", cohort=A)
        + "\n"
        + t("It has no coordinator of its own now: the operators run it.")
    )
    await wait_text(standin, p.ada.user, "You no longer coordinate")
    (refused,) = await p.ada.write("/match")
    assert refused.text == t("This command is for programme coordinators.")
    messages, answer = await press(standin, p.ada, RunMatching(cohort=p.cohort_a).pack())
    assert messages == [] and answer.show_alert
    # The operators still run A.
    (picker,) = await p.operator.write("/match")
    assert set(p.operator.labels(picker)) == {A, B}
    async with bot.app.sessions() as db:
        rows = set(
            (
                await db.execute(select(CohortCoordinator.cohort_id, CohortCoordinator.person_id))
            ).tuples()
        )
    assert (p.cohort_a, 861) not in rows and (p.cohort_b, 862) in rows
    assert await failures(bot) == []


async def test_a_coordinator_sees_statistics_exports_and_polls_of_their_cohort_only(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    p = await programme(standin, bot)
    for command in ("/stats", "/export", "/leaderboard", "/cohort_settings", "/invite"):
        (picker,) = await p.ada.write(command)
        assert p.ada.labels(picker) == [A], command
    await p.ada.write("/stats")
    replies = await p.ada.press(A)
    assert any(t("Statistics for {cohort}").format(cohort=A) in (m.text or "") for m in replies)
    assert replies[-1].photo is not None
    await p.ada.write("/export")
    replies = await p.ada.press(A)
    assert {m.document_name for m in replies if m.document} == {
        "pairs.csv",
        "sessions.csv",
        "checkins.csv",
    }
    await p.ada.write("/leaderboard")
    (board,) = await p.ada.press(A)
    assert board.text == t("Nobody has answered a quiz of this cohort yet.")
    (pairs,) = await p.ada.write("/pairs")
    assert "Anna → Rita" in (pairs.text or "")
    assert (await p.bea.write("/pairs"))[0].text == t(
        "Your cohorts have no active or paused pairs."
    )
    # Ada's poll offers her cohort (and no other) and goes to its two members.
    poll = next(m for m in p.ada.sent() if "When shall we meet?" in (m.text or ""))
    assert [label for label in p.ada.labels(poll) if label.startswith("👥")] == [
        t("👥 {cohort} ({count} people)").format(cohort=A, count=2)
    ]
    (sent,) = await p.ada.press(t("👥 {cohort} ({count} people)").format(cohort=A, count=2), poll)
    assert sent.text == t("Sent to {count} people; answers are gathered as they come.").format(
        count=2
    )
    (chart,) = await p.ada.press(t("📊 Results"))
    assert chart.photo is not None
    # A setting's button names the value it sets: pressed twice, it is set once.
    await p.ada.write("/cohort_settings")
    (view,) = await p.ada.press(A)
    (label, data), *_rest = [b for row in view.buttons for b in row]
    assert t("as many matched as possible first") in label and data is not None
    for _ in range(2):
        await press(standin, p.ada, data)
    async with bot.app.sessions() as db:
        cohort = await db.get(Cohort, p.cohort_a)
    assert cohort is not None and cohort.settings == {"matching_mode": "best_scores"}
    assert await failures(bot) == []


KINDS = (
    "match",
    "mok",
    "mex",
    "mpg",
    "mrem",
    "pv",
    "ps",
    "cset",
    "cs",
    "iv",
    "ivx",
    "co",
    "st",
    "ex",
    "lb",
    "pto",
    "pres",
)


def press_data() -> st.SearchStrategy[list[str]]:
    """Data for presses of every coordination kind: for each, one with a likely value for
    each of its fields, one where any part may be anything at all (huge, negative, not a
    number, empty, any unicode), and presses with any number of parts, so that presses
    reach the handlers as well as the parser. {A}, {B}, {P}, {Q}, {CODE} and {ADA} stand
    for real cohorts, a pair, a poll, a link's code and a coordinator."""
    numbers = st.sampled_from(["{A}", "{B}", "{P}", "{Q}", "{ADA}", "0", "1", "7", "10", ""])
    words = st.sampled_from(
        [
            "{CODE}",
            "c",
            "g",
            "mentee",
            "mentor",
            "coordinator",
            "paused",
            "active",
            "ended",
            "reassign",
            "matching_mode",
            "weights",
            "",
        ]
    )
    anything = st.one_of(
        st.integers(min_value=-(2**80), max_value=2**80).map(str),
        st.sampled_from(["-1", "nan", "1e3", "٣", "𝟙", " 1", "+1", "0x1f", "None", "true"]),
        st.text(max_size=10),
    )

    def shaped(prefix: str, weird: bool) -> st.SearchStrategy[str]:
        def likely(annotation: Any) -> st.SearchStrategy[str]:
            if get_origin(annotation) is Literal:
                return st.sampled_from([*get_args(annotation), "x"])
            return numbers if "int" in str(annotation) else words

        fields = [likely(f.annotation) for f in Button.kinds[prefix].model_fields.values()]
        parts = st.tuples(*(st.one_of(likely, anything) if weird else likely for likely in fields))
        return parts.map(lambda p: ":".join([prefix, *p]))

    loose = st.builds(
        lambda prefix, parts: ":".join([prefix, *parts]),
        st.sampled_from(KINDS),
        st.lists(st.one_of(numbers, words, anything), max_size=6),
    )
    every_kind = st.tuples(
        *(shaped(prefix, weird) for prefix in KINDS for weird in (False, True)),
        loose,
        loose,
    )
    return every_kind.map(list)


EXAMPLES: list[str] = []


@seed(20261202)
@settings(max_examples=12, database=None, phases=[Phase.generate], deadline=None)
@given(press_data())
def collect(presses: list[str]) -> None:
    EXAMPLES.extend(presses)


def examples() -> list[str]:
    if not EXAMPLES:
        collect()
    return list(EXAMPLES)


async def test_any_press_of_a_coordination_kind_is_answered_and_fails_no_update(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    p = await programme(standin, bot)
    values = {
        "{A}": str(p.cohort_a),
        "{B}": str(p.cohort_b),
        "{P}": str(p.pair),
        "{Q}": str(p.poll),
        "{CODE}": p.mentee_code,
        "{ADA}": str(p.ada.user.id),
    }
    people = (p.operator, p.ada, p.bea, p.mentee, p.stranger)
    for n, data in enumerate(examples()):
        for placeholder, value in values.items():
            data = data.replace(placeholder, value)
        # Telegram carries at most 64 bytes of data; more never reaches a bot.
        data = data.encode()[:64].decode(errors="ignore")
        await press(standin, people[n % len(people)], data)
    assert await failures(bot) == []
