"""What tells which pair a message or a press is about: the person's pairs, what the bot's
message they replied to belongs to, whom a mentor chose to talk to, which pair a form was
started for. Like repositories.py: each function takes the caller's session and never
commits."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Outgoing, Pair, Profile

# Where a mentor's profile keeps the pair each form they started is about, by form.
FORM_PAIRS = "form_pairs"
TALKING_TO = "talking_to"


async def pairs_of(db: AsyncSession, person_id: int, statuses: Collection[str]) -> list[Pair]:
    """The person's pairs, on either side, in these states; oldest first."""
    result = await db.execute(
        select(Pair)
        .where(
            Pair.status.in_(list(statuses)),
            or_(Pair.mentee_id == person_id, Pair.mentor_id == person_id),
        )
        .order_by(Pair.id)
    )
    return list(result.scalars())


async def mentee_pair(db: AsyncSession, mentee_id: int) -> Pair | None:
    """The active pair in which the person is the mentee (a mentee has one at a time)."""
    result = await db.execute(
        select(Pair)
        .where(Pair.mentee_id == mentee_id, Pair.status == "active")
        .order_by(Pair.id)
        .limit(1)
    )
    return result.scalar_one_or_none()


async def message_context(db: AsyncSession, chat_id: int, message_id: int) -> dict[str, Any] | None:
    """The context of the queued message the bot sent into this private chat as
    ``message_id`` (a relayed message names its pair and its sender); ``None`` if the bot
    sent no queued message as that one (a direct reply, or a message of the person's)."""
    found = await db.scalar(
        select(Outgoing.context)
        .where(
            # The person's own rows first (indexed), then the one sent as this message.
            Outgoing.person_id == chat_id,
            Outgoing.chat_id == chat_id,
            Outgoing.sent_message_id == message_id,
        )
        .limit(1)
    )
    return dict(found) if isinstance(found, dict) else None


async def talking_to(db: AsyncSession, person_id: int) -> int | None:
    """The pair a mentor chose in /mentees for their next messages."""
    profile = await db.get(Profile, person_id)
    chosen = profile.data.get(TALKING_TO) if profile is not None else None
    return chosen if isinstance(chosen, int) else None


async def remember_form_pair(db: AsyncSession, person_id: int, form: str, pair_id: int) -> bool:
    """Keep which pair the form the person starts is about, until it is finished; False
    when the person has no profile to keep it in."""
    profile = await db.get(Profile, person_id)
    if profile is None:
        return False
    forms = dict(profile.data.get(FORM_PAIRS) or {})
    forms[form] = pair_id
    profile.data = {**profile.data, FORM_PAIRS: forms}
    return True


async def form_pair_id(db: AsyncSession, person_id: int, form: str) -> int | None:
    """The pair the person's form was started for, if it was kept."""
    profile = await db.get(Profile, person_id)
    forms = profile.data.get(FORM_PAIRS) if profile is not None else None
    chosen = forms.get(form) if isinstance(forms, dict) else None
    return chosen if isinstance(chosen, int) else None


async def forget_form_pair(db: AsyncSession, person_id: int, form: str) -> None:
    profile = await db.get(Profile, person_id)
    forms = profile.data.get(FORM_PAIRS) if profile is not None else None
    if profile is None or not isinstance(forms, dict) or form not in forms:
        return
    rest = {name: pair for name, pair in forms.items() if name != form}
    data = {key: value for key, value in profile.data.items() if key != FORM_PAIRS}
    profile.data = {**data, FORM_PAIRS: rest} if rest else data


async def summary_shared(db: AsyncSession, session_id: int) -> bool:
    """Whether a coaching session's summary already went to the mentor."""
    sent = await db.scalar(
        select(func.count())
        .select_from(Outgoing)
        .where(Outgoing.kind == "summary", Outgoing.context["session"].as_integer() == session_id)
    )
    return bool(sent)
