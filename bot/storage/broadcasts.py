"""Queries and writes for broadcasts and Telegram groups. Like repositories.py: each
function takes the caller's session and never commits."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import broadcast as b
from bot.domain.cohorts import MembershipStatus, Role
from bot.domain.pairs import RUNNING, PairStatus
from bot.storage.models import (
    Broadcast,
    CohortCoordinator,
    Membership,
    Outgoing,
    Pair,
    Person,
    TelegramGroup,
)

MATCHED = RUNNING


async def audience_people(
    db: AsyncSession, audience: dict[str, Any], cohort_ids: Collection[int], now: datetime
) -> list[Person]:
    """The people an audience names, within these cohorts, each once."""
    kind = audience.get("kind")
    if audience.get("cohort") is not None:
        cohort_ids = [c for c in cohort_ids if c == audience["cohort"]]
    if not cohort_ids or kind == b.GROUPS:
        return []
    if kind == b.QUIET_PAIRS:
        since = now - timedelta(days=int(audience.get("days", 21)))
        contact = func.coalesce(Pair.last_contact_at, Pair.decided_at, Pair.created_at)
        quiet = select(Pair.mentee_id, Pair.mentor_id).where(
            Pair.cohort_id.in_(cohort_ids), Pair.status == PairStatus.ACTIVE, contact < since
        )
        ids = {i for row in (await db.execute(quiet)).all() for i in row}
        query = select(Person).where(Person.id.in_(ids))
    else:
        query = (
            select(Person)
            .join(Membership, Membership.person_id == Person.id)
            .where(Membership.cohort_id.in_(cohort_ids), Membership.status != MembershipStatus.LEFT)
        )
        role = audience.get("role")
        if kind == b.UNMATCHED:
            role = Role.MENTEE
            paired = select(Pair.id).where(
                Pair.mentee_id == Person.id,
                Pair.cohort_id == Membership.cohort_id,
                Pair.status.in_(MATCHED),
            )
            query = query.where(~paired.exists())
        if role in b.ROLES:
            query = query.where(Membership.role == role)
    people = (await db.execute(query.order_by(Person.id))).scalars().unique()
    return list({p.id: p for p in people}.values())


async def audience_groups(
    db: AsyncSession, audience: dict[str, Any], cohort_ids: Collection[int]
) -> list[TelegramGroup]:
    if audience.get("kind") != b.GROUPS:
        return []
    if audience.get("cohort") is not None:
        cohort_ids = [c for c in cohort_ids if c == audience["cohort"]]
    result = await db.execute(
        select(TelegramGroup)
        .where(TelegramGroup.cohort_id.in_(cohort_ids), TelegramGroup.removed_at.is_(None))
        .order_by(TelegramGroup.chat_id)
    )
    return list(result.scalars())


async def add_recipients(db: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """One outbox row per recipient, in bulk."""
    for start in range(0, len(rows), 1000):
        await db.execute(insert(Outgoing), list(rows[start : start + 1000]))


async def counts(db: AsyncSession, broadcast_id: int) -> dict[str, int]:
    result = await db.execute(
        select(Outgoing.status, func.count())
        .where(Outgoing.broadcast_id == broadcast_id)
        .group_by(Outgoing.status)
    )
    return {status: int(n) for status, n in result.all()}


async def recently_sent(
    db: AsyncSession, broadcast_id: int, since: datetime
) -> tuple[int, datetime | None]:
    """How many of the broadcast's rows were sent since ``since``, and when the first of
    them was: the rate it really goes at, whichever processes send it."""
    result = await db.execute(
        select(func.count(), func.min(Outgoing.sent_at)).where(
            Outgoing.broadcast_id == broadcast_id,
            Outgoing.status == "sent",
            Outgoing.sent_at >= since,
        )
    )
    count, first = result.one()
    return int(count), first


async def oldest_claim(db: AsyncSession, broadcast_id: int) -> datetime | None:
    """When the longest-held claim on the broadcast's rows being sent was made (or last
    renewed)."""
    return cast(
        datetime | None,
        await db.scalar(
            select(func.min(Outgoing.claimed_at)).where(
                Outgoing.broadcast_id == broadcast_id, Outgoing.status == "sending"
            )
        ),
    )


async def cancel_pending(db: AsyncSession, broadcast_id: int) -> int:
    result = await db.execute(
        update(Outgoing)
        .where(Outgoing.broadcast_id == broadcast_id, Outgoing.status == "pending")
        .values(status="cancelled")
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def undelivered(db: AsyncSession, broadcast_id: int) -> list[tuple[int, str, str, str]]:
    """(chat id, name, status, reason) of each recipient it did not reach."""
    result = await db.execute(
        select(Outgoing.chat_id, Person.first_name, Outgoing.status, Outgoing.error)
        .outerjoin(Person, Person.id == Outgoing.person_id)
        .where(
            Outgoing.broadcast_id == broadcast_id,
            Outgoing.status.in_(("unreachable", "failed")),
        )
        .order_by(Outgoing.chat_id)
    )
    return [(int(c), name or "", status, error or "") for c, name, status, error in result.all()]


async def set_status_message(db: AsyncSession, broadcast_id: int, message_id: int) -> None:
    """The message that shows how a broadcast goes, once it is sent."""
    await db.execute(
        update(Broadcast).where(Broadcast.id == broadcast_id).values(status_message_id=message_id)
    )


async def drafting(db: AsyncSession) -> list[int]:
    """The coordinators who have a broadcast draft."""
    result = await db.scalars(
        select(Broadcast.coordinator_id).where(Broadcast.status == "draft").distinct()
    )
    return list(result)


async def draft_of(db: AsyncSession, coordinator_id: int) -> Broadcast | None:
    """The coordinator's broadcast being written, if any."""
    found: Broadcast | None = await db.scalar(
        select(Broadcast)
        .where(Broadcast.coordinator_id == coordinator_id, Broadcast.status == "draft")
        .order_by(Broadcast.id.desc())
        .limit(1)
    )
    return found


