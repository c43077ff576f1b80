"""What the access policy needs to know from the database: a person's standing, and what a
button names (the cohort it belongs to, the people whose it is)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.access import Kind, Named, Standing, Subject, standing
from bot.storage.models import (
    Broadcast,
    CohortCoordinator,
    Commitment,
    DialogSession,
    Meeting,
    Membership,
    Pair,
    Poll,
    QuizGame,
    TelegramGroup,
)


async def standing_of(db: AsyncSession, person_id: int, operators: Collection[int]) -> Standing:
    """The person's roles: those of their memberships (not left), coordinator if they
    coordinate a cohort, operator if their id is one of ``operators``."""
    roles = (
        await db.scalars(
            select(Membership.role)
            .where(Membership.person_id == person_id, Membership.status != "left")
            .distinct()
        )
    ).all()
    cohorts = (
        await db.scalars(
            select(CohortCoordinator.cohort_id).where(CohortCoordinator.person_id == person_id)
        )
    ).all()
    return standing(person_id, roles, cohorts, operators)


async def subject_of(db: AsyncSession, named: Named) -> Subject | None:
    """The cohort and the owners of what a button names; ``None`` if it does not exist."""
    kind, number = named
    if kind is Kind.COHORT:
        return Subject(cohort_id=number)
    if kind is Kind.PAIR:
        pair = (
            await db.execute(
                select(Pair.cohort_id, Pair.mentee_id, Pair.mentor_id).where(Pair.id == number)
            )
        ).one_or_none()
        return None if pair is None else Subject(pair[0], frozenset(pair[1:]))
    if kind is Kind.MEETING:
        meeting = (
            await db.execute(
                select(Pair.cohort_id, Pair.mentee_id, Pair.mentor_id)
                .join(Meeting, Meeting.pair_id == Pair.id)
                .where(Meeting.id == number)
            )
        ).one_or_none()
        return None if meeting is None else Subject(meeting[0], frozenset(meeting[1:]))
    if kind is Kind.SESSION:
        owner = await db.scalar(select(DialogSession.person_id).where(DialogSession.id == number))
        return None if owner is None else Subject(owners=frozenset({owner}))
    if kind is Kind.COMMITMENT:
        owner = await db.scalar(select(Commitment.person_id).where(Commitment.id == number))
        return None if owner is None else Subject(owners=frozenset({owner}))
    if kind is Kind.POLL:
        poll = (
            await db.execute(select(Poll.cohort_id, Poll.created_by).where(Poll.id == number))
        ).one_or_none()
        return None if poll is None else Subject(poll[0], frozenset({poll[1]}))
    if kind is Kind.GAME:
        game = (
            await db.execute(
                select(QuizGame.cohort_id, QuizGame.created_by).where(QuizGame.id == number)
            )
        ).one_or_none()
        return None if game is None else Subject(game[0], frozenset({game[1]}))
    if kind is Kind.GROUP:
        group = (
            await db.execute(
                select(TelegramGroup.cohort_id).where(
                    TelegramGroup.chat_id == number, TelegramGroup.removed_at.is_(None)
                )
            )
        ).one_or_none()
        return None if group is None else Subject(cohort_id=group[0])
    broadcast = await db.scalar(select(Broadcast.coordinator_id).where(Broadcast.id == number))
    return None if broadcast is None else Subject(owners=frozenset({broadcast}))
