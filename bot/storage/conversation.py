"""Queries and writes for what passes between mentor and mentee: relayed messages,
nudges, shared summaries. Like repositories.py: each function takes the caller's session
and never commits."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Outgoing

RELAY = "relay"
SUMMARY = "summary"
NUDGE_KINDS = ("nudge", "nudge_alert")


async def waiting_nudges(db: AsyncSession, pair_id: int) -> int:
    """How many nudges (and alerts) about a pair are still to be sent."""
    found = await db.scalar(
        select(func.count())
        .select_from(Outgoing)
        .where(
            Outgoing.status == "pending",
            Outgoing.kind.in_(NUDGE_KINDS),
            Outgoing.context["pair"].as_integer() == pair_id,
        )
    )
    return int(found or 0)


async def cancel_nudges(db: AsyncSession, pair_id: int) -> None:
    """Nudges (and alerts) about a pair not yet sent are not sent."""
    await db.execute(
        update(Outgoing)
        .where(
            Outgoing.status == "pending",
            Outgoing.kind.in_(NUDGE_KINDS),
            Outgoing.context["pair"].as_integer() == pair_id,
        )
        .values(status="cancelled")
    )


async def sent_as(db: AsyncSession, chat_id: int, message_id: int) -> Outgoing | None:
    """The outbox row that became this message in this chat."""
    result = await db.execute(
        select(Outgoing).where(Outgoing.chat_id == chat_id, Outgoing.sent_message_id == message_id)
    )
    return result.scalars().first()


async def was_shared(db: AsyncSession, session_id: int) -> bool:
    """Whether a coaching session's summary was queued for a mentor."""
    found = await db.scalar(
        select(func.count())
        .select_from(Outgoing)
        .where(
            Outgoing.kind == SUMMARY,
            Outgoing.context["session"].as_integer() == session_id,
        )
    )
    return bool(found)
