"""Every button the bot shows, as a typed ``CallbackData``: its prefix, its fields with
their bounds, and what it names (for the access policy's scope, bot/domain/access.py).

Telegram sends back whatever a client puts in a callback query, so a press is parsed here
and nowhere else; one that does not parse is answered by the access middleware and reaches
no handler. Some prefixes are written into queued messages (outbox rows) and so keep their
layout across versions: ``cm``, ``req``, ``gl``, ``inv``, ``bcx``, ``pls``.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from bot.domain.access import Kind, Named
from bot.domain.consent import ConsentKind
from bot.domain.guidance import Tool

# The rows the bot numbers itself (sessions, commitments, pairs, cohorts...) have 32-bit
# ids; people and chats have Telegram's, which fit in a signed 64-bit column. A larger
# number cannot name anything (and would not even fit the query that looks for it).
MAX_ROW_ID = 2**31 - 1
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=0, le=MAX_ROW_ID)]
PersonId = Annotated[int, Field(ge=0, le=MAX_ID)]
ChatId = Annotated[int, Field(ge=-MAX_ID, le=MAX_ID)]
Word = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_]+$")]
# An invite link's code (the characters of a deep link).
Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
# A page of a long list (a proposal, /pairs).
Page = Annotated[int, Field(ge=0, le=9999)]
# Which pairs /pairs shows: all running ones, active, paused, without contact for the
# cohort's days, or whose mentee's latest mood was low.
PairFilter = Literal["all", "active", "paused", "quiet", "low", "trouble"]
# A setting's value: a number, a word or a time zone name (Europe/Riga, Etc/GMT+2).
SettingValue = Annotated[str, Field(max_length=40, pattern=r"^[A-Za-z0-9_+\-/]*$")]


class Button(CallbackData, prefix="_"):
    """A button kind. ``subject`` is what a press names, if anything."""

    kinds: ClassVar[dict[str, type[Button]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        Button.kinds[cls.__prefix__] = cls

    def subject(self) -> Named | None:
        return None


def parse(data: str) -> Button | None:
    """The button a press's data stands for, or ``None`` if it is no button of ours."""
    for separator in (":", "|"):
        kind = Button.kinds.get(data.split(separator, 1)[0])
        if kind is not None and kind.__separator__ == separator:
            try:
                return kind.unpack(data)
            except (TypeError, ValueError):
                return None
    return None


# Everyone ---------------------------------------------------------------------------


class DialogButton(Button, prefix="d", sep="|"):
    session: Id
    seq: Annotated[int, Field(ge=0, le=MAX_ID)]
    # c:<choice>, t:<choice>, ok, back...; a choice can be a date shortcut (c:+7) or a time
    # zone (c:Europe/Riga, c:Etc/GMT+2).
    action: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:+/\-]+$")]

    def subject(self) -> Named:
        return Kind.SESSION, self.session


class Restart(Button, prefix="restart"):
    """Start a dialog afresh: the session it was shown for, which must still be the one to
    pick up (a second tap finds a newer one and changes nothing)."""

    dialog: Word
    session: Id


class Menu(Button, prefix="menu"):
    choice: Word


class Language(Button, prefix="lang"):
    code: Word


class DeleteMe(Button, prefix="deleteme"):
    answer: Literal["yes", "no"]


class HistoryRecord(Button, prefix="hist"):
    session: Id

    def subject(self) -> Named:
        return Kind.SESSION, self.session


class HistoryWheel(Button, prefix="histw"):
    pass


class Setting(Button, prefix="set"):
    """One setting changed; ``stamp`` sums up the settings as the message showed them, so a
    press on an older message (or a second tap) changes nothing."""

    name: Word
    value: SettingValue = ""
    stamp: Annotated[str, Field(max_length=16, pattern=r"^[0-9a-f]*$")] = ""


class ConsentChoice(Button, prefix="consent"):
    """A consent given or not (bot/domain/consent.py). With ``then``, the answer to the
    question a dialog asked before it began, which starts that dialog; a second tap finds
    it answered. Without, a change in /settings."""

    kind: ConsentKind
    given: bool
    then: Word | None = None


class CommitmentButton(Button, prefix="cm"):
    commitment: Id
    action: Word

    def subject(self) -> Named:
        return Kind.COMMITMENT, self.commitment


class Invitation(Button, prefix="inv"):
    """A scheduled invitation (the check-in, the Wheel): its code names the occurrence."""

    kind: Word
    code: Word


# Mentoring --------------------------------------------------------------------------


class Talk(Button, prefix="talk"):
    pair: Id

    def subject(self) -> Named:
        return Kind.PAIR, self.pair


class WhichMentee(Button, prefix="who"):
    """A mentor's answer to "which mentee is this about?": the action and its pair."""

    action: Word
    pair: Id

    def subject(self) -> Named:
        return Kind.PAIR, self.pair


class ShareMode(Button, prefix="share"):
    mode: Word


class SummaryChoice(Button, prefix="sum"):
    session: Id
    send: bool

    def subject(self) -> Named:
        return Kind.SESSION, self.session


class AskMentor(Button, prefix="ask"):
    mentor: PersonId


class RequestAnswer(Button, prefix="req"):
    pair: Id
    answer: Literal["yes", "no"]

    def subject(self) -> Named:
        return Kind.PAIR, self.pair