async def running(db: AsyncSession) -> list[Broadcast]:
    """Broadcasts scheduled, going out, or ended without their report yet."""
    result = await db.execute(
        select(Broadcast)
        .where(
            or_(
                Broadcast.status.in_(("scheduled", "sending")),
                and_(Broadcast.status == "cancelled", Broadcast.confirmed_at.is_not(None)),
            ),
            Broadcast.finished_at.is_(None),
        )
        .order_by(Broadcast.id)
    )
    return list(result.scalars())


async def claim_report(db: AsyncSession, broadcast_id: int, now: datetime) -> bool:
    """Mark a finished broadcast reported; False if someone else already did."""
    result = await db.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.finished_at.is_(None))
        .values(finished_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


# Telegram groups -------------------------------------------------------------


async def group_added(
    db: AsyncSession, chat_id: int, title: str, added_by: int | None, now: datetime
) -> TelegramGroup:
    group = await db.get(TelegramGroup, chat_id)
    if group is None:
        group = TelegramGroup(chat_id=chat_id, title=title[:256], added_by=added_by, added_at=now)
        db.add(group)
    else:
        group.title, group.added_by, group.added_at = title[:256], added_by, now
        group.removed_at = None
    return group


async def group_removed(db: AsyncSession, chat_id: int, now: datetime) -> None:
    await db.execute(
        update(TelegramGroup)
        .where(TelegramGroup.chat_id == chat_id, TelegramGroup.removed_at.is_(None))
        .values(removed_at=now)
    )


async def group_moved(db: AsyncSession, old_id: int, new_id: int, now: datetime) -> None:
    """Telegram upgraded a group to a supergroup, which has a new chat id: the group keeps
    its cohort under the new id, and what waits to be sent to it goes there."""
    old = await db.get(TelegramGroup, old_id)
    if old is not None and await db.get(TelegramGroup, new_id) is None:
        db.add(
            TelegramGroup(
                chat_id=new_id,
                title=old.title,
                cohort_id=old.cohort_id,
                added_by=old.added_by,
                added_at=old.added_at,
                removed_at=old.removed_at,
            )
        )
    await group_removed(db, old_id, now)
    await db.execute(
        update(Outgoing)
        .where(Outgoing.chat_id == old_id, Outgoing.status == "pending")
        .values(chat_id=new_id)
    )


async def visible_groups(db: AsyncSession, cohort_ids: Collection[int]) -> list[TelegramGroup]:
    """Registered groups linked to one of these cohorts, or to none yet."""
    result = await db.execute(
        select(TelegramGroup)
        .where(
            TelegramGroup.removed_at.is_(None),
            or_(TelegramGroup.cohort_id.is_(None), TelegramGroup.cohort_id.in_(cohort_ids)),
        )
        .order_by(TelegramGroup.added_at, TelegramGroup.chat_id)
    )
    return list(result.scalars())


async def coordinators(db: AsyncSession, also: Collection[int]) -> list[Person]:
    result = await db.execute(
        select(Person).where(
            or_(Person.id.in_(select(CohortCoordinator.person_id)), Person.id.in_(list(also)))
        )
    )
    return list(result.scalars())
