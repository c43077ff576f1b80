"""Every button the bot shows, as a typed ``CallbackData``: its prefix, its fields with
their bounds, and what it names (for the access policy's scope, bot/domain/access.py).

Telegram sends back whatever a client puts in a callback query, so a press is parsed here
and nowhere else; one that does not parse is answered by the access middleware and reaches
no handler. Some prefixes are written into queued messages (outbox rows) and so keep their
layout across versions: ``cm``, ``req``, ``gl``, ``inv``, ``bcx``.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from bot.domain.access import Kind, Named

# Ids the bot hands out fit in a signed 64-bit column; larger ones cannot name anything.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=0, le=MAX_ID)]
ChatId = Annotated[int, Field(ge=-MAX_ID, le=MAX_ID)]
Word = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_]+$")]
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
    # As bot/domain/engine.py makes them: "c:+30" (a date's shortcut, days ahead) and
    # "c:Europe/Riga" (a time zone) among them.
    action: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:+/\-]+$")]

    def subject(self) -> Named:
        return Kind.SESSION, self.session


class Restart(Button, prefix="restart"):
    dialog: Word


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
    name: Word
    value: SettingValue = ""


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
    mentor: Id


class RequestAnswer(Button, prefix="req"):
    pair: Id
    answer: Literal["yes", "no"]

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
    cohort: Id
    pair: Id | None = None

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class Exclude(Button, prefix="mex"):
    pair: Id
    cohort: Id

    def subject(self) -> Named:
        return Kind.PAIR, self.pair


class PairStatus(Button, prefix="ps"):
    pair: Id
    action: Word

    def subject(self) -> Named:
        return Kind.PAIR, self.pair


class CohortSettings(Button, prefix="cset"):
    cohort: Id

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class CohortSetting(Button, prefix="cs"):
    cohort: Id
    key: Word

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class InviteStep(Button, prefix="iv"):
    """/invite, one choice at a time: the cohort, then the role, days valid and uses."""

    cohort: Id
    role: Word | None = None
    days: Annotated[int, Field(ge=0, le=366)] | None = None
    uses: Annotated[int, Field(ge=0, le=10_000)] | None = None

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class RevokeInvite(Button, prefix="ivx"):
    cohort: Id
    code: Word

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort


class CohortCoordinators(Button, prefix="co"):
    """A cohort's coordinators; with a person, that one's coordination is revoked."""

    cohort: Id
    person: Id | None = None

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
    chat: ChatId
    cohort: Id

    def subject(self) -> Named:
        return Kind.COHORT, self.cohort
