"""Cohorts: creating one (the /cohort_new form), its settings, its invites and joining by
one, and who coordinates what."""

from __future__ import annotations

import enum
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import intake
from bot.domain.cohorts import (
    MEMBER_ROLES,
    MembershipStatus,
    Role,
)
from bot.domain.dialogs import Dialog
from bot.domain.engine import Progress
from bot.services.clock import Clock
from bot.services.dialogs import DialogService, DialogTurn
from bot.storage import cohorts as store
from bot.storage.models import Cohort, Invite, Person

COHORT_FORM = "cohort_new"


class Redeemed(enum.Enum):
    JOINED = "joined"
    COORDINATOR = "coordinator"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED_UP = "used_up"
    ALREADY = "already"


@dataclass
class Joining:
    result: Redeemed
    cohort: Cohort | None = None
    role: str | None = None
    turn: DialogTurn | None = None


def new_code() -> str:
    """An invite code: 128 random bits, in the characters a deep link allows."""
    return secrets.token_urlsafe(16)


class CohortService:
    def __init__(
        self, dialogs: DialogService, clock: Clock, coordinator_ids: Collection[int] = ()
    ) -> None:
        self.dialogs = dialogs
        self.clock = clock
        self.coordinator_ids = frozenset(coordinator_ids)
        dialogs.finishers[COHORT_FORM] = self._finish_cohort_form

    def is_operator(self, person: Person | None) -> bool:
        """Who coordinates which cohort is the access policy's standing; operators run
        every cohort."""
        return person is not None and person.id in self.coordinator_ids

    # Cohorts -----------------------------------------------------------------

    async def _finish_cohort_form(
        self, db: AsyncSession, person_id: int, dialog: Dialog, progress: Progress, now: datetime
    ) -> None:
        answers = progress.answers
        await self.create_cohort(
            db,
            person_id,
            str(answers["name"]),
            str(answers["mode"]),
            date.fromisoformat(answers["ends_on"]),
            now,
        )

    async def create_cohort(
        self,
        db: AsyncSession,
        creator_id: int,
        name: str,
        mode: str,
        ends_on: date | None,
        now: datetime,
    ) -> Cohort:
        taken = await store.names(db)
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name} ({n})", n + 1
        cohort = await store.add_cohort(db, unique, mode, ends_on, {}, creator_id, now)
        for role in MEMBER_ROLES:
            store.add_invite(db, new_code(), cohort.id, role, now)
        await db.flush()
        return cohort

    async def coordinated(self, db: AsyncSession, person: Person) -> list[Cohort]:
        """The cohorts this coordinator runs; an operator's are all of them."""
        return await store.coordinated(db, person.id, self.is_operator(person))

    async def cohort_of(self, db: AsyncSession, person: Person, cohort_id: int) -> Cohort | None:
        """A cohort, if this coordinator runs it."""
        return next((c for c in await self.coordinated(db, person) if c.id == cohort_id), None)

    # Joining -------------------------------------------------------------------

    async def join(self, db: AsyncSession, person_id: int, code: str) -> Joining:
        """Use an invite: the person enters the cohort in the invite's role and starts the
        intake. Every way an invite can fail has its own answer."""
        now = self.clock.now()
        invite = await db.get(Invite, code[:32]) if code else None
        if invite is None:
            return Joining(Redeemed.UNKNOWN)
        cohort = await db.get(Cohort, invite.cohort_id)
        if invite.revoked_at is not None:
            return Joining(Redeemed.REVOKED, cohort, invite.role)
        if invite.expires_at is not None and invite.expires_at <= now:
            return Joining(Redeemed.EXPIRED, cohort, invite.role)
        existing = await store.membership(db, invite.cohort_id, person_id)
        if existing is not None:
            return Joining(Redeemed.ALREADY, cohort, existing.role)
        if invite.max_uses is not None and invite.uses >= invite.max_uses:
            return Joining(Redeemed.USED_UP, cohort, invite.role)
        invite.uses += 1
        if invite.role == Role.COORDINATOR:
            # Another coordinator brought this person in to help run the cohort.
            await store.add_coordinator(db, invite.cohort_id, person_id)
            return Joining(Redeemed.COORDINATOR, cohort, invite.role)
        store.add_membership(
            db, invite.cohort_id, person_id, invite.role, MembershipStatus.INTAKE, now
        )
        await db.flush()
        turn = await self.dialogs.start(db, person_id, intake.INTAKE_FOR_ROLE[Role(invite.role)])
        return Joining(Redeemed.JOINED, cohort, invite.role, turn)
