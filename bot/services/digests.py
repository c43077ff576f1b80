"""What a mentor's digest and a coordinator's weekly summary say, written when they are sent.
Numbers only: a mentee's words never appear here, and a mentor sees what the mentee agreed
to: with "always share", the moods of their latest check-ins and how many commitments are
done and overdue; with "ask each time", the moods of the check-ins they shared; with "never
share", only how many summaries they shared. Moods only of mentees who consent to sharing
them (bot/domain/consent.py), in the digest and in the summary's average alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import mean

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.cohorts import CohortSettings, MembershipStatus, Role, ShareMode
from bot.domain.consent import ConsentKind
from bot.domain.pairs import PairStatus
from bot.domain.texts import N_, Msg, plural_msg
from bot.services.profiles import display_name, share_mode
from bot.storage import consents as consent_store
from bot.storage import repositories as repo
from bot.storage.models import (
    Answer,
    Cohort,
    CohortCoordinator,
    Commitment,
    DialogSession,
    Membership,
    Outgoing,
    Pair,
    Person,
    Profile,
)

TREND_LENGTH = 4
ZoneOf = repo.ZoneOf


async def _moods(
    db: AsyncSession,
    person_ids: list[int],
    since: datetime | None,
    shared_with: int | None = None,
) -> list[int]:
    """Check-in moods, newest first: since a moment, or the latest few; only those of
    check-ins whose summary went to ``shared_with`` when given; only of people who consent
    to sharing their mood now."""
    query = (
        select(Answer.value)
        .join(DialogSession, DialogSession.id == Answer.session_id)
        .where(
            DialogSession.person_id.in_(person_ids),
            DialogSession.dialog_id == "checkin",
            DialogSession.status == repo.FINISHED,
            Answer.key == "mood",
            consent_store.gives(ConsentKind.MOOD, DialogSession.person_id),
        )
        .order_by(DialogSession.finished_at.desc())
    )
    if shared_with is not None:
        query = query.where(
            exists().where(
                Outgoing.kind == "summary",
                Outgoing.chat_id == shared_with,
                Outgoing.context["session"].as_integer() == DialogSession.id,
            )
        )
    if since is not None:
        query = query.where(DialogSession.finished_at >= since)
    else:
        query = query.limit(TREND_LENGTH)
    return [m for m in (await db.execute(query)).scalars() if isinstance(m, int)]


async def _checkins(db: AsyncSession, person_ids: list[int], since: datetime) -> int:
    """Check-ins finished since the moment, with a mood or without."""
    count = await db.scalar(
        select(func.count()).where(
            DialogSession.person_id.in_(person_ids),
            DialogSession.dialog_id == "checkin",
            DialogSession.status == repo.FINISHED,
            DialogSession.finished_at >= since,
        )
    )
    return int(count or 0)


async def _commitments(
    db: AsyncSession, person_ids: list[int], since: datetime, now: datetime, zones: ZoneOf
) -> tuple[int, int]:
    """Done since the moment, and open past their date: a date each person's own
    calendar has left behind (theirs is a day ahead of or behind UTC's at times)."""
    done = await db.scalar(
        select(func.count()).where(
            Commitment.person_id.in_(person_ids),
            Commitment.status == "done",
            Commitment.closed_at >= since,
        )
    )
    overdue = await db.scalar(
        select(func.count()).where(
            Commitment.status == "open", await repo.past_due(db, person_ids, now, zones)
        )
    )
    return int(done or 0), int(overdue or 0)


async def mentor_digest(
    db: AsyncSession, mentor: Person, since: datetime, now: datetime, zones: ZoneOf
) -> list[Msg]:
    """A part for each active mentee; none when the mentor has no mentee."""
    pairs = (
        await db.execute(
            select(Pair)
            .where(Pair.mentor_id == mentor.id, Pair.status == PairStatus.ACTIVE)
            .order_by(Pair.id)
        )
    ).scalars()
    parts = []
    for pair in pairs:
        mentee = await db.get(Person, pair.mentee_id)
        if mentee is None:
            continue
        profile = await db.get(Profile, mentee.id)
        name = display_name(mentee, profile, pair)
        summaries = await db.execute(
            select(Outgoing.context).where(
                Outgoing.kind == "summary",
                Outgoing.chat_id == mentor.id,
                Outgoing.created_at >= since,
            )
        )
        shared = len({c.get("session") for c in summaries.scalars() if c.get("from") == mentee.id})
        mode = share_mode(profile)
        if mode == ShareMode.NEVER:
            parts.append(
                Msg(
                    N_(
                        "<b>{name}</b>\nKeeps check-ins and commitments private.\n"
                        "Summaries shared with you: {shared}"
                    ),
                    {"name": name, "shared": shared},
                )
            )
            continue
        shared_with = None if mode == ShareMode.ALWAYS else mentor.id
        moods = list(reversed(await _moods(db, [mentee.id], None, shared_with)))
        trend: str | Msg | None = " → ".join(str(m) for m in moods) if moods else None
        # _moods has none without the consent; said so once the mentee declined it.
        if (await consent_store.decisions(db, mentee.id)).get(ConsentKind.MOOD) is False:
            trend = Msg(N_("kept private"))
        if mode != ShareMode.ALWAYS:
            parts.append(
                Msg(
                    N_(
                        "<b>{name}</b>\nMood in the check-ins shared with you (1-5): {trend}\n"
                        "Summaries shared with you: {shared}"
                    ),
                    {
                        "name": name,
                        "trend": trend if trend is not None else Msg(N_("none shared yet")),
                        "shared": shared,
                    },
                )
            )
            continue
        done, overdue = await _commitments(db, [mentee.id], since, now, zones)
        parts.append(
            Msg(
                N_(
                    "<b>{name}</b>\nMood in the latest check-ins (1-5): {trend}\n"
                    "Commitments: {done} done, {overdue} overdue\n"
                    "Summaries shared with you: {shared}"
                ),
                {
                    "name": name,
                    "trend": trend if trend is not None else Msg(N_("no check-in yet")),
                    "done": done,
                    "overdue": overdue,
                    "shared": shared,
                },
            )
        )
    return parts


async def programme_summary(
    db: AsyncSession, coordinator: Person, since: datetime, now: datetime, zones: ZoneOf
) -> list[Msg]:
    """A part for each cohort the coordinator runs."""
    cohorts = (
        await db.execute(
            select(Cohort)
            .join(CohortCoordinator, CohortCoordinator.cohort_id == Cohort.id)
            .where(CohortCoordinator.person_id == coordinator.id)
            .order_by(Cohort.name)
        )
    ).scalars()
    parts = []
    for cohort in cohorts:
        mentees = list(
            (
                await db.execute(
                    select(Membership.person_id).where(
                        Membership.cohort_id == cohort.id,
                        Membership.role == Role.MENTEE,
                        Membership.status == MembershipStatus.ACTIVE,
                    )
                )
            ).scalars()
        )
        statuses: dict[str, int] = {
            status: count
            for status, count in await db.execute(
                select(Pair.status, func.count())
                .where(Pair.cohort_id == cohort.id)
                .group_by(Pair.status)
            )
        }
        invited = await db.scalar(
            select(func.count()).where(
                Outgoing.kind == "checkin_invite",
                Outgoing.person_id.in_(mentees),
                Outgoing.status.in_(("sent", "merged")),
                Outgoing.due_at >= since,
            )
        )
        moods = await _moods(db, mentees, since)
        done, overdue = await _commitments(db, mentees, since, now, zones)
        days = CohortSettings.of(cohort.settings).no_contact_days
        quiet = await db.scalar(
            select(func.count()).where(
                Pair.cohort_id == cohort.id,
                Pair.status == PairStatus.ACTIVE,
                func.coalesce(Pair.last_contact_at, Pair.decided_at, Pair.created_at)
                < now - timedelta(days=days),
            )
        )
        parts.append(
            Msg(
                N_(
                    "<b>{cohort}</b>\nActive pairs: {active} · waiting for a decision: {waiting}\n"
                    "Check-ins: {answered} answered, {invited} invitations sent · "
                    "average mood {mood}\n"
                    "Commitments: {done} done this week, {overdue} overdue\n"
                    "{no_contact}"
                ),
                {
                    "cohort": cohort.name,
                    "active": int(statuses.get(PairStatus.ACTIVE, 0)),
                    "waiting": int(statuses.get(PairStatus.PROPOSED, 0))
                    + int(statuses.get(PairStatus.REQUESTED, 0)),
                    "answered": await _checkins(db, mentees, since),
                    "invited": int(invited or 0),
                    "mood": f"{mean(moods):.1f}" if moods else "–",
                    "done": done,
                    "overdue": overdue,
                    "no_contact": plural_msg(
                        "Pairs without contact for {days} day or more: {quiet}",
                        "Pairs without contact for {days} days or more: {quiet}",
                        "days",
                        {"days": days, "quiet": int(quiet or 0)},
                    ),
                },
            )
        )
    return parts
