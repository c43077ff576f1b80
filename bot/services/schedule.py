"""What the bot starts on its own schedule, and the rules every such message obeys.

Recurring messages (the regular check-in, the monthly Wheel, mentors' digests and
coordinators' weekly summaries) are outbox rows, one per occurrence, each naming the next:
when an occurrence is claimed for sending (or dropped as stale), the next one is queued in
the same transaction. A sweep starts the series of people who have none yet.

When rows are claimed, ``gate`` decides what goes now: a row past its ``stale_at`` is
dropped (recorded as "stale"); for a person who blocked the bot it is cancelled; in their
quiet hours or pause it waits; past their daily budget it waits for the next day; several
for one person at once are merged into one message."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.cohorts import CheckinCadence, CohortSettings, MembershipStatus, Role
from bot.domain.pairs import PairStatus
from bot.domain.quiet import allowed_at
from bot.domain.recurrence import Recurrence
from bot.domain.texts import N_, Msg, msg_from_json, msg_to_json
from bot.services.clock import Clock
from bot.services.digests import mentor_digest, programme_summary
from bot.services.followup import FollowUpService
from bot.services.messages import REPLY, queue_message
from bot.storage import repositories as repo
from bot.storage.models import (
    Cohort,
    CohortCoordinator,
    DialogSession,
    Membership,
    Outgoing,
    Pair,
    Person,
)
from bot.telegram.buttons import Invitation

log = logging.getLogger(__name__)

CHECKIN_INVITE = "checkin_invite"
WHEEL_INVITE = "wheel_invite"
DIGEST = "digest"
PROGRAMME_SUMMARY = "programme_summary"
RECURRING = (CHECKIN_INVITE, WHEEL_INVITE, DIGEST, PROGRAMME_SUMMARY)
# What a person is waiting for goes at once: a partner's message or shared summary, a
# coordinator's broadcast or poll, a reply the bot could only give through the outbox.
# Everything else the bot starts, to anyone, keeps to the person's quiet hours, pause and
# daily budget.
WAITED_FOR = ("relay", "summary", "broadcast", "poll", "quiz", REPLY)
# A meeting's reminder, and the news that the partner set, moved or called off a meeting,
# keep to quiet hours but not to the budget: tomorrow they may be no use.
UNBUDGETED = ("meet_reminder", "meeting")
# Answered with a button that names its occurrence; pressing an older one says it expired.
INVITE_DIALOGS = {CHECKIN_INVITE: "checkin", WHEEL_INVITE: "wheel"}
# A Wheel rated this recently makes the monthly invitation unnecessary.
WHEEL_RECENT = timedelta(days=14)
FIRST_WHEEL_AFTER = timedelta(weeks=4)
DAILY_BUDGET = 3
# How many people one transaction of the sweep starts series for.
PLAN_CHUNK = 500


Composer = Callable[[AsyncSession, Outgoing, Person, datetime], Awaitable[bool]]


def occurrence_code(at: datetime) -> str:
    """An occurrence as it travels in callback data: UTC minutes since the epoch."""
    return str(int(at.timestamp()) // 60)


def invitation_button(kind: str, code: str) -> str:
    """inv:<kind>:<occurrence>, as queued rows hold it (it must still parse when they are
    sent, after an upgrade too)."""
    return Invitation(kind=kind, code=code).pack()


class Scheduler:
    def __init__(
        self, clock: Clock, followup: FollowUpService, default_locale: str, budget: int
    ) -> None:
        self.clock = clock
        self.followup = followup
        self.default_locale = default_locale
        self.budget = budget
        # What is written when it is sent, by kind; False from one means nothing to send.
        self.composers: dict[str, Composer] = {
            CHECKIN_INVITE: self._close_open_checkin,
            WHEEL_INVITE: self._wheel_still_due,
            DIGEST: self._compose_digest,
            PROGRAMME_SUMMARY: self._compose_digest,
        }

    # Daily work --------------------------------------------------------------

    async def claim_day(self, db: AsyncSession, task: str) -> bool:
        """Whether the caller runs ``task`` today (UTC): true once a day in all, whatever
        the number of processes, as the claim is written in the caller's transaction (a
        rollback gives the day back; a process racing to claim it first gets an
        IntegrityError)."""
        return await repo.advance_state(db, f"daily:{task}", self.clock.now().date().isoformat())

    # Series -----------------------------------------------------------------

    async def recurrence(self, db: AsyncSession, kind: str, person: Person) -> Recurrence | None:
        """How often this person gets this kind now; None when they get none."""
        if person.unreachable_at is not None:
            return None
        zone = await self.followup.zone(db, person.id)
        if kind in (CHECKIN_INVITE, WHEEL_INVITE):
            if person.checkins_stopped:
                return None
            cohort = await self._mentee_cohort(db, person.id)
            every = CohortSettings.of(cohort.settings).checkins if cohort else CheckinCadence.OFF
            return (
                None
                if every == CheckinCadence.OFF
                else series_recurrence(kind, person, zone, every)
            )
        if kind == DIGEST:
            mentoring = await repo.has_mentees(db, person.id)
            return series_recurrence(kind, person, zone) if mentoring else None
        coordinating = await db.scalar(
            select(exists().where(CohortCoordinator.person_id == person.id))
        )
        return series_recurrence(kind, person, zone) if coordinating else None

    async def _mentee_cohort(self, db: AsyncSession, person_id: int) -> Cohort | None:
        result = await db.execute(
            select(Cohort)
            .join(Membership, Membership.cohort_id == Cohort.id)
            .where(
                Membership.person_id == person_id,
                Membership.role == Role.MENTEE,
                Membership.status == MembershipStatus.ACTIVE,
            )
            .order_by(Membership.joined_at.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def _queue(
        self,
        db: AsyncSession,
        kind: str,
        person: Person,
        at: datetime,
        recurrence: Recurrence,
        anchor_day: int,
        looked_up: dict[str, Outgoing] | None = None,
    ) -> Outgoing | None:
        """One occurrence, unless it is queued already (None then); stale once the next has
        come. ``looked_up``: the rows of the series keys in question, when read already."""
        series = series_key(kind, person.id, at)
        existing = (
            looked_up.get(series) if looked_up is not None else await repo.by_series(db, series)
        )
        if existing is not None:
            if existing.status != "cancelled":
                return None
            # Cancelled by a change of settings that has now been undone.
            existing.status, existing.error = "pending", None
            return existing
        code = occurrence_code(at)
        texts = {
            CHECKIN_INVITE: (
                Msg(N_("👋 Time for your check-in: a few short questions, a minute or two.")),
                [[(Msg(N_("Start the check-in")), invitation_button(CHECKIN_INVITE, code))]],
            ),
            WHEEL_INVITE: (
                Msg(
                    N_(
                        "🎡 A month has passed. How do the eight areas of your life look now? "
                        "Rate them again and your wheel will show the change."
                    )
                ),
                [[(Msg(N_("Rate the Wheel of Life")), invitation_button(WHEEL_INVITE, code))]],
            ),
            # The heading: the rest is composed when it is sent, from what happened up to then.
            DIGEST: (
                Msg(N_("📋 <b>Your mentees: the last day</b>"))
                if person.digest_daily
                else Msg(N_("📋 <b>Your mentees: the last week</b>")),
                [],
            ),
            PROGRAMME_SUMMARY: (Msg(N_("📊 <b>The programme this week</b>")), []),
        }
        msg, buttons = texts[kind]
        return queue_message(
            db,
            person,
            msg,
            kind=kind,
            now=self.clock.now(),
            due_at=at,
            default_locale=self.default_locale,
            context={"at": at.isoformat(), "day": anchor_day},
            buttons=buttons,
            stale_at=recurrence.following(at, anchor_day),
            series=series,
        )

    async def start_series(self, db: AsyncSession, person: Person, kinds: Sequence[str]) -> int:
        """Queue the first occurrence of each of these series the person should have and
        has not (in the caller's unit of work)."""
        now = self.clock.now()
        started = 0
        for kind in kinds:
            recurrence = await self.recurrence(db, kind, person)
            if recurrence is None:
                continue
            busy = await db.scalar(
                select(
                    exists().where(
                        Outgoing.person_id == person.id,
                        Outgoing.kind == kind,
                        Outgoing.status.in_(("pending", "sending")),
                    )
                )
            )
            if busy:
                continue
            last = await repo.latest_outgoing(db, person.id, kind, ("sent", "merged"))
            joined = await self._joined(db, person.id) if kind == WHEEL_INVITE else None
            at = first_occurrence(kind, recurrence, now, last.due_at if last else None, joined)
            day = at.astimezone(recurrence.zone).day
            started += await self._queue(db, kind, person, at, recurrence, day) is not None
        return started

    async def _joined(self, db: AsyncSession, person_id: int) -> datetime | None:
        joined: datetime | None = await db.scalar(
            select(Membership.joined_at)
            .where(Membership.person_id == person_id, Membership.status == MembershipStatus.ACTIVE)
            .order_by(Membership.joined_at)
            .limit(1)
        )
        return joined

    async def replan(self, db: AsyncSession, person: Person) -> None:
        """A setting changed: the queued occurrences go and new ones follow the setting.
        ``PeopleService.change_setting`` calls it, for the settings that need it."""
        await repo.cancel_pending(db, person.id, RECURRING)
        await self.start_series(db, person, RECURRING)

    async def plan(self, db: AsyncSession, kind: str, size: int = PLAN_CHUNK) -> int:
        """The sweep, one chunk of it: start the series of this kind of up to ``size``
        people who have none and should (new mentees, new pairs, new coordinators,
        settings switched back on), a few queries for the whole chunk; returns how many
        were started. The caller commits each chunk as its own short transaction and asks
        again while a whole chunk was started. If another process queued one of the same
        occurrences first, writing the chunk fails (IntegrityError): it is there, once."""
        without = ~exists().where(
            Outgoing.person_id == Person.id,
            Outgoing.kind == kind,
            Outgoing.status.in_(("pending", "sending")),
        )
        reachable = Person.unreachable_at.is_(None)
        # Who should have this kind, how often, since when.
        found: dict[int, tuple[str | None, datetime | None]] = {}
        if kind in (CHECKIN_INVITE, WHEEL_INVITE):
            every = Cohort.settings["checkins"].as_string()
            rows = await db.execute(
                select(Person.id, every, Membership.joined_at)
                .join(Membership, Membership.person_id == Person.id)
                .join(Cohort, Cohort.id == Membership.cohort_id)
                .where(
                    reachable,
                    without,
                    Membership.role == Role.MENTEE,
                    Membership.status == MembershipStatus.ACTIVE,
                    Person.checkins_stopped.is_(False),
                    or_(every.is_(None), every != CheckinCadence.OFF),
                )
                .order_by(Person.id, Membership.joined_at.desc())
                .limit(size)
            )
            for person_id, setting, joined in rows:
                cadence = CohortSettings.of({"checkins": setting}).checkins
                found.setdefault(person_id, (cadence, joined))
        else:
            holder = (
                select(Pair.mentor_id).where(Pair.status == PairStatus.ACTIVE)
                if kind == DIGEST
                else select(CohortCoordinator.person_id)
            )
            ids = await db.execute(
                select(Person.id)
                .where(reachable, without, Person.id.in_(holder))
                .order_by(Person.id)
                .limit(size)
            )
            found = {person_id: (None, None) for person_id in ids.scalars()}
        if not found:
            return 0
        people, profiles = await repo.people_with_profiles(db, set(found))
        last = await repo.latest_due(db, list(found), kind, ("sent", "merged"))
        now = self.clock.now()
        planned = []
        for person_id, (every, joined) in found.items():
            person = people[person_id]
            zone = self.followup.zone_of(person, profiles.get(person_id))
            recurrence = series_recurrence(kind, person, zone, every)
            at = first_occurrence(kind, recurrence, now, last.get(person_id), joined)
            planned.append((person, recurrence, at))
        looked_up = await repo.by_series_keys(
            db, [series_key(kind, person.id, at) for person, _, at in planned]
        )
        queued = 0
        for person, recurrence, at in planned:
            day = at.astimezone(recurrence.zone).day
            queued += (
                await self._queue(db, kind, person, at, recurrence, day, looked_up) is not None
            )
        return queued

    async def _continue(self, db: AsyncSession, row: Outgoing) -> Outgoing | None:
        """Queue the occurrence after this one, if the person still gets this kind; the row
        queued, if any."""
        if row.kind not in RECURRING or row.person_id is None or "at" not in row.context:
            return None
        person = await db.get(Person, row.person_id)
        recurrence = await self.recurrence(db, row.kind, person) if person else None
        if person is None or recurrence is None:
            return None
        anchor_day = int(row.context.get("day") or 1)
        at = recurrence.following(datetime.fromisoformat(row.context["at"]), anchor_day)
        return await self._queue(db, row.kind, person, at, recurrence, anchor_day)

    # Invitations ------------------------------------------------------------

    async def invitation(self, db: AsyncSession, person_id: int, kind: str, code: str) -> str:
        """Whether an invitation button still works: "open", "done" (answered since it came)
        or "expired" (a newer one came, or it is not this person's)."""
        latest = await repo.latest_outgoing(db, person_id, kind, ("sent", "merged"))
        if latest is None or "at" not in latest.context:
            return "expired"
        if occurrence_code(datetime.fromisoformat(latest.context["at"])) != code:
            return "expired"
        finished_since = await db.scalar(
            select(
                exists().where(
                    DialogSession.person_id == person_id,
                    DialogSession.dialog_id == INVITE_DIALOGS[kind],
                    DialogSession.status == repo.FINISHED,
                    DialogSession.finished_at >= (latest.sent_at or latest.due_at),
                )
            )
        )
        return "done" if finished_since else "open"

    # The gate ---------------------------------------------------------------

    async def gate(self, db: AsyncSession, rows: list[Outgoing], now: datetime) -> list[Outgoing]:
        """Of the claimed rows, those to send now; the others are changed in place. A
        person's rows go as one message: the stale occurrence's successor that is due
        already, and their other due rows not in this claim, are claimed and gated with
        these (after downtime, one message with the current occurrence, not several)."""
        sending: list[Outgoing] = []
        budgeted: dict[int, list[Outgoing]] = {}
        zones: dict[int, ZoneInfo] = {}
        # Two queries for everyone in the batch, not two each.
        people, profiles = await repo.people_with_profiles(
            db, {row.person_id for row in rows if row.person_id is not None}
        )
        # Each person's other due rows join theirs: one message for all that is due.
        gated = {r.person_id for r in rows if r.person_id is not None and r.kind not in WAITED_FOR}
        waiting = deque([*rows, *await repo.claim_due_of(db, gated, now, WAITED_FOR)])
        while waiting:
            row = waiting.popleft()
            if row.stale_at is not None and now >= row.stale_at:
                row.status, row.error = "stale", "its next occurrence had come"
                successor = await self._continue(db, row)
                if successor is not None and successor.due_at <= now:
                    await db.flush()
                    waiting.extend(repo.claim([successor], now))
                continue
            composer = self.composers.get(row.kind)
            if row.kind in WAITED_FOR or row.person_id is None:
                person = people.get(row.person_id) if row.person_id else None
                if composer is not None and (
                    person is None or not await self._compose(composer, db, row, person, now)
                ):
                    continue
                sending.append(row)
                continue
            person = people.get(row.person_id)
            if person is None or person.unreachable_at is not None:
                row.status, row.error = "cancelled", "unreachable"
                continue
            zone = zones[person.id] = self.followup.zone_of(person, profiles.get(person.id))
            at = allowed_at(now, zone, person.quiet_from, person.quiet_to, person.paused_until)
            if at > now:
                row.status, row.due_at, row.error = "pending", at, "quiet hours or pause"
                continue
            await self._continue(db, row)
            if composer is not None and not await self._compose(composer, db, row, person, now):
                continue
            budgeted.setdefault(person.id, []).append(row)
        if not budgeted:
            return sending
        sent = await repo.sent_times(
            db, budgeted, (*WAITED_FOR, *UNBUDGETED), now - timedelta(days=1)
        )
        for person_id, mine in budgeted.items():
            zone = zones[person_id]
            midnight = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
            used = sum(1 for at in sent.get(person_id, ()) if at >= midnight)
            held = [row for row in mine if row.kind not in UNBUDGETED]
            if held and used >= self.budget:
                person = people[person_id]
                tomorrow = (midnight + timedelta(days=1)).astimezone(UTC)
                later = allowed_at(tomorrow, zone, person.quiet_from, person.quiet_to)
                for row in held:
                    row.status, row.due_at, row.error = "pending", later, "daily limit reached"
                mine = [row for row in mine if row.kind in UNBUDGETED]
                if not mine:
                    continue
            sending.append(merge(mine))
        return sending

    async def _compose(
        self, composer: Composer, db: AsyncSession, row: Outgoing, person: Person, now: datetime
    ) -> bool:
        """Whether the row goes; one that has nothing to tell is skipped, and one its
        composer fails on is marked failed (with the exception's type only) so that it
        holds up neither the rows after it nor the process. Database and network trouble
        is not the row's: it reaches the caller, whose transaction is rolled back."""
        try:
            composed = await composer(db, row, person, now)
        except (SQLAlchemyError, OSError, TimeoutError):
            raise
        except Exception as exc:
            log.error("outbox %s could not be composed: %s", row.id, type(exc).__name__)
            row.status, row.error = "failed", f"compose: {type(exc).__name__}"
            return False
        if not composed:
            row.status, row.error = "skipped", "nothing to tell"
        return composed

    async def _close_open_checkin(
        self, db: AsyncSession, row: Outgoing, person: Person, now: datetime
    ) -> bool:
        """At most one open check-in: the one unfinished from last time is closed."""
        await repo.abandon_unfinished(db, person.id, "checkin", now)
        return True

    async def _wheel_still_due(
        self, db: AsyncSession, row: Outgoing, person: Person, now: datetime
    ) -> bool:
        recent = await db.scalar(
            select(
                exists().where(
                    DialogSession.person_id == person.id,
                    DialogSession.dialog_id == INVITE_DIALOGS[WHEEL_INVITE],
                    DialogSession.status == repo.FINISHED,
                    DialogSession.finished_at >= now - WHEEL_RECENT,
                )
            )
        )
        return not recent

    async def _compose_digest(
        self, db: AsyncSession, row: Outgoing, person: Person, now: datetime
    ) -> bool:
        if "parts" in row.payload:
            # Composed when it was claimed before, by a process that stopped before sending
            # it (and maybe merged with others then): it goes as it was composed.
            return True
        days = 1 if row.kind == DIGEST and person.digest_daily else 7
        since = now - timedelta(days=days)
        compose = mentor_digest if row.kind == DIGEST else programme_summary
        parts = await compose(db, person, since, now, self.followup.zone_of)
        if not parts:
            return False
        # Under the heading it was queued with.
        row.payload = {
            "locale": row.payload["locale"],
            "parts": [{"msg": row.payload["msg"]}, *({"msg": msg_to_json(m)} for m in parts)],
        }
        return True


def series_key(kind: str, person_id: int, at: datetime) -> str:
    return f"{kind}:{person_id}:{at:%Y%m%dT%H%M}"


def series_recurrence(
    kind: str, person: Person, zone: ZoneInfo, every: str | None = None
) -> Recurrence:
    """How often a kind comes: check-ins as the cohort says (``every``), the Wheel monthly,
    digests daily or weekly as the mentor chose, summaries weekly; all at the person's day
    and hour."""
    frequency = {
        CHECKIN_INVITE: every or CohortSettings().checkins,
        WHEEL_INVITE: "monthly",
        DIGEST: "daily" if person.digest_daily else "weekly",
        PROGRAMME_SUMMARY: "weekly",
    }[kind]
    return Recurrence(frequency, person.checkin_weekday, person.checkin_hour, zone)


def first_occurrence(
    kind: str,
    recurrence: Recurrence,
    now: datetime,
    last_due: datetime | None,
    joined: datetime | None,
) -> datetime:
    """When a series starts: not within a day of its last occurrence (a setting moved the
    hour); the Wheel's first invitation four weeks after the mentee joined, at the first
    of their hour from then (the monthly series then keeps that day of the month)."""
    after = max(now, last_due + timedelta(hours=20)) if last_due else now
    if kind == WHEEL_INVITE and last_due is None:
        after = max(now, (joined or now) + FIRST_WHEEL_AFTER)
        return replace(recurrence, frequency="daily").first_after(after)
    return recurrence.first_after(after)


def merge(rows: list[Outgoing]) -> Outgoing:
    """Several messages for one person become one: the first row carries them all,
    numbered, with each one's buttons numbered the same; the others are marked merged."""
    if len(rows) == 1:
        return rows[0]
    first = rows[0]
    parts: list[dict[str, Any]] = []
    for n, row in enumerate(rows, start=1):
        for i, part in enumerate(row.payload.get("parts") or [row.payload]):
            buttons = [
                [
                    {
                        "msg": msg_to_json(
                            Msg(N_("{n} · {label}"), {"n": n, "label": msg_from_json(b["msg"])})
                        ),
                        "data": b["data"],
                    }
                    for b in button_row
                ]
                for button_row in part.get("buttons", [])
            ]
            text = msg_from_json(part["msg"])
            numbered = Msg(N_("{n}. {text}"), {"n": n, "text": text}) if i == 0 else text
            parts.append({"msg": msg_to_json(numbered), "buttons": buttons})
        if row is not first:
            row.status, row.error = "merged", f"sent with #{first.id}"
    first.payload = {"locale": first.payload["locale"], "parts": parts}
    return first
