"""Queries and writes for mentoring pairs. Like repositories.py: each function takes the
caller's session and never commits."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.consent import ConsentKind
from bot.domain.pairs import HOLDING, PairStatus
from bot.storage import repositories as repo
from bot.storage.consents import gives
from bot.storage.models import Answer, DialogSession, Pair, Person


def _either_side(person_id: int) -> ColumnElement[bool]:
    return (Pair.mentee_id == person_id) | (Pair.mentor_id == person_id)


async def of_cohort(db: AsyncSession, cohort_id: int) -> list[Pair]:
    """Every pair of a cohort, in any state."""
    return list((await db.execute(select(Pair).where(Pair.cohort_id == cohort_id))).scalars())


async def of_cohorts(
    db: AsyncSession, cohort_ids: Collection[int], statuses: Sequence[str]
) -> list[Pair]:
    """The pairs of these cohorts in these states, by cohort and id."""
    result = await db.execute(
        select(Pair)
        .where(Pair.cohort_id.in_(list(cohort_ids)), Pair.status.in_(statuses))
        .order_by(Pair.cohort_id, Pair.id)
    )
    return list(result.scalars())


async def proposed(db: AsyncSession, cohort_id: int) -> list[Pair]:
    """A cohort's proposal: its proposed pairs, best score first."""
    result = await db.execute(
        select(Pair)
        .where(Pair.cohort_id == cohort_id, Pair.status == PairStatus.PROPOSED)
        .order_by(Pair.score.desc())
    )
    return list(result.scalars())


async def drop_proposed(db: AsyncSession, cohort_id: int) -> None:
    """Forget a cohort's proposal (a new one replaces it)."""
    await db.execute(
        delete(Pair).where(Pair.cohort_id == cohort_id, Pair.status == PairStatus.PROPOSED)
    )


async def held_places(db: AsyncSession, mentor_id: int) -> int:
    """How many of a mentor's places are taken (pairs active, paused or requested)."""
    found = await db.scalar(
        select(func.count())
        .select_from(Pair)
        .where(Pair.mentor_id == mentor_id, Pair.status.in_(HOLDING))
    )
    return int(found or 0)


async def active_pair(db: AsyncSession, person_id: int) -> Pair | None:
    """The person's active pair, on either side (the latest decided, if several)."""
    result = await db.execute(
        select(Pair)
        .where(Pair.status == PairStatus.ACTIVE, _either_side(person_id))
        .order_by(Pair.decided_at.desc())
    )
    return result.scalars().first()


async def paused_pair(db: AsyncSession, person_id: int) -> Pair | None:
    """A paused pair of the person's, on either side."""
    result = await db.execute(
        select(Pair).where(Pair.status == PairStatus.PAUSED, _either_side(person_id))
    )
    return result.scalars().first()


async def active_as_mentee(db: AsyncSession, mentee_id: int) -> Pair | None:
    """The mentee's active pair, if they have one."""
    result = await db.execute(
        select(Pair).where(Pair.mentee_id == mentee_id, Pair.status == PairStatus.ACTIVE)
    )
    return result.scalars().first()


async def active_of_mentor(db: AsyncSession, mentor_id: int) -> list[Pair]:
    """A mentor's active pairs."""
    result = await db.execute(
        select(Pair).where(Pair.mentor_id == mentor_id, Pair.status == PairStatus.ACTIVE)
    )
    return list(result.scalars())


async def of_mentee(db: AsyncSession, mentee_id: int) -> list[Pair]:
    """Every pair a mentee has been in, in any state."""
    return list((await db.execute(select(Pair).where(Pair.mentee_id == mentee_id))).scalars())


async def ended_of(db: AsyncSession, person_id: int) -> list[Pair]:
    """The person's ended pairs, on either side, the latest ended first."""
    result = await db.execute(
        select(Pair)
        .where(Pair.status == PairStatus.ENDED, _either_side(person_id))
        .order_by(Pair.ended_at.desc())
    )
    return list(result.scalars())


async def all_active(db: AsyncSession) -> list[Pair]:
    """Every active pair of every cohort."""
    result = await db.execute(select(Pair).where(Pair.status == PairStatus.ACTIVE))
    return list(result.scalars())


async def overdue_requests(db: AsyncSession, now: datetime) -> list[Pair]:
    """Requests whose mentor had until now to answer."""
    result = await db.execute(
        select(Pair).where(Pair.status == PairStatus.REQUESTED, Pair.expires_at <= now)
    )
    return list(result.scalars())


async def first_names(db: AsyncSession, pairs: Sequence[Pair]) -> dict[int, str]:
    """The first names of both sides of these pairs, by person id."""
    ids = [p.mentee_id for p in pairs] + [p.mentor_id for p in pairs]
    result = await db.execute(select(Person).where(Person.id.in_(ids)))
    return {person.id: person.first_name for person in result.scalars()}


async def latest_moods(db: AsyncSession, person_id: int, dialog_id: str, limit: int) -> list[int]:
    """The moods of the person's latest finished check-ins (of ``dialog_id``), newest first."""
    result = await db.execute(
        select(Answer.value)
        .join(DialogSession, DialogSession.id == Answer.session_id)
        .where(
            DialogSession.person_id == person_id,
            DialogSession.dialog_id == dialog_id,
            DialogSession.status == repo.FINISHED,
            Answer.key == "mood",
        )
        .order_by(DialogSession.finished_at.desc(), DialogSession.id.desc())
        .limit(limit)
    )
    return [m for m in result.scalars() if isinstance(m, int)]


async def shared_latest_moods(
    db: AsyncSession, person_ids: Collection[int], dialog_id: str
) -> dict[int, int]:
    """Each person's mood in their latest finished check-in (of ``dialog_id``), of those
    who consent to share their mood now; one query for all."""
    finished = and_(
        DialogSession.dialog_id == dialog_id,
        DialogSession.status == repo.FINISHED,
        DialogSession.person_id.in_(list(person_ids)),
    )
    latest = (
        select(DialogSession.person_id, func.max(DialogSession.finished_at).label("at"))
        .where(finished)
        .group_by(DialogSession.person_id)
        .subquery()
    )
    result = await db.execute(
        select(DialogSession.person_id, Answer.value)
        .join(Answer, Answer.session_id == DialogSession.id)
        .join(
            latest,
            and_(
                latest.c.person_id == DialogSession.person_id,
                latest.c.at == DialogSession.finished_at,
            ),
        )
        .where(finished, Answer.key == "mood", gives(ConsentKind.MOOD, DialogSession.person_id))
    )
    return {person: mood for person, mood in result.tuples() if isinstance(mood, int)}
