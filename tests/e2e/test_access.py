"""The access policy walked as people meet it: every command, every dialog and every
button kind, tried by a stranger, a mentee, a mentor, a coordinator of the cohort, a
coordinator of another cohort and an operator. What a role may not do is refused with a
clear line, and the database is left exactly as it was."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, select, text

from bot.domain import access
from bot.domain.access import Role, Subject
from bot.domain.consent import ConsentKind
from bot.playground.botapi import BotAPIStandin
from bot.storage.models import Cohort, CohortCoordinator, DialogSession, InboxUpdate, Pair
from bot.telegram import buttons
from tests.e2e.conftest import Running
from tests.e2e.people import Person
from tests.e2e.test_dialogs import translator
from tests.e2e.test_programme import matched_pair, person

# What each refusal says, in English: written out here rather than taken from the code.
COORDINATORS_ONLY = "This command is for programme coordinators."
MENTORS_ONLY = "This command is for mentors."
GUIDE_ONLY = "This is for mentors and programme coordinators."
MENTEES_ONLY = (
    "This is for mentees in a programme. An invite link from your coordinator brings you in."
)
PROGRAMME_ONLY = (
    "This is for mentees and mentors in a programme. An invite link from your coordinator "
    "brings you in."
)
SKIPPED_TABLES = {"inbox_updates", "bot_state", "alembic_version"}


def expected_refusal(rule: access.Rule) -> str:
    if rule.roles == access.COORDINATION:
        return COORDINATORS_ONLY
    if rule.roles == access.MENTORS:
        return MENTORS_ONLY
    if rule.roles == access.GUIDED:
        return GUIDE_ONLY
    if rule.roles == access.MENTEES:
        return MENTEES_ONLY
    assert rule.roles == access.IN_PROGRAMME, rule
    return PROGRAMME_ONLY


async def snapshot(bot: Running) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the inbox's and the polling offset."""
    async with bot.app.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        tables = {}
        for name in sorted(set(names) - SKIPPED_TABLES):
            rows = (await connection.execute(text(f'SELECT * FROM "{name}"'))).all()
            tables[name] = sorted((tuple(r) for r in rows), key=repr)
        return tables


class Programme:
    """A cohort with a matched pair, a coordinator of it and one of another cohort."""

    def __init__(self, standin: BotAPIStandin, bot: Running) -> None:
        self.standin = standin
        self.bot = bot

    async def build(self) -> None:
        standin, bot = self.standin, self.bot
        self.operator, self.mentee, self.mentor = await matched_pair(standin, bot)
        self.stranger = person(standin, standin.user(899, "Zane", "en"), bot)
        self.coordinator = person(standin, standin.user(850, "Ilze", "en"), bot)
        self.other_coordinator = person(standin, standin.user(851, "Juris", "en"), bot)
        for who in (self.stranger, self.coordinator, self.other_coordinator):
            await who.write("/start")
        t = translator(bot, "en")
        await self.operator.write("/cohort_new")
        await self.operator.write("Valmiera autumn 2027")
        await self.operator.press(t("A coordinator matches them"))
        await self.operator.press(t("In a month"))
        async with bot.app.sessions() as db:
            cohorts = {c.name: c.id for c in (await db.scalars(select(Cohort))).all()}
            self.cohort = cohorts["Riga <spring> 2027"]
            self.other_cohort = cohorts["Valmiera autumn 2027"]
            db.add(CohortCoordinator(cohort_id=self.cohort, person_id=850))
            db.add(CohortCoordinator(cohort_id=self.other_cohort, person_id=851))
            self.pair = await db.scalar(select(Pair.id).where(Pair.cohort_id == self.cohort))
            self.session = await db.scalar(
                select(DialogSession.id).where(DialogSession.person_id == self.mentee.user.id)
            )
            await db.commit()
        self.roles = {
            self.stranger: {Role.STRANGER},
            self.mentee: {Role.MENTEE},
            self.mentor: {Role.MENTOR},
            self.coordinator: {Role.COORDINATOR},
            self.other_coordinator: {Role.COORDINATOR},
            self.operator: {Role.OPERATOR},
        }

    def standing(self, who: Person) -> access.Standing:
        cohorts = {self.coordinator: {self.cohort}, self.other_coordinator: {self.other_cohort}}
        return access.Standing(
            who.user.id, frozenset(self.roles[who]), frozenset(cohorts.get(who, set()))
        )

    def subject(self, named: access.Named | None) -> Subject | None:
        """What a sample button names, as the programme has it."""
        if named is None:
            return None
        kind, number = named
        if kind is access.Kind.COHORT:
            return Subject(cohort_id=number)
        if kind is access.Kind.PAIR and number == self.pair:
            return Subject(self.cohort, frozenset({self.mentee.user.id, self.mentor.user.id}))
        if kind is access.Kind.SESSION and number == self.session:
            return Subject(owners=frozenset({self.mentee.user.id}))
        return None


