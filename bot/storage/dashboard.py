"""Queries for the coordinators' dashboard: its keys (sign-in links and sessions) and the
list of a cohort's people. Like repositories.py: each function takes the caller's session
and never commits."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.pairs import HOLDING
from bot.storage.models import CohortCoordinator, DashboardKey, Membership, Pair, Person

LINK, SESSION = "link", "session"


def add_key(
    db: AsyncSession, key_hash: str, kind: str, person_id: int, now: datetime, expires: datetime
) -> None:
    db.add(
        DashboardKey(
            key_hash=key_hash, kind=kind, person_id=person_id, created_at=now, expires_at=expires
        )
    )


async def spend_link(db: AsyncSession, key_hash: str, now: datetime) -> int | None:
    """The person a sign-in link is for, once: the link is marked used in the same
    statement, so a second use (or two at once) finds nothing. ``None``: unknown, used or
    expired."""
    result = await db.execute(
        update(DashboardKey)
        .where(
            DashboardKey.key_hash == key_hash,
            DashboardKey.kind == LINK,
            DashboardKey.used_at.is_(None),
            DashboardKey.expires_at > now,
        )
        .values(used_at=now)
        .returning(DashboardKey.person_id)
    )
    return result.scalar_one_or_none()


async def session_person(db: AsyncSession, key_hash: str, now: datetime) -> int | None:
    """Whose session this is, while it lasts."""
    found: int | None = await db.scalar(
        select(DashboardKey.person_id).where(
            DashboardKey.key_hash == key_hash,
            DashboardKey.kind == SESSION,
            DashboardKey.expires_at > now,
        )
    )
    return found


async def end_session(db: AsyncSession, key_hash: str) -> None:
    await db.execute(
        delete(DashboardKey).where(DashboardKey.key_hash == key_hash, DashboardKey.kind == SESSION)
    )


async def drop_expired(db: AsyncSession, now: datetime) -> None:
    await db.execute(delete(DashboardKey).where(DashboardKey.expires_at <= now))


@dataclass(frozen=True)
class Member:
    """A person of a cohort as the dashboard's list of people shows them."""

    person: Person
    role: str
    status: str
    joined_at: datetime
    # Their pairs in the cohort that hold them now (active, paused or requested).
    pairs: int


async def members(
    db: AsyncSession,
    cohort_id: int,
    role: str | None = None,
    status: str | None = None,
    search: str = "",
    unreachable: bool = False,
) -> list[Member]:
    """The cohort's people, by name, kept to a role, a membership status, a part of the
    name and those the bot cannot reach, as asked."""
    holding = (
        select(func.count(Pair.id))
        .where(
            Pair.cohort_id == cohort_id,
            or_(Pair.mentee_id == Person.id, Pair.mentor_id == Person.id),
            Pair.status.in_(HOLDING),
        )
        .scalar_subquery()
    )
    query = (
        select(Person, Membership.role, Membership.status, Membership.joined_at, holding)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.cohort_id == cohort_id)
        .order_by(func.lower(Person.first_name), Person.id)
    )
    if role:
        query = query.where(Membership.role == role)
    if status:
        query = query.where(Membership.status == status)
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(Person.first_name).like(f"%{escaped}%", escape="\\"))
    if unreachable:
        query = query.where(Person.unreachable_at.is_not(None))
    return [Member(*row) for row in (await db.execute(query)).tuples()]


async def coordinators(db: AsyncSession, operators: Collection[int]) -> list[Person]:
    """Everyone who coordinates a cohort, and the operators the bot knows."""
    coordinating = select(CohortCoordinator.person_id)
    result = await db.scalars(
        select(Person)
        .where(or_(Person.id.in_(coordinating), Person.id.in_(list(operators))))
        .order_by(Person.id)
    )
    return list(result)
