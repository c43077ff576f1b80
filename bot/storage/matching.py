"""Queries for matching: who in a cohort can be matched. Like repositories.py: each
function takes the caller's session and never commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.cohorts import MembershipStatus, Role
from bot.storage.models import Membership, Person, Profile


async def active_members(
    db: AsyncSession, cohort_id: int
) -> list[tuple[Membership, Profile, Person]]:
    """The cohort's active members (their intake finished), with profile and person."""
    result = await db.execute(
        select(Membership, Profile, Person)
        .join(Profile, Profile.person_id == Membership.person_id)
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.cohort_id == cohort_id, Membership.status == MembershipStatus.ACTIVE)
    )
    return list(result.tuples())


async def active_mentors(db: AsyncSession, cohort_id: int) -> list[tuple[Profile, Person]]:
    """The cohort's active mentors, with profile and person."""
    result = await db.execute(
        select(Profile, Person)
        .select_from(Membership)
        .join(Profile, Profile.person_id == Membership.person_id)
        .join(Person, Person.id == Membership.person_id)
        .where(
            Membership.cohort_id == cohort_id,
            Membership.role == Role.MENTOR,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    return list(result.tuples())


async def in_intake(db: AsyncSession, cohort_id: int) -> list[Person]:
    """The people who joined the cohort and have not finished their intake, first come
    first."""
    result = await db.execute(
        select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.cohort_id == cohort_id, Membership.status == MembershipStatus.INTAKE)
        .order_by(Membership.joined_at, Person.id)
    )
    return list(result.scalars())
