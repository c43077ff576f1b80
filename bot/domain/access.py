"""Who may do what: the one access policy.

Every command, every dialog start and every button kind has a rule here: the roles that
may use it, and, for an action that names something (a cohort, a pair, a commitment...),
whether the person must coordinate the cohort it belongs to or be one of its owners. The
adapter asks ``decide`` before any handler runs (``bot/telegram/access.py``) and the dialog
service asks ``may_use_dialog`` again when a form is finished. Pure: no aiogram, no SQL.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass


class Role(enum.StrEnum):
    STRANGER = "stranger"
    MENTEE = "mentee"
    MENTOR = "mentor"
    # Coordinates at least one cohort; what names a cohort is checked against which.
    COORDINATOR = "coordinator"
    # Runs the bot (COORDINATOR_IDS): may do everything a coordinator may, in every cohort.
    OPERATOR = "operator"


class Scope(enum.StrEnum):
    # The action names nothing, or what it names is checked by its own service.
    ANY = "any"
    # It names a cohort or something of one: the person coordinates that cohort.
    COHORT = "cohort"
    # It names something of the person's own (their pair, commitment, session, draft).
    OWN = "own"


class Refusal(enum.StrEnum):
    ROLE = "role"  # the person's roles do not include one the rule names
    NOT_YOURS = "not_yours"  # it names something that is not theirs
    GONE = "gone"  # it names something that no longer exists


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    scope: Scope = Scope.ANY


@dataclass(frozen=True)
class Standing:
    """Who a person is in the programme, as the policy sees them."""

    person_id: int
    roles: frozenset[Role]
    # The cohorts this person coordinates.
    cohorts: frozenset[int] = frozenset()

    @property
    def operator(self) -> bool:
        return Role.OPERATOR in self.roles

    def coordinates(self, cohort_id: int) -> bool:
        return self.operator or cohort_id in self.cohorts


class Kind(enum.StrEnum):
    """What an action can name."""

    COHORT = "cohort"
    PAIR = "pair"
    SESSION = "session"  # a dialog session
    COMMITMENT = "commitment"
    MEETING = "meeting"
    POLL = "poll"
    GAME = "game"  # a quiz game
    BROADCAST = "broadcast"
    GROUP = "group"  # a Telegram group: it belongs to the cohort it is linked to


Named = tuple[Kind, int]


@dataclass(frozen=True)
class Subject:
    """What an action names, resolved from the database: the cohort it belongs to and the
    people it is theirs. ``None`` for something that does not exist."""

    cohort_id: int | None = None
    owners: frozenset[int] = frozenset()


def standing(
    person_id: int,
    member_roles: Collection[str],
    coordinated: Collection[int],
    operators: Collection[int],
) -> Standing:
    """A person's standing from their memberships' roles, the cohorts they coordinate and
    the operators' ids."""
    roles = {Role(r) for r in member_roles if r in (Role.MENTEE, Role.MENTOR)}
    if coordinated:
        roles.add(Role.COORDINATOR)
    if person_id in operators:
        roles.add(Role.OPERATOR)
    if not roles:
        roles.add(Role.STRANGER)
    return Standing(person_id, frozenset(roles), frozenset(coordinated))


EVERYONE = frozenset(Role)
IN_PROGRAMME = frozenset({Role.MENTEE, Role.MENTOR})
MENTEES = frozenset({Role.MENTEE})
MENTORS = frozenset({Role.MENTOR})
COORDINATION = frozenset({Role.COORDINATOR, Role.OPERATOR})
OPERATORS = frozenset({Role.OPERATOR})
GUIDED = frozenset({Role.MENTOR, Role.COORDINATOR, Role.OPERATOR})


def _rule(roles: frozenset[Role], scope: Scope = Scope.ANY) -> Rule:
    return Rule(roles, scope)


# Commands other than the coaching dialogs' (whose rules come from their YAML).
COMMANDS: Mapping[str, Rule] = {
    "start": _rule(EVERYONE),
    "help": _rule(EVERYONE),
    "privacy": _rule(EVERYONE),
    "language": _rule(EVERYONE),
    "mydata": _rule(EVERYONE),
    "deleteme": _rule(EVERYONE),
    "settings": _rule(EVERYONE),
    "timezone": _rule(EVERYONE),
    "history": _rule(EVERYONE),
    "commitments": _rule(EVERYONE),
    "cancel": _rule(EVERYONE),
    "continue": _rule(EVERYONE),
    "mentees": _rule(MENTORS),
    "pause_mentoring": _rule(MENTORS),
    "mentors": _rule(MENTEES),
    "share": _rule(MENTEES),
    "end": _rule(IN_PROGRAMME),
    "report": _rule(IN_PROGRAMME),
    "feedback": _rule(IN_PROGRAMME),
    "contact": _rule(IN_PROGRAMME),
    "meet": _rule(IN_PROGRAMME),
    "cohort_new": _rule(COORDINATION),
    "cohorts": _rule(COORDINATION),
    "invite": _rule(COORDINATION),
    "match": _rule(COORDINATION),
    "pairs": _rule(COORDINATION),
    "cohort_settings": _rule(COORDINATION),
    "broadcast": _rule(COORDINATION),
    "groups": _rule(COORDINATION),
    "poll": _rule(COORDINATION),
    "quiz": _rule(COORDINATION),
    "leaderboard": _rule(COORDINATION),
    "game": _rule(COORDINATION),
    # The kit's advice on each tool, for those who use it with mentees and who run it.
    "guide": _rule(GUIDED),
    "stats": _rule(COORDINATION),
    "export": _rule(COORDINATION),
    "coordinators": _rule(COORDINATION),
    "dashboard": _rule(COORDINATION),
}

