"""Which pair a person's message or press is about.

A mentor can have several mentees, so what a mentor does names its pair: the bot's message
they reply to (a relayed message, an introduction, a nudge: each is an outbox row that
knows its pair), a pair chosen with a button, or the mentee chosen in /mentees. With none
of these and several pairs, the mentor is asked which mentee; it is never simply the
latest pair. A mentee has one pair at a time, so for them it is that one.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import pair_context as store
from bot.storage.models import Pair
from bot.storage.personal import ERASED_PAIR

ACTIVE = ("active",)
# Ending or reporting a pair works while a coordinator has paused it too.
OPEN = ("active", "paused")


@dataclass(frozen=True)
class Naming:
    """What a message or a press says about its pair."""

    # The Telegram id of the bot's message it replies to.
    reply_to: int | None = None
    # A pair chosen with a button.
    pair: int | None = None


class Found(enum.Enum):
    PAIR = "pair"  # this pair
    CHOOSE = "choose"  # several pairs and nothing names one: ask which
    NONE = "none"  # the person has no pair
    GONE = "gone"  # it names a pair that is not (any longer) one of theirs
    # A mentee of the mentor's left the programme (erased): until the mentor names a pair
    # again (a reply, /mentees), nothing else does, so what was meant for the one who left
    # reaches nobody else.
    LEFT = "left"


@dataclass(frozen=True)
class PairContext:
    found: Found
    pair: Pair | None = None
    # The person's pairs considered (to choose from, when ``found`` is CHOOSE).
    pairs: tuple[Pair, ...] = ()


def which(
    person_id: int,
    pairs: Sequence[Pair],
    chosen: int | None = None,
    replied: Mapping[str, Any] | None = None,
    talking_to: int | None = None,
) -> PairContext:
    """The rule. ``pairs``: the person's pairs that the action can be about; ``chosen``: a
    pair a button names; ``replied``: the context of the bot's message replied to;
    ``talking_to``: the pair a mentor chose in /mentees (``ERASED_PAIR`` once a mentee left:
    LEFT). What names a pair decides, and a pair named that is not among ``pairs`` is GONE
    (never another pair instead)."""
    among = tuple(pairs)
    if not among:
        return PairContext(Found.NONE)
    by_id = {pair.id: pair for pair in among}
    if chosen is not None:
        pair = by_id.get(chosen)
        return PairContext(Found.PAIR if pair is not None else Found.GONE, pair, among)
    if replied is not None:
        names, pair = _replied_pair(person_id, among, replied)
        if names:
            found = Found.PAIR if pair is not None else Found.GONE
            return PairContext(found, pair, among)
    if talking_to == ERASED_PAIR:
        return PairContext(Found.LEFT, None, among)
    if talking_to is not None and talking_to in by_id:
        return PairContext(Found.PAIR, by_id[talking_to], among)
    # Nothing names one: the only pair; a paused one counts only without an active one.
    first = [p for p in among if p.status == "active"] or list(among)
    if len(first) == 1:
        return PairContext(Found.PAIR, first[0], among)
    return PairContext(Found.CHOOSE, None, among)


def _replied_pair(
    person_id: int, pairs: Sequence[Pair], replied: Mapping[str, Any]
) -> tuple[bool, Pair | None]:
    """Whether the bot's message replied to names a pair, and which of ``pairs`` it is."""
    named = replied.get("pair")
    if isinstance(named, int):
        return True, next((p for p in pairs if p.id == named), None)
    sender = replied.get("from")
    if isinstance(sender, int) and sender != person_id:
        # A shared summary names who shared it: the pair with them.
        return True, next((p for p in pairs if sender in (p.mentee_id, p.mentor_id)), None)
    return False, None


async def resolve(
    db: AsyncSession,
    person_id: int,
    naming: Naming = Naming(),
    statuses: Collection[str] = ACTIVE,
) -> PairContext:
    """Which of the person's pairs in ``statuses`` this message or press is about."""
    pairs = await store.pairs_of(db, person_id, statuses)
    if not pairs:
        return PairContext(Found.NONE)
    replied = None
    if naming.pair is None and naming.reply_to is not None:
        replied = await store.message_context(db, person_id, naming.reply_to)
    talking_to = None
    if naming.pair is None:
        talking_to = await store.talking_to(db, person_id)
    return which(person_id, pairs, naming.pair, replied, talking_to)


async def mentee_pair(db: AsyncSession, mentee_id: int) -> Pair | None:
    """A mentee's active pair."""
    return await store.mentee_pair(db, mentee_id)


async def begin_form(db: AsyncSession, person_id: int, form: str, pair: Pair) -> None:
    """The person starts a form (ending the pair, reporting a problem) about this pair: it
    is kept until the form is finished."""
    await store.remember_form_pair(db, person_id, form, pair.id)


async def form_started_for(db: AsyncSession, person_id: int, form: str) -> int | None:
    """The pair the person's form of this kind was last started for, while unfinished."""
    return await store.form_pair_id(db, person_id, form)


async def finish_form(db: AsyncSession, person_id: int, form: str) -> Pair | None:
    """The pair a finished form is about, if it is still open. A form started before its
    pair was kept (or by someone without a profile) is about the person's only pair, or
    about none when they have several."""
    kept = await store.form_pair_id(db, person_id, form)
    await store.forget_form_pair(db, person_id, form)
    if kept is not None:
        return (await resolve(db, person_id, Naming(pair=kept), OPEN)).pair
    pairs = await store.pairs_of(db, person_id, OPEN)
    return pairs[0] if len(pairs) == 1 else None