def sample_presses(p: Programme) -> list[buttons.Button]:
    """One press of every button kind, naming the cohort, its pair and the mentee's session
    where a kind names something."""
    c, pair, s = p.cohort, p.pair, p.session
    samples: list[buttons.Button] = [
        buttons.DialogButton(session=s, seq=0, action="next"),
        buttons.Restart(dialog="grow", session=s),
        buttons.Menu(choice="grow"),
        buttons.Language(code="en"),
        buttons.DeleteMe(answer="no"),
        buttons.HistoryRecord(session=s),
        buttons.HistoryWheel(),
        buttons.Setting(name="zones"),
        buttons.ConsentChoice(kind=ConsentKind.MOOD, given=False),
        buttons.CommitmentButton(commitment=1, action="done"),
        buttons.Invitation(kind="checkin_invite", code="abc"),
        buttons.Talk(pair=pair),
        buttons.WhichMentee(action="contact", pair=pair),
        buttons.ShareMode(mode="all"),
        buttons.SummaryChoice(session=s, send=True),
        buttons.AskMentor(mentor=p.mentor.user.id),
        buttons.RequestAnswer(pair=pair, answer="yes"),
        buttons.MeetingButton(action="new", number=pair),
        buttons.PulseStart(pair=pair, round=1),
        buttons.RunMatching(cohort=c),
        buttons.Approve(cohort=c),
        buttons.Exclude(pair=pair, cohort=c),
        buttons.ProposalPage(cohort=c, page=1),
        buttons.RemindIntake(cohort=c),
        buttons.PairsView(cohort=c, show="quiet"),
        buttons.PairStatus(pair=pair, action="ended"),
        buttons.CohortSettings(cohort=c),
        buttons.CohortSetting(cohort=c, key="checkins", value="off"),
        buttons.InviteStep(cohort=c),
        buttons.RevokeInvite(cohort=c, code="abc"),
        buttons.CohortCoordinators(cohort=c),
        buttons.Stats(cohort=c),
        buttons.Export(cohort=c),
        buttons.Leaderboard(cohort=c),
        buttons.PollTarget(poll=1, to="c", target=c),
        buttons.PollResults(poll=1),
        buttons.PollAnonymity(poll=1, anonymous=True),
        buttons.GameOption(game=1, what="t"),
        buttons.GameStart(game=1, cohort=c),
        buttons.Guide(tool="grow"),
        buttons.BroadcastAudience(draft=1, step="k", value="everyone"),
        buttons.BroadcastSend(draft=1, action="now"),
        buttons.BroadcastCancel(draft=1),
        buttons.GroupLink(chat=-100, cohort=c),
    ]
    assert {type(b) for b in samples} == set(buttons.Button.kinds.values())
    return samples


async def no_update_failed(bot: Running) -> None:
    async with bot.app.sessions() as db:
        failed = (
            await db.execute(select(InboxUpdate.update_id).where(InboxUpdate.failure.is_not(None)))
        ).all()
    assert failed == []