class PulseStart(Button, prefix="pls"):
    """The relationship pulse's invitation: the pair and the round it asks about."""

    pair: Id
    round: Id

    def subject(self) -> Named:
        return Kind.PAIR, self.pair


class MeetingButton(Button, prefix="mt"):
    action: Literal["new", "pair", "cancel"]
    number: Id

    def subject(self) -> Named:
        return (Kind.MEETING if self.action == "cancel" else Kind.PAIR), self.number


# Coordination -----------------------------------------------------------------------


class RunMatching(Button, prefix="match"):
    cohort: Id

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class Approve(Button, prefix="mok"):
    """The whole proposal approved, or one pair of it; ``page`` is the proposal's page the
    press was on, shown again after it."""

    cohort: Id
    pair: Id | None = None
    page: Page = 0

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class ProposalPage(Button, prefix="mpg"):
    """A page of a cohort's proposal (its pairs as they are proposed now)."""

    cohort: Id
    page: Page

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class RemindIntake(Button, prefix="mrem"):
    """A reminder to those of a cohort who have not finished the intake (once each)."""

    cohort: Id

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class Exclude(Button, prefix="mex"):
    pair: Id
    cohort: Id

    def subject(self) -> Named:
        return Kind.PAIR, self.pair


class PairsView(Button, prefix="pv"):
    """/pairs as one message: the cohort shown (0: all the presser coordinates; the
    handler shows only theirs), which pairs, and the page."""

    cohort: Id = 0
    show: PairFilter = "all"
    page: Page = 0


class PairStatus(Button, prefix="ps"):
    """A pair paused, resumed, ended or reassigned from /pairs, with the view it was
    pressed in (shown again after it)."""

    pair: Id
    action: Word
    cohort: Id = 0
    show: PairFilter = "all"
    page: Page = 0

    def subject(self) -> Named:
        return Kind.PAIR, self.pair


class CohortSettings(Button, prefix="cset"):
    cohort: Id

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class CohortSetting(Button, prefix="cs"):
    """A cohort setting, moved to the value it names (a repeated press changes nothing)."""

    cohort: Id
    key: Word
    value: Word

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class InviteStep(Button, prefix="iv"):
    """/invite, one choice at a time: the cohort, then the role, days valid and uses. The
    last choice carries the code of the link it makes (a repeated press makes no other);
    a coordinator link has neither days nor uses to choose."""

    cohort: Id
    role: Word | None = None
    days: Annotated[int, Field(ge=0, le=366)] | None = None
    uses: Annotated[int, Field(ge=0, le=10_000)] | None = None
    code: Code | None = None

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class RevokeInvite(Button, prefix="ivx"):
    cohort: Id
    code: Code

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class CohortCoordinators(Button, prefix="co"):
    """A cohort's coordinators; with a person, that one's coordination is revoked."""

    cohort: Id
    person: PersonId | None = None

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class Stats(Button, prefix="st"):
    cohort: Id

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class Export(Button, prefix="ex"):
    cohort: Id

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class Leaderboard(Button, prefix="lb"):
    cohort: Id

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class PollTarget(Button, prefix="pto"):
    poll: Id
    to: Literal["c", "g"]
    target: ChatId

    def subject(self) -> Named:
        return Kind.POLL, self.poll


class PollResults(Button, prefix="pres"):
    poll: Id

    def subject(self) -> Named:
        return Kind.POLL, self.poll


class PollAnonymity(Button, prefix="pan"):
    """A draft poll made anonymous (1) or named (0)."""

    poll: Id
    anonymous: bool

    def subject(self) -> Named:
        return Kind.POLL, self.poll


class GameOption(Button, prefix="gmo"):
    """A draft game's setting moved on: each question's time (t), who sees the board (b)."""

    game: Id
    what: Literal["t", "b"]

    def subject(self) -> Named:
        return Kind.GAME, self.game


class GameStart(Button, prefix="gms"):
    """A draft game sent to a cohort's members."""

    game: Id
    cohort: Id

    def subject(self) -> Named:
        return Kind.GAME, self.game


class Guide(Button, prefix="gd"):
    """The kit's advice for mentors on one tool."""

    tool: Tool


class BroadcastAudience(Button, prefix="bc"):
    """bc:<draft>:<step>:<value>:<detail>, one choice of the audience at a time."""

    draft: Id
    step: Word
    value: Annotated[str, Field(max_length=24, pattern=r"^[A-Za-z0-9_]*$")] = ""
    detail: Annotated[str, Field(max_length=24, pattern=r"^[A-Za-z0-9_]*$")] = ""

    def subject(self) -> Named:
        return Kind.BROADCAST, self.draft


class BroadcastSend(Button, prefix="bcs"):
    draft: Id
    action: Word
    when: Annotated[str, Field(max_length=24, pattern=r"^[A-Za-z0-9_]*$")] = ""

    def subject(self) -> Named:
        return Kind.BROADCAST, self.draft


class BroadcastCancel(Button, prefix="bcx"):
    draft: Id

    def subject(self) -> Named:
        return Kind.BROADCAST, self.draft


class GroupLink(Button, prefix="gl"):
    """Link a Telegram group to a cohort; cohort 0 unlinks it (from the cohort it is in)."""

    chat: ChatId
    cohort: Id

    def subject(self) -> Named:
        return (Kind.COHORT, self.cohort) if self.cohort else (Kind.GROUP, self.chat)
