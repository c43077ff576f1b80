"""Queries and writes for keeping data no longer than needed: sent messages scrubbed of
their words, cohorts whose retention has run out, what a cohort's purge removes, and the
statistics kept of a purged cohort. Like repositories.py: each function takes the caller's
session and never commits."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import String, case, cast, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import (
    Cohort,
    CohortCoordinator,
    CohortStatistics,
    Invite,
    Membership,
    Outgoing,
    Pair,
    Poll,
    PollDelivery,
    PollVote,
    QuizGame,
    QuizPlay,
    QuizPlayer,
)
from bot.storage.personal import ERASED_PAIR

# Outbox rows that are settled: nothing more will be sent of them.
SETTLED = ("sent", "failed", "unreachable", "cancelled", "stale", "skipped", "merged")


async def scrub_settled(db: AsyncSession, before: datetime) -> int:
    """Settled outbox rows created before ``before`` keep what the bot's records need
    (kind, chat, status, times, the context that tells which pair a reply is about) but no
    words: their payload is emptied."""
    result = await db.execute(
        update(Outgoing)
        .where(
            Outgoing.status.in_(SETTLED),
            Outgoing.created_at < before,
            # Only rows not scrubbed yet (an empty payload is stored as "{}").
            cast(Outgoing.payload, String) != "{}",
        )
        .values(payload={})
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def to_warn(
    db: AsyncSession, today: date, retention: timedelta, warning: timedelta
) -> list[Cohort]:
    """Cohorts whose purge is near (within ``warning``) and whose coordinators were not told."""
    result = await db.execute(
        select(Cohort).where(
            Cohort.ends_on.is_not(None),
            Cohort.ends_on <= today - retention + warning,
            Cohort.retention_warned_at.is_(None),
            Cohort.purged_at.is_(None),
        )
    )
    return list(result.scalars())


async def to_purge(
    db: AsyncSession, today: date, now: datetime, retention: timedelta, warning: timedelta
) -> list[Cohort]:
    """Cohorts whose retention has run out and whose coordinators were told long enough ago."""
    result = await db.execute(
        select(Cohort).where(
            Cohort.ends_on.is_not(None),
            Cohort.ends_on <= today - retention,
            Cohort.retention_warned_at <= now - warning,
            Cohort.purged_at.is_(None),
        )
    )
    return list(result.scalars())


async def members(db: AsyncSession, cohort_id: int) -> list[int]:
    result = await db.execute(select(Membership.person_id).where(Membership.cohort_id == cohort_id))
    return list(result.scalars())


async def held_elsewhere(db: AsyncSession, cohort_id: int, person_ids: list[int]) -> set[int]:
    """Of these people, those who are also in a cohort not purged, or coordinate one."""
    if not person_ids:
        return set()
    live = select(Cohort.id).where(Cohort.id != cohort_id, Cohort.purged_at.is_(None))
    member = await db.execute(
        select(Membership.person_id).where(
            Membership.person_id.in_(person_ids), Membership.cohort_id.in_(live)
        )
    )
    coordinating = await db.execute(
        select(CohortCoordinator.person_id).where(
            CohortCoordinator.person_id.in_(person_ids), CohortCoordinator.cohort_id.in_(live)
        )
    )
    return set(member.scalars()) | set(coordinating.scalars())


async def forget_cohort(db: AsyncSession, cohort_id: int) -> None:
    """What is left of the cohort's people in it once those in no other cohort are erased:
    messages about its pairs lose their words (those not sent are cancelled), its pairs
    (with their meetings), memberships, invites, polls and their votes, quiz games and
    their answers go."""
    pairs = select(Pair.id).where(Pair.cohort_id == cohort_id)
    polls = select(Poll.id).where(Poll.cohort_id == cohort_id)
    about_pairs = Outgoing.context["pair"].as_integer().in_(pairs)
    await db.execute(
        update(Outgoing)
        .where(about_pairs)
        .values(
            payload={},
            context={"pair": ERASED_PAIR},
            status=case(
                (Outgoing.status.in_(("pending", "sending")), "cancelled"), else_=Outgoing.status
            ),
        )
        .execution_options(synchronize_session=False)
    )
    await db.execute(
        update(Outgoing)
        .where(Outgoing.context["poll"].as_integer().in_(polls))
        .values(payload={})
        .execution_options(synchronize_session=False)
    )
    deliveries = select(PollDelivery.telegram_poll_id).where(PollDelivery.poll_id.in_(polls))
    await db.execute(delete(PollVote).where(PollVote.telegram_poll_id.in_(deliveries)))
    await db.execute(delete(PollDelivery).where(PollDelivery.poll_id.in_(polls)))
    await db.execute(delete(Poll).where(Poll.id.in_(polls)))
    games = select(QuizGame.id).where(QuizGame.cohort_id == cohort_id)
    await db.execute(
        update(Outgoing)
        .where(Outgoing.context["game"].as_integer().in_(games))
        .values(payload={})
        .execution_options(synchronize_session=False)
    )
    await db.execute(delete(QuizPlay).where(QuizPlay.game_id.in_(games)))
    await db.execute(delete(QuizPlayer).where(QuizPlayer.game_id.in_(games)))
    await db.execute(delete(QuizGame).where(QuizGame.id.in_(games)))
    await db.execute(delete(Pair).where(Pair.cohort_id == cohort_id))
    await db.execute(delete(Membership).where(Membership.cohort_id == cohort_id))
    await db.execute(delete(Invite).where(Invite.cohort_id == cohort_id))


async def mark_warned(db: AsyncSession, cohort_id: int, now: datetime) -> None:
    await db.execute(update(Cohort).where(Cohort.id == cohort_id).values(retention_warned_at=now))


async def keep_statistics(
    db: AsyncSession, cohort_id: int, figures: dict[str, Any], now: datetime
) -> None:
    """The cohort is purged; these are its statistics from now on."""
    db.add(CohortStatistics(cohort_id=cohort_id, figures=figures, kept_at=now))
    await db.execute(update(Cohort).where(Cohort.id == cohort_id).values(purged_at=now))


async def kept_statistics(db: AsyncSession, cohort_id: int) -> dict[str, Any] | None:
    """The statistics kept of a purged cohort."""
    kept = await db.get(CohortStatistics, cohort_id)
    return kept.figures if kept is not None else None
