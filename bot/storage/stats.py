"""The queries behind a cohort's statistics. Each figure is one aggregate query: the
database counts and sums, only the results come back. Like the repositories, these take
the caller's session and never commit. The mood and the Wheel's change count only the
mentees who consent to sharing them now (bot/domain/consent.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, and_, cast, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.domain.cohorts import Role
from bot.domain.consent import ConsentKind
from bot.domain.pairs import PairStatus
from bot.domain.stats import CohortStats, weekly
from bot.storage.consents import gives
from bot.storage.models import Answer, Cohort, Commitment, DialogSession, Membership, Outgoing, Pair
from bot.storage.repositories import ZoneOf, past_due

FINISHED = "finished"
CHECKIN = "checkin"
WHEEL = "wheel"
# Regular check-in invitations are outbox rows of this kind, one per occurrence.
CHECKIN_INVITE = "checkin_invite"
MATCHED = (PairStatus.ACTIVE, PairStatus.PAUSED, PairStatus.ENDED)


def _number(value: Any) -> ColumnElement[int]:
    """A JSON answer holding a whole number, as an integer in SQL."""
    return cast(cast(value, String), Integer)


def _day(db: AsyncSession, moment: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a stored moment."""
    if db.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", moment))
    return func.date(moment)


async def cohort_stats(
    db: AsyncSession,
    cohort: Cohort,
    now: datetime,
    zone_of: ZoneOf,
    coaching: Sequence[str],
    areas: Sequence[str],
) -> CohortStats:
    """The cohort's figures; a commitment is overdue by its mentee's own date."""
    stats = CohortStats(cohort.name)
    members = select(Membership.person_id).where(Membership.cohort_id == cohort.id)
    mentees = members.where(Membership.role == Role.MENTEE)

    by_role = await db.execute(
        select(Membership.role, Membership.status, func.count())
        .where(Membership.cohort_id == cohort.id)
        .group_by(Membership.role, Membership.status)
    )
    stats.people = {(role, status): int(n) for role, status, n in by_role.tuples()}
    stats.mentees = sum(n for (role, status), n in stats.people.items() if role == Role.MENTEE)

    by_status = await db.execute(
        select(Pair.status, func.count()).where(Pair.cohort_id == cohort.id).group_by(Pair.status)
    )
    stats.pairs = {status: int(n) for status, n in by_status.tuples()}
    stats.matched_mentees = int(
        await db.scalar(
            select(func.count(func.distinct(Pair.mentee_id))).where(
                Pair.cohort_id == cohort.id,
                Pair.status.in_(MATCHED),
                Pair.mentee_id.in_(mentees),
            )
        )
        or 0
    )

    # The first message either side of a pair wrote (relayed through the bot).
    pair_of = Outgoing.context["pair"].as_integer()
    cohort_pairs = select(Pair.id).where(Pair.cohort_id == cohort.id)
    first = (
        select(pair_of.label("pair_id"), func.min(Outgoing.created_at).label("first_at"))
        .where(Outgoing.kind == "relay", pair_of.in_(cohort_pairs))
        .group_by(pair_of)
        .subquery()
    )
    contacts = await db.execute(
        select(Pair.decided_at, first.c.first_at)
        .join(first, first.c.pair_id == Pair.id)
        .where(Pair.decided_at.is_not(None))
    )
    stats.first_contact_hours = [
        max(0.0, (_aware(first_at) - decided).total_seconds() / 3600)
        for decided, first_at in contacts.tuples()
        if decided is not None
    ]

    finished = await db.execute(
        select(DialogSession.dialog_id, func.count())
        .where(
            DialogSession.person_id.in_(members),
            DialogSession.status == FINISHED,
            DialogSession.dialog_id.in_(list(coaching)),
        )
        .group_by(DialogSession.dialog_id)
    )
    stats.dialogs = {dialog: int(n) for dialog, n in finished.tuples()}
    stats.checkins_done = stats.dialogs.get(CHECKIN, 0)

    asked = (
        Outgoing.kind == CHECKIN_INVITE,
        Outgoing.status == "sent",
        Outgoing.person_id.in_(mentees),
    )
    stats.checkins_asked = int(
        await db.scalar(select(func.count()).select_from(Outgoing).where(*asked)) or 0
    )
    answered = exists().where(
        DialogSession.person_id == Outgoing.person_id,
        DialogSession.dialog_id == CHECKIN,
        DialogSession.status == FINISHED,
        DialogSession.finished_at >= Outgoing.sent_at,
        or_(Outgoing.stale_at.is_(None), DialogSession.finished_at < Outgoing.stale_at),
    )
    stats.checkins_answered = int(
        await db.scalar(select(func.count()).select_from(Outgoing).where(*asked, answered)) or 0
    )

    day = _day(db, DialogSession.finished_at)
    mood = _number(Answer.value)
    moods = await db.execute(
        select(day, func.sum(mood), func.count())
        .join(Answer, Answer.session_id == DialogSession.id)
        .where(
            DialogSession.person_id.in_(mentees),
            DialogSession.dialog_id == CHECKIN,
            DialogSession.status == FINISHED,
            Answer.key == "mood",
            gives(ConsentKind.MOOD, DialogSession.person_id),
        )
        .group_by(day)
    )
    stats.mood = weekly(
        (_as_date(when), int(total), int(n)) for when, total, n in moods.tuples() if n
    )

    mentee_ids = list(await db.scalars(mentees))
    past = (await past_due(db, mentee_ids, now, zone_of)).label("past")
    promises = await db.execute(
        select(Commitment.status, past, func.count())
        .where(Commitment.person_id.in_(mentees))
        .group_by(Commitment.status, past)
    )
    commitments = {"done": 0, "overdue": 0, "open": 0, "dropped": 0}
    for status, overdue, n in promises.tuples():
        key = "overdue" if status == "open" and overdue else status
        commitments[key] = commitments.get(key, 0) + int(n)
    stats.commitments = commitments

    # Each mentee's first and latest Wheel of Life, if they rated it twice or more.
    span = (
        select(
            DialogSession.person_id.label("person_id"),
            func.min(DialogSession.finished_at).label("first_at"),
            func.max(DialogSession.finished_at).label("last_at"),
        )
        .where(
            DialogSession.person_id.in_(mentees),
            DialogSession.dialog_id == WHEEL,
            DialogSession.status == FINISHED,
            gives(ConsentKind.WHEEL, DialogSession.person_id),
        )
        .group_by(DialogSession.person_id)
        .having(func.count() > 1)
        .subquery()
    )
    first_session, last_session = aliased(DialogSession), aliased(DialogSession)
    before, after = aliased(Answer), aliased(Answer)
    changes = await db.execute(
        select(
            before.key,
            func.avg(_number(after.value) - _number(before.value)),
            func.count(),
        )
        .select_from(span)
        .join(
            first_session,
            and_(
                first_session.person_id == span.c.person_id,
                first_session.dialog_id == WHEEL,
                first_session.status == FINISHED,
                first_session.finished_at == span.c.first_at,
            ),
        )
        .join(
            last_session,
            and_(
                last_session.person_id == span.c.person_id,
                last_session.dialog_id == WHEEL,
                last_session.status == FINISHED,
                last_session.finished_at == span.c.last_at,
            ),
        )
        .join(before, before.session_id == first_session.id)
        .join(after, and_(after.session_id == last_session.id, after.key == before.key))
        .where(before.key.in_(list(areas)))
        .group_by(before.key)
    )
    stats.wheel_change = {key: (float(avg), int(n)) for key, avg, n in changes.tuples()}
    return stats


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _aware(value: Any) -> Any:
    """min() over a moment comes back from SQLite as text, from PostgreSQL as a datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
