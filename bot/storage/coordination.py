"""Who coordinates which cohort, and the cohorts' invite links, as the coordination
service reads and changes them."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import CohortCoordinator, Invite, Membership, Pair, Person


async def member_counts(
    db: AsyncSession, cohort_ids: Collection[int]
) -> dict[tuple[int, str], int]:
    """Members not gone, by cohort and role."""
    rows = await db.execute(
        select(Membership.cohort_id, Membership.role, func.count())
        .where(Membership.cohort_id.in_(list(cohort_ids)), Membership.status != "left")
        .group_by(Membership.cohort_id, Membership.role)
    )
    return {(cohort, role): int(n) for cohort, role, n in rows.all()}


async def active_pairs(db: AsyncSession, cohort_ids: Collection[int]) -> dict[int, int]:
    rows = await db.execute(
        select(Pair.cohort_id, func.count())
        .where(Pair.cohort_id.in_(list(cohort_ids)), Pair.status == "active")
        .group_by(Pair.cohort_id)
    )
    return {cohort: int(n) for cohort, n in rows.all()}


async def invites(db: AsyncSession, cohort_ids: Collection[int]) -> dict[int, list[Invite]]:
    """Each cohort's invite links, oldest first."""
    found: dict[int, list[Invite]] = {}
    rows = await db.execute(
        select(Invite)
        .where(Invite.cohort_id.in_(list(cohort_ids)))
        .order_by(Invite.created_at, Invite.role, Invite.code)
    )
    for invite in rows.scalars():
        found.setdefault(invite.cohort_id, []).append(invite)
    return found


async def invite(db: AsyncSession, code: str) -> Invite | None:
    return await db.get(Invite, code)


async def coordinators(db: AsyncSession, cohort_ids: Collection[int]) -> dict[int, list[Person]]:
    """Each cohort's coordinators (those of its ``cohort_coordinators`` rows), by name."""
    found: dict[int, list[Person]] = {}
    rows = await db.execute(
        select(CohortCoordinator.cohort_id, Person)
        .join(Person, Person.id == CohortCoordinator.person_id)
        .where(CohortCoordinator.cohort_id.in_(list(cohort_ids)))
        .order_by(CohortCoordinator.cohort_id, Person.first_name, Person.id)
    )
    for cohort_id, person in rows.tuples():
        found.setdefault(cohort_id, []).append(person)
    return found


async def remove_coordinator(db: AsyncSession, cohort_id: int, person_id: int) -> bool:
    """Whether there was such a coordinator to remove."""
    result = await db.execute(
        delete(CohortCoordinator).where(
            CohortCoordinator.cohort_id == cohort_id, CohortCoordinator.person_id == person_id
        )
    )
    return bool(getattr(result, "rowcount", 0))
