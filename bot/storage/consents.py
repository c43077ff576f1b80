"""A person's consents (bot/domain/consent.py): each decision is a row, the latest of a
kind is what holds. Like the repositories, these take the caller's session and never
commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.domain.consent import ConsentKind
from bot.storage.models import Consent


def record(db: AsyncSession, person_id: int, kind: ConsentKind, given: bool, at: datetime) -> None:
    """A decision, given or withdrawn, added to the person's history."""
    db.add(Consent(person_id=person_id, kind=kind, given=given, at=at))


async def decisions(db: AsyncSession, person_id: int) -> dict[ConsentKind, bool]:
    """What holds now, by kind: True given, False declined or withdrawn; a kind never
    decided is missing."""
    rows = await db.execute(
        select(Consent.kind, Consent.given)
        .where(Consent.person_id == person_id)
        .order_by(Consent.id)
    )
    return {ConsentKind(kind): given for kind, given in rows.tuples()}


async def has(db: AsyncSession, person_id: int, kind: ConsentKind) -> bool:
    """Whether the person's latest decision of this kind gives it."""
    given: bool | None = await db.scalar(
        select(Consent.given)
        .where(Consent.person_id == person_id, Consent.kind == kind)
        .order_by(Consent.id.desc())
        .limit(1)
    )
    return bool(given)


def gives(kind: ConsentKind, person: Any) -> ColumnElement[bool]:
    """A condition for a query: the person that ``person`` (a column of their id) names
    has given this consent now. The people who have are one subquery, not one lookup per
    row: a statistics query tests it for every answer it counts."""
    later = aliased(Consent)
    consenting = select(Consent.person_id).where(
        Consent.kind == kind,
        Consent.given.is_(True),
        ~exists().where(
            later.person_id == Consent.person_id, later.kind == Consent.kind, later.id > Consent.id
        ),
    )
    return cast(ColumnElement[bool], person.in_(consenting))


async def history(db: AsyncSession, person_id: int) -> list[Consent]:
    """Every decision of the person, oldest first (for their export)."""
    rows = await db.execute(
        select(Consent).where(Consent.person_id == person_id).order_by(Consent.id)
    )
    return list(rows.scalars())