async def test_every_command_as_every_role(standin: BotAPIStandin, bot: Running) -> None:
    p = Programme(standin, bot)
    await p.build()
    rules = dict(access.COMMANDS)
    for dialog in bot.app.dispatcher["dialogs"].dialogs.values():
        if dialog.command:
            rules[dialog.command] = access.dialog_rule(dialog.roles)
    refusals = {COORDINATORS_ONLY, MENTORS_ONLY, GUIDE_ONLY, MENTEES_ONLY, PROGRAMME_ONLY}
    for who, roles in p.roles.items():
        for command, rule in sorted(rules.items()):
            before = await snapshot(bot)
            replies = await who.write(f"/{command}")
            assert replies, f"/{command} gave {who.user.first_name} no answer"
            if rule.roles & roles:
                assert replies[-1].text not in refusals, (command, who.user.first_name)
                await who.write("/cancel")
                continue
            assert [r.text for r in replies] == [expected_refusal(rule)], (command, roles)
            assert await snapshot(bot) == before, f"/{command} by {roles} changed something"
    await no_update_failed(bot)


async def test_every_dialog_through_the_menu_as_every_role(
    standin: BotAPIStandin, bot: Running
) -> None:
    p = Programme(standin, bot)
    await p.build()
    dialogs = bot.app.dispatcher["dialogs"].dialogs
    for who, roles in p.roles.items():
        for dialog in dialogs.values():
            allowed = dialog.kind == "coaching" and bool(
                access.dialog_rule(dialog.roles).roles & roles
            )
            presses: list[buttons.Button] = [buttons.Menu(choice=dialog.id)]
            if not allowed:
                # Restarting names a session of the dialog: the mentee's, here.
                presses.append(buttons.Restart(dialog=dialog.id, session=p.session))
            for press in presses:
                before = await snapshot(bot)
                alerts = len(who.alerts())
                replies = await who.act(lambda b=press, w=who: standin.press_data(w.user, b.pack()))
                if allowed:
                    assert replies, (dialog.id, roles)
                    await who.write("/cancel")
                    continue
                assert len(who.alerts()) == alerts + 1, (press.pack(), roles)
                assert await snapshot(bot) == before, (press.pack(), roles)
    await no_update_failed(bot)


async def test_every_button_kind_as_every_role(standin: BotAPIStandin, bot: Running) -> None:
    p = Programme(standin, bot)
    await p.build()
    refused_somewhere = 0
    for who in p.roles:
        standing = p.standing(who)
        for press in sample_presses(p):
            rule = access.BUTTONS[press.__prefix__]
            refusal = access.decide(rule, standing, p.subject(press.subject()))
            if refusal is None:
                continue
            refused_somewhere += 1
            before = await snapshot(bot)
            alerts = len(who.alerts())
            await who.act(lambda b=press, w=who: standin.press_data(w.user, b.pack()))
            assert len(who.alerts()) == alerts + 1, (press.pack(), standing.roles)
            assert await snapshot(bot) == before, (press.pack(), standing.roles)
    assert refused_somewhere > 60
    await no_update_failed(bot)


async def test_the_escalations_of_the_bug_report_are_refused(
    standin: BotAPIStandin, bot: Running
) -> None:
    p = Programme(standin, bot)
    await p.build()
    t = translator(bot, "en")
    before = await snapshot(bot)
    # A stranger's crafted press and command for a new cohort.
    await p.stranger.act(lambda: standin.press_data(p.stranger.user, "menu:cohort_new"))
    (reply,) = await p.stranger.write("/cohort_new")
    assert reply.text == t(COORDINATORS_ONLY)
    # A mentee starts the mentor intake through the menu, and a coordinator of another
    # cohort runs matching of this one.
    await p.mentee.act(lambda: standin.press_data(p.mentee.user, "restart:intake_mentor"))
    await p.other_coordinator.act(
        lambda: standin.press_data(p.other_coordinator.user, f"match:{p.cohort}")
    )
    await p.other_coordinator.act(
        lambda: standin.press_data(
            p.other_coordinator.user, buttons.PairStatus(pair=p.pair, action="ended").pack()
        )
    )
    assert await snapshot(bot) == before
    assert p.stranger.alerts()[-1] and p.other_coordinator.alerts()[-1] == t(
        "This button is not meant for you, so it does nothing."
    )
    await no_update_failed(bot)
