"""Coordination: who runs which cohort, and the links that bring people in.

A coordinator coordinates exactly the cohorts they created or were brought into with a
coordinator link; the operators (COORDINATOR_IDS) coordinate every cohort. A coordinator
link is minted on request, for one person: it works once, within 72 hours. Any link that
still works can be revoked. Only an operator takes a coordinator's rights for a cohort
away; that may be its last coordinator of its own, and the cohort is then run by the
operators, who can bring someone in again with a new coordinator link.

Nothing here commits: the update's unit of work does.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.cohorts import CohortSettings
from bot.domain.texts import N_, Msg
from bot.services.clock import Clock
from bot.services.cohorts import new_code
from bot.services.messages import queue_message
from bot.storage import cohorts as cohort_store
from bot.storage import coordination as store
from bot.storage.models import Cohort, Invite, Person

MENTEE, MENTOR, COORDINATOR = "mentee", "mentor", "coordinator"
ROLES = (MENTEE, MENTOR, COORDINATOR)
COORDINATOR_LINK_HOURS = 72
# What /invite offers for mentee and mentor links (0: no limit).
INVITE_DAYS = (1, 7, 30, 0)
INVITE_USES = (1, 10, 50, 0)


def link_code() -> str:
    """The code of a link minted on request. It is chosen when the last question is shown
    and travels in its buttons, so a repeated press finds the link it made instead of
    making another."""
    return new_code()


class LinkState(enum.StrEnum):
    LIVE = "live"
    SPENT = "spent"  # used as many times as it allows
    EXPIRED = "expired"
    REVOKED = "revoked"


def link_state(invite: Invite, now: datetime) -> LinkState:
    if invite.revoked_at is not None:
        return LinkState.REVOKED
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return LinkState.SPENT
    if invite.expires_at is not None and invite.expires_at <= now:
        return LinkState.EXPIRED
    return LinkState.LIVE


@dataclass(frozen=True)
class Link:
    invite: Invite
    state: LinkState

    @property
    def uses_left(self) -> int | None:
        if self.invite.max_uses is None:
            return None
        return max(self.invite.max_uses - self.invite.uses, 0)


@dataclass(frozen=True)
class CohortOverview:
    cohort: Cohort
    mentees: int
    mentors: int
    active_pairs: int
    links: list[Link]


async def overview(
    db: AsyncSession, cohorts: Sequence[Cohort], now: datetime
) -> list[CohortOverview]:
    """Each cohort with its numbers and its links, in the state each is in ``now``."""
    ids = [c.id for c in cohorts]
    counts = await store.member_counts(db, ids)
    pairs = await store.active_pairs(db, ids)
    links = await store.invites(db, ids)
    return [
        CohortOverview(
            c,
            counts.get((c.id, MENTEE), 0),
            counts.get((c.id, MENTOR), 0),
            pairs.get(c.id, 0),
            [Link(i, link_state(i, now)) for i in links.get(c.id, [])],
        )
        for c in cohorts
    ]


class Minted(enum.Enum):
    MADE = "made"
    AGAIN = "again"  # a repeated press: the link it made before
    STALE = "stale"  # choices no longer offered, or a code that is not this one's


@dataclass(frozen=True)
class Minting:
    result: Minted
    invite: Invite | None = None


class LinkRevocation(enum.Enum):
    REVOKED = "revoked"
    NOT_LIVE = "not_live"  # spent, expired or revoked already
    GONE = "gone"


@dataclass(frozen=True)
class Team:
    cohort: Cohort
    coordinators: list[Person]


class Dismissed(enum.Enum):
    DISMISSED = "dismissed"
    OPERATOR = "operator"  # an operator coordinates every cohort whatever the rows say
    GONE = "gone"  # not (or no longer) a coordinator of this cohort


@dataclass(frozen=True)
class Dismissal:
    result: Dismissed
    person: Person | None = None
    # Coordinators of the cohort's own (not operators) left after it.
    left: int = 0


class CoordinationService:
    def __init__(
        self, clock: Clock, operators: Collection[int], default_locale: str = "en"
    ) -> None:
        self.clock = clock
        self.operators = frozenset(operators)
        self.default_locale = default_locale

    def set_setting(self, cohort: Cohort, key: str, value: Any) -> bool:
        """One of the cohort's settings (``value`` one of its choices); whether it changed."""
        if getattr(CohortSettings.of(cohort.settings), key) == value:
            return False
        cohort.settings = {**cohort.settings, key: value}
        return True

    def is_operator(self, person_id: int) -> bool:
        return person_id in self.operators

    async def cohorts(self, db: AsyncSession, person_id: int) -> list[Cohort]:
        """The cohorts this person coordinates, newest first (an operator: all)."""
        return await cohort_store.coordinated(db, person_id, self.is_operator(person_id))

    async def cohort(self, db: AsyncSession, person_id: int, cohort_id: int) -> Cohort | None:
        """One of them; ``None`` if it is not theirs or no longer exists."""
        if self.is_operator(person_id):
            return await db.get(Cohort, cohort_id)
        return next((c for c in await self.cohorts(db, person_id) if c.id == cohort_id), None)

    # Links -------------------------------------------------------------------------

    async def mint(
        self,
        db: AsyncSession,
        cohort: Cohort,
        role: str,
        days: int | None,
        uses: int | None,
        code: str,
    ) -> Minting:
        """A new link with ``code``. A coordinator link works once, within 72 hours,
        whatever else is asked; a mentee or mentor link as long and as often as chosen
        among the choices offered."""
        if role not in ROLES:
            return Minting(Minted.STALE)
        existing = await store.invite(db, code)
        if existing is not None:
            if existing.cohort_id == cohort.id and existing.role == role:
                return Minting(Minted.AGAIN, existing)
            return Minting(Minted.STALE)
        now = self.clock.now()
        if role == COORDINATOR:
            expires: datetime | None = now + timedelta(hours=COORDINATOR_LINK_HOURS)
            max_uses: int | None = 1
        elif days in INVITE_DAYS and uses in INVITE_USES:
            expires = now + timedelta(days=days) if days else None
            max_uses = uses or None
        else:
            return Minting(Minted.STALE)
        made = cohort_store.add_invite(db, code, cohort.id, role, now, expires, max_uses)
        await db.flush()
        return Minting(Minted.MADE, made)

    async def revoke_link(self, db: AsyncSession, cohort_id: int, code: str) -> LinkRevocation:
        """Stop a link of this cohort from letting anyone in."""
        invite = await store.invite(db, code)
        if invite is None or invite.cohort_id != cohort_id:
            return LinkRevocation.GONE
        now = self.clock.now()
        if link_state(invite, now) is not LinkState.LIVE:
            return LinkRevocation.NOT_LIVE
        invite.revoked_at = now
        await db.flush()
        return LinkRevocation.REVOKED

    # Coordinators ------------------------------------------------------------------

    async def teams(self, db: AsyncSession, cohorts: Sequence[Cohort]) -> list[Team]:
        """Each cohort's coordinators of its own (operators who created it among them)."""
        found = await store.coordinators(db, [c.id for c in cohorts])
        return [Team(c, found.get(c.id, [])) for c in cohorts]

    async def dismiss(self, db: AsyncSession, cohort: Cohort, person_id: int) -> Dismissal:
        """An operator takes a coordinator's rights for this cohort away; they are told.
        The last coordinator of the cohort's own may go too: the operators run it then."""
        if self.is_operator(person_id):
            return Dismissal(Dismissed.OPERATOR)
        if not await store.remove_coordinator(db, cohort.id, person_id):
            return Dismissal(Dismissed.GONE)
        person = await db.get(Person, person_id)
        if person is not None:
            queue_message(
                db,
                person,
                Msg(
                    N_(
                        "You no longer coordinate {cohort}: an operator of this bot has removed "
                        "your coordinator rights for it."
                    ),
                    {"cohort": cohort.name},
                ),
                kind="notice",
                now=self.clock.now(),
                default_locale=self.default_locale,
                context={"cohort": cohort.id},
            )
        (team,) = await self.teams(db, [cohort])
        left = sum(1 for p in team.coordinators if not self.is_operator(p.id))
        return Dismissal(Dismissed.DISMISSED, person, left)
