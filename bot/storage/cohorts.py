"""Queries and writes for cohorts, their coordinators, invites and memberships. Like
repositories.py: each function takes the caller's session and never commits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Cohort, CohortCoordinator, Invite, Membership, Person


async def names(db: AsyncSession) -> set[str]:
    """The names every cohort has (they are unique)."""
    return set((await db.execute(select(Cohort.name))).scalars())


async def add_cohort(
    db: AsyncSession,
    name: str,
    mode: str,
    ends_on: date | None,
    settings: dict[str, Any],
    creator_id: int,
    now: datetime,
) -> Cohort:
    """A new cohort, with its id; its creator coordinates it."""
    cohort = Cohort(
        name=name,
        mode=mode,
        ends_on=ends_on,
        settings=settings,
        created_by=creator_id,
        created_at=now,
    )
    db.add(cohort)
    await db.flush()
    db.add(CohortCoordinator(cohort_id=cohort.id, person_id=creator_id))
    return cohort


def add_invite(
    db: AsyncSession,
    code: str,
    cohort_id: int,
    role: str,
    now: datetime,
    expires_at: datetime | None = None,
    max_uses: int | None = None,
) -> Invite:
    invite = Invite(
        code=code,
        cohort_id=cohort_id,
        role=role,
        expires_at=expires_at,
        max_uses=max_uses,
        uses=0,
        created_at=now,
    )
    db.add(invite)
    return invite


async def add_coordinator(db: AsyncSession, cohort_id: int, person_id: int) -> None:
    """The person helps run the cohort (once, however often they are added)."""
    if await db.get(CohortCoordinator, (cohort_id, person_id)) is None:
        db.add(CohortCoordinator(cohort_id=cohort_id, person_id=person_id))


async def coordinated(db: AsyncSession, person_id: int, operator: bool) -> list[Cohort]:
    """The cohorts a person coordinates, newest first: an operator's are all of them."""
    query = select(Cohort).order_by(Cohort.created_at.desc(), Cohort.id.desc())
    if not operator:
        query = query.join(CohortCoordinator, CohortCoordinator.cohort_id == Cohort.id).where(
            CohortCoordinator.person_id == person_id
        )
    return list((await db.execute(query)).scalars())


async def coordinators(db: AsyncSession, cohort_id: int) -> list[Person]:
    """The people who run a cohort."""
    result = await db.execute(
        select(Person)
        .join(CohortCoordinator, CohortCoordinator.person_id == Person.id)
        .where(CohortCoordinator.cohort_id == cohort_id)
    )
    return list(result.scalars())


async def by_id(db: AsyncSession) -> dict[int, Cohort]:
    """Every cohort, by id."""
    return {c.id: c for c in (await db.execute(select(Cohort))).scalars()}


async def membership(db: AsyncSession, cohort_id: int, person_id: int) -> Membership | None:
    """The person's membership of this cohort, in any state."""
    result = await db.execute(
        select(Membership).where(
            Membership.cohort_id == cohort_id, Membership.person_id == person_id
        )
    )
    return result.scalar_one_or_none()


def add_membership(
    db: AsyncSession, cohort_id: int, person_id: int, role: str, status: str, now: datetime
) -> Membership:
    member = Membership(
        cohort_id=cohort_id, person_id=person_id, role=role, status=status, joined_at=now
    )
    db.add(member)
    return member