# Buttons, by their callback data's prefix (bot/telegram/buttons.py).
BUTTONS: Mapping[str, Rule] = {
    # Everyone's own
    # A dialog's question: the dialog service looks the session up among the presser's own
    # (a lookup less on the busiest path).
    "d": _rule(EVERYONE),
    "restart": _rule(EVERYONE),  # start a dialog afresh: the dialog's own rule applies too
    "menu": _rule(EVERYONE),  # the main menu: a dialog's own rule applies too
    "lang": _rule(EVERYONE),
    "deleteme": _rule(EVERYONE),
    "hist": _rule(EVERYONE, Scope.OWN),
    "histw": _rule(EVERYONE),
    "set": _rule(EVERYONE),
    "consent": _rule(EVERYONE),  # the person's own consent; a dialog's own rule applies too
    "cm": _rule(EVERYONE, Scope.OWN),  # a commitment's follow-up
    "inv": _rule(EVERYONE),  # a scheduled invitation; its code is the person's own
    # Mentoring
    "talk": _rule(MENTORS, Scope.OWN),
    "share": _rule(MENTEES),
    "sum": _rule(IN_PROGRAMME, Scope.OWN),
    "ask": _rule(MENTEES),  # the mentor must be one suggested to them: checked by matching
    "req": _rule(MENTORS, Scope.OWN),
    "mt": _rule(IN_PROGRAMME, Scope.OWN),
    "pls": _rule(IN_PROGRAMME, Scope.OWN),  # the relationship pulse of their own pair
    "who": _rule(MENTORS, Scope.OWN),  # which mentee a mentor's action is about
    # Coordination
    "match": _rule(COORDINATION, Scope.COHORT),
    "mok": _rule(COORDINATION, Scope.COHORT),
    "mex": _rule(COORDINATION, Scope.COHORT),
    "mpg": _rule(COORDINATION, Scope.COHORT),
    "mrem": _rule(COORDINATION, Scope.COHORT),
    "pv": _rule(COORDINATION),  # the cohort it names is looked up among the presser's own
    "ps": _rule(COORDINATION, Scope.COHORT),
    "cset": _rule(COORDINATION, Scope.COHORT),
    "cs": _rule(COORDINATION, Scope.COHORT),
    "iv": _rule(COORDINATION, Scope.COHORT),
    "ivx": _rule(COORDINATION, Scope.COHORT),
    "co": _rule(COORDINATION, Scope.COHORT),
    "st": _rule(COORDINATION, Scope.COHORT),
    "ex": _rule(COORDINATION, Scope.COHORT),
    "lb": _rule(COORDINATION, Scope.COHORT),
    "pto": _rule(COORDINATION, Scope.OWN),
    "pres": _rule(COORDINATION, Scope.OWN),
    "bc": _rule(COORDINATION, Scope.OWN),
    "bcs": _rule(COORDINATION, Scope.OWN),
    "bcx": _rule(COORDINATION, Scope.OWN),
    "gl": _rule(COORDINATION, Scope.COHORT),
    "pan": _rule(COORDINATION, Scope.OWN),
    "gmo": _rule(COORDINATION, Scope.OWN),
    "gms": _rule(COORDINATION, Scope.OWN),  # the cohort is looked up among the presser's own
    "gd": _rule(GUIDED),
}


# The dashboard's pages (bot/dashboard), by what their URL names.
DASHBOARD: Mapping[str, Rule] = {
    "cohorts": _rule(COORDINATION),  # the cohorts they run, and a new one
    "cohort": _rule(COORDINATION, Scope.COHORT),  # a cohort's pages and changes
    "pair": _rule(COORDINATION, Scope.COHORT),  # a pair of a cohort they run
    "broadcast": _rule(COORDINATION, Scope.OWN),  # a broadcast they sent
}


def decide(rule: Rule, who: Standing, subject: Subject | None = None) -> Refusal | None:
    """``None`` when the action is allowed; otherwise why not. ``subject`` is what the
    action names, for a rule with a scope (``None`` there: it no longer exists)."""
    if not (rule.roles & who.roles):
        return Refusal.ROLE
    if rule.scope is Scope.ANY:
        return None
    if subject is None:
        return Refusal.GONE
    if rule.scope is Scope.COHORT:
        if subject.cohort_id is None or not who.coordinates(subject.cohort_id):
            return Refusal.NOT_YOURS
        return None
    return None if who.person_id in subject.owners else Refusal.NOT_YOURS


def dialog_rule(roles: Collection[str]) -> Rule:
    """The rule of a dialog, from the roles its YAML names ("everyone" for all)."""
    if "everyone" in roles:
        return Rule(EVERYONE)
    return Rule(frozenset(Role(r) for r in roles))


def may_use_dialog(roles: Collection[str], who: Standing) -> bool:
    return decide(dialog_rule(roles), who) is None
