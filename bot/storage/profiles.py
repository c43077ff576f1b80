"""Queries and writes for profiles (what an intake told) and a person's current
membership. Like repositories.py: each function takes the caller's session and never
commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.cohorts import MembershipStatus
from bot.storage.models import Membership, Profile


async def current_membership(db: AsyncSession, person_id: int) -> Membership | None:
    """The person's latest membership they have not left: their current cohort."""
    result = await db.execute(
        select(Membership)
        .where(Membership.person_id == person_id, Membership.status != MembershipStatus.LEFT)
        .order_by(Membership.joined_at.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def save_profile(
    db: AsyncSession, person_id: int, role: str, data: dict[str, Any], now: datetime
) -> Profile:
    """The person's profile, new or replaced."""
    profile = await db.get(Profile, person_id)
    if profile is None:
        profile = Profile(person_id=person_id, role=role, data=data, updated_at=now)
        db.add(profile)
    else:
        profile.role, profile.data, profile.updated_at = role, data, now
    return profile
