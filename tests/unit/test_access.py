"""The access policy: every command and button kind has a rule, and the rules decide as
the table says for every role."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import COMMANDS as MENU_COMMANDS
from bot.domain import access
from bot.domain.access import Refusal, Role, Rule, Scope, Standing, Subject, decide, standing
from bot.domain.consent import ConsentKind
from bot.domain.dialogs import load_dialogs
from bot.telegram import buttons

ROOT = Path(__file__).resolve().parents[2]
DIALOGS = load_dialogs(ROOT / "dialogs")


def who(*roles: Role, person: int = 7, cohorts: frozenset[int] = frozenset()) -> Standing:
    return Standing(person, frozenset(roles), cohorts)


def test_standing_from_memberships_coordination_and_operators() -> None:
    assert standing(1, [], [], []).roles == {Role.STRANGER}
    assert standing(1, ["mentee", "mentor"], [], []).roles == {Role.MENTEE, Role.MENTOR}
    coordinator = standing(1, [], [5], [])
    assert coordinator.roles == {Role.COORDINATOR} and coordinator.coordinates(5)
    assert not coordinator.coordinates(6)
    operator = standing(1, [], [], [1])
    assert operator.roles == {Role.OPERATOR} and operator.coordinates(6)


def test_every_button_kind_has_a_rule_and_every_rule_a_button() -> None:
    assert set(access.BUTTONS) == set(buttons.Button.kinds)


def test_a_scoped_button_always_names_something() -> None:
    for prefix, rule in access.BUTTONS.items():
        kind = buttons.Button.kinds[prefix]
        if rule.scope is not Scope.ANY:
            assert kind.subject is not buttons.Button.subject, prefix


def test_every_command_the_bot_offers_has_a_rule() -> None:
    dialog_commands = {d.command for d in DIALOGS.values() if d.command}
    for name, _text in MENU_COMMANDS:
        assert name in access.COMMANDS or name in dialog_commands, name
    assert not dialog_commands & set(access.COMMANDS)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_exactly_the_commands_the_table_gives_it(role: Role) -> None:
    person = who(role, cohorts=frozenset({1}) if role is Role.COORDINATOR else frozenset())
    for name, rule in access.COMMANDS.items():
        allowed = decide(rule, person) is None
        assert allowed == (role in rule.roles), (name, role)


def test_coordination_is_for_coordinators_and_operators_only() -> None:
    for name in ("cohort_new", "match", "pairs", "broadcast", "stats", "export", "invite"):
        assert access.COMMANDS[name].roles == access.COORDINATION
    for prefix in ("match", "mok", "mex", "ps", "cs", "iv", "ivx", "co", "st", "ex", "gl"):
        assert access.BUTTONS[prefix] == Rule(access.COORDINATION, Scope.COHORT)


def test_a_cohort_button_is_only_for_that_cohorts_coordinators() -> None:
    rule = access.BUTTONS["match"]
    mine = who(Role.COORDINATOR, cohorts=frozenset({1}))
    assert decide(rule, mine, Subject(cohort_id=1)) is None
    assert decide(rule, mine, Subject(cohort_id=2)) is Refusal.NOT_YOURS
    assert decide(rule, mine, None) is Refusal.GONE
    assert decide(rule, who(Role.OPERATOR), Subject(cohort_id=2)) is None
    for role in (Role.STRANGER, Role.MENTEE, Role.MENTOR):
        assert decide(rule, who(role), Subject(cohort_id=1)) is Refusal.ROLE


def test_an_own_button_is_only_for_its_owners() -> None:
    rule = access.BUTTONS["talk"]
    mentor = who(Role.MENTOR, person=7)
    assert decide(rule, mentor, Subject(1, frozenset({7, 8}))) is None
    assert decide(rule, mentor, Subject(1, frozenset({8, 9}))) is Refusal.NOT_YOURS
    # An operator coordinates every cohort, but another person's pair is not theirs.
    assert decide(access.BUTTONS["cm"], who(Role.OPERATOR), Subject(owners=frozenset({8}))) is (
        Refusal.NOT_YOURS
    )


def test_dialog_roles_come_from_their_yaml() -> None:
    rules = {d.id: access.dialog_rule(d.roles) for d in DIALOGS.values()}
    for coaching in ("grow", "wheel", "dilts", "checkin"):
        assert rules[coaching].roles == access.EVERYONE
    assert rules["cohort_new"].roles == access.COORDINATION
    assert rules["intake_mentee"].roles == {Role.MENTEE}
    assert rules["intake_mentor"].roles == {Role.MENTOR}
    assert not access.may_use_dialog(DIALOGS["intake_mentor"].roles, who(Role.MENTEE))
    assert not access.may_use_dialog(DIALOGS["cohort_new"].roles, who(Role.STRANGER))


@pytest.mark.parametrize(
    "data",
    [
        "",
        "menu",
        "cm:1",
        "cm:x:done",
        "cm:99999999999999999999:done",
        # Rows have 32-bit ids: a larger one names nothing (nor fits a query for it).
        "cm:2147483648:done",
        "d|2147483648|1|ok",
        "cm:-1:done",
        "talk:1:2",
        "d|1|2",
        "d|a|b|c",
        "iv:1:x:y:z",
        "set:tz:Europe/Riga;drop",
        "deleteme:maybe",
        "nothing:at:all",
        "sum:3:maybe",
        "consent:health:1:",
        "consent:mood:perhaps:",
    ],
)
def test_data_that_is_no_button_of_ours_does_not_parse(data: str) -> None:
    assert buttons.parse(data) is None


def test_buttons_round_trip_and_fit_telegrams_limit() -> None:
    samples: list[buttons.Button] = [
        buttons.DialogButton(session=buttons.MAX_ROW_ID, seq=999, action="opt_long_value_16"),
        buttons.DialogButton(session=7, seq=3, action="c:America/Argentina/Buenos_Aires"),
        buttons.DialogButton(session=7, seq=3, action="c:+30"),
        buttons.InviteStep(cohort=12, role="mentee", days=30, uses=100),
        buttons.PollTarget(poll=buttons.MAX_ROW_ID, to="g", target=-(10**13)),
        buttons.Setting(name="tz", value="America/Argentina/Buenos_Aires", stamp="0a1b2c3d"),
        buttons.GroupLink(chat=-(10**13), cohort=buttons.MAX_ROW_ID),
        buttons.CommitmentButton(commitment=5, action="notyet"),
        buttons.ConsentChoice(kind=ConsentKind.WHEEL, given=False, then="wheel"),
        buttons.ConsentChoice(kind=ConsentKind.MOOD, given=True),
    ]
    for sample in samples:
        packed = sample.pack()
        assert len(packed.encode()) <= 64, packed
        assert buttons.parse(packed) == sample
