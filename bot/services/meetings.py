"""/meet: a pair sets its next meeting. Both are told, and both are reminded an hour
before; the mentor's reminder carries a brief of the mentee's open commitments (their
texts only when the mentee shares always) and the latest summary they shared."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.calendar import SLOTS, CalendarEvent, common_times
from bot.domain.cohorts import ShareMode
from bot.domain.dialogs import Dialog
from bot.domain.engine import Progress
from bot.domain.pairs import PairStatus
from bot.domain.quiet import last_before_quiet
from bot.domain.texts import N_, Msg, Value, msg_to_json, plural_msg
from bot.services.clock import Clock
from bot.services.dialogs import DialogService
from bot.services.followup import FollowUpService
from bot.services.messages import REPLY, queue_message
from bot.services.profiles import display_name, partner_name, share_mode
from bot.storage import repositories as repo
from bot.storage.models import Commitment, Meeting, Outgoing, Pair, Person, Profile

MEET_FORM = "meet"
MEET_REMINDER = "meet_reminder"
# A meeting set, moved or called off, told to the other side.
MEETING_NOTICE = "meeting"
REMIND_BEFORE = timedelta(hours=1)
BRIEF_COMMITMENTS = 10


def video_link(text: str) -> bool:
    """A link a calendar and a phone can open: https, with a host, no spaces."""
    parts = urlsplit(text)
    return parts.scheme == "https" and bool(parts.netloc) and not any(c.isspace() for c in text)


class MeetingService:
    def __init__(
        self,
        dialogs: DialogService,
        followup: FollowUpService,
        clock: Clock,
        default_locale: str,
    ) -> None:
        self.dialogs = dialogs
        self.followup = followup
        self.clock = clock
        self.default_locale = default_locale
        dialogs.finishers[MEET_FORM] = self._finish

    async def active_pairs(self, db: AsyncSession, person_id: int) -> list[Pair]:
        result = await db.execute(
            select(Pair)
            .where(
                Pair.status == PairStatus.ACTIVE,
                (Pair.mentee_id == person_id) | (Pair.mentor_id == person_id),
            )
            .order_by(Pair.id)
        )
        return list(result.scalars())

    async def next_meeting(self, db: AsyncSession, pair_id: int) -> Meeting | None:
        result = await db.execute(
            select(Meeting)
            .where(
                Meeting.pair_id == pair_id,
                Meeting.status == "planned",
                Meeting.starts_at > self.clock.now(),
            )
            .order_by(Meeting.starts_at)
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def begin(self, db: AsyncSession, person: Person, pair: Pair) -> None:
        """The person is about to give the time of a meeting of this pair: a draft
        remembers which pair it is for until the form is finished."""
        db.add(
            Meeting(
                pair_id=pair.id,
                starts_at=self.clock.now(),
                set_by=person.id,
                status="draft",
                created_at=self.clock.now(),
            )
        )
        await db.flush()

    async def _finish(
        self, db: AsyncSession, person_id: int, dialog: Dialog, progress: Progress, now: datetime
    ) -> None:
        draft = (
            await db.execute(
                select(Meeting)
                .where(Meeting.set_by == person_id, Meeting.status == "draft")
                .order_by(Meeting.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        person = await db.get(Person, person_id)
        pair = await db.get(Pair, draft.pair_id) if draft else None
        if draft is None or person is None or pair is None or pair.status != PairStatus.ACTIVE:
            return
        zone = await self.followup.zone(db, person_id)
        hour, minute = (int(part) for part in str(progress.answers["time"]).split(":"))
        day = date.fromisoformat(str(progress.answers["day"]))
        starts_at = datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)
        if starts_at <= now:
            draft.status = "cancelled"
            self._tell(
                db,
                person,
                Msg(N_("That moment has already passed. Send /meet to choose another.")),
                now,
                kind=REPLY,
            )
            return
        changed = await self._cancel_planned(db, pair.id)
        draft.starts_at, draft.status = starts_at, "planned"
        # A change updates the event the calendars have; a new meeting is an event of its own.
        draft.uid = changed[0].uid if changed and changed[0].uid else f"{uuid4().hex}@mentorbot"
        draft.sequence = changed[0].sequence + 1 if changed else 0
        link = str(progress.answers.get("link") or "").strip()
        if video_link(link):
            pair.video_link = link
        elif link:
            self._tell(
                db,
                person,
                Msg(
                    N_(
                        "The link was left out: a video call link starts with https://. "
                        "Send /meet to change the meeting and give it again."
                    )
                ),
                now,
                kind=REPLY,
            )
        topic = progress.answers.get("topic")
        for side_id in (pair.mentee_id, pair.mentor_id):
            side = await db.get(Person, side_id)
            if side is None:
                continue
            when = await self.when(db, side, starts_at)
            partner = await partner_name(db, pair, side)
            if side_id == person_id:
                text = Msg(
                    N_(
                        "📅 Your meeting with {name} is set: {day}, {time} ({zone}). You both get "
                        "a reminder an hour before. Open the file below to put it in your calendar."
                    ),
                    {"name": partner, **when},
                )
            else:
                text = Msg(
                    N_(
                        "📅 {name} set your next meeting: {day}, {time} ({zone}).{topic}\n"
                        "Open the file below to put it in your calendar."
                    ),
                    {
                        "name": partner,
                        **when,
                        "topic": Msg(N_("\nTopic: {topic}"), {"topic": str(topic)})
                        if topic
                        else "",
                    },
                )
            invitation = await self.invitation(db, draft, pair, side, topic)
            # The one who set it is waiting for the confirmation; the other is told.
            kind = REPLY if side_id == person_id else MEETING_NOTICE
            self._tell(db, side, text, now, {"pair": pair.id}, invitation, kind)
            remind_at = await self.reminder_moment(db, side, starts_at)
            if remind_at < now:
                continue  # the night before has passed: what they were just told will do
            reminder = (
                N_("⏰ In an hour: your meeting with {name}, {time} ({zone}).")
                if remind_at == starts_at - REMIND_BEFORE
                else N_(
                    "⏰ Before your quiet hours begin, a reminder: your meeting with {name} "
                    "is {day}, {time} ({zone})."
                )
            )
            queue_message(
                db,
                side,
                Msg(reminder, {"name": partner, **when}),
                kind=MEET_REMINDER,
                now=now,
                due_at=remind_at,
                default_locale=self.default_locale,
                context={"meeting": draft.id, "brief": side_id == pair.mentor_id},
                stale_at=starts_at,
            )

    async def reminder_moment(
        self, db: AsyncSession, side: Person, starts_at: datetime
    ) -> datetime:
        """An hour before, unless that is in the person's quiet hours: then just before
        those began, so the reminder is neither at night nor after the meeting."""
        zone = await self.followup.zone(db, side.id)
        return last_before_quiet(starts_at - REMIND_BEFORE, zone, side.quiet_from, side.quiet_to)

    async def invitation(
        self,
        db: AsyncSession,
        meeting: Meeting,
        pair: Pair,
        side: Person,
        topic: object = None,
        cancelled: bool = False,
    ) -> CalendarEvent:
        """The meeting's calendar event for one side, in that side's time zone."""
        assert meeting.uid is not None
        partner = await partner_name(db, pair, side)
        return CalendarEvent(
            uid=meeting.uid,
            sequence=meeting.sequence,
            starts_at=meeting.starts_at,
            zone=await self.followup.zone(db, side.id),
            summary=Msg(N_("Mentoring meeting with {name}"), {"name": partner}),
            description=Msg(N_("Topic: {topic}"), {"topic": str(topic)}) if topic else None,
            location=pair.video_link or "",
            cancelled=cancelled,
        )

    async def suggestions(self, db: AsyncSession, pair: Pair, person: Person) -> Msg | None:
        """Times in the coming week that suit both sides, from their intakes' availability,
        in both time zones; None when an intake says nothing of it."""
        partner_id = pair.mentor_id if person.id == pair.mentee_id else pair.mentee_id
        sides = []
        for side_id in (person.id, partner_id):
            profile = await db.get(Profile, side_id)
            slots = frozenset(profile.data.get("availability") or []) if profile else frozenset()
            if not slots:
                return None
            sides.append((slots & SLOTS.keys(), await self.followup.zone(db, side_id)))
        (_, own_zone), (_, partner_zone) = sides
        times = common_times(sides[0], sides[1], self.clock.now())
        name = await partner_name(db, pair, person)
        if not times:
            return Msg(
                N_(
                    "The times you and {name} are available (from your intakes) do not overlap "
                    "in the coming week: agree on a time together."
                ),
                {"name": name},
            )
        lines: list[Msg] = []
        for start, end in times:
            line = Msg(
                N_("• {day}, {start}–{end} ({zone})"),
                {
                    "day": start.astimezone(own_zone).date(),
                    "start": start.astimezone(own_zone).strftime("%H:%M"),
                    "end": end.astimezone(own_zone).strftime("%H:%M"),
                    "zone": own_zone.key,
                },
            )
            if partner_zone.key != own_zone.key:
                line = Msg(
                    N_("{line}; for {name}: {start}–{end} ({zone})"),
                    {
                        "line": line,
                        "name": name,
                        "start": start.astimezone(partner_zone).strftime("%H:%M"),
                        "end": end.astimezone(partner_zone).strftime("%H:%M"),
                        "zone": partner_zone.key,
                    },
                )
            lines.append(line)
        return Msg(
            N_("Times that suit you both in the coming week (from your intakes):\n{lines}"),
            {"lines": lines},
        )

    def _tell(
        self,
        db: AsyncSession,
        person: Person,
        msg: Msg,
        now: datetime,
        context: dict[str, Any] | None = None,
        invitation: CalendarEvent | None = None,
        kind: str = MEETING_NOTICE,
    ) -> None:
        queue_message(
            db,
            person,
            msg,
            kind=kind,
            now=now,
            default_locale=self.default_locale,
            context=context,
            invitation=invitation,
        )

    async def when(self, db: AsyncSession, person: Person, at: datetime) -> dict[str, Value]:
        zone: ZoneInfo = await self.followup.zone(db, person.id)
        local = at.astimezone(zone)
        return {"day": local.date(), "time": local.strftime("%H:%M"), "zone": zone.key}

    async def _cancel_planned(self, db: AsyncSession, pair_id: int) -> list[Meeting]:
        planned = list(
            (
                await db.execute(
                    select(Meeting).where(
                        Meeting.pair_id == pair_id,
                        Meeting.status == "planned",
                        Meeting.starts_at > self.clock.now(),
                    )
                )
            ).scalars()
        )
        for meeting in planned:
            meeting.status = "cancelled"
            await db.execute(
                update(Outgoing)
                .where(
                    Outgoing.status == "pending",
                    Outgoing.kind == MEET_REMINDER,
                    Outgoing.context["meeting"].as_integer() == meeting.id,
                )
                .values(status="cancelled")
            )
        return planned

    async def cancel(self, db: AsyncSession, person: Person, meeting_id: int) -> bool:
        """Called off by either side; the other is told. False when it is no longer planned."""
        meeting = await db.get(Meeting, meeting_id)
        pair = await db.get(Pair, meeting.pair_id) if meeting else None
        if (
            meeting is None
            or pair is None
            or meeting.status != "planned"
            or person.id not in (pair.mentee_id, pair.mentor_id)
        ):
            return False
        await self._cancel_planned(db, pair.id)
        now = self.clock.now()
        if meeting.uid is not None:
            meeting.sequence += 1
        for side_id in (pair.mentee_id, pair.mentor_id):
            side = await db.get(Person, side_id)
            if side is None:
                continue
            cancellation = (
                await self.invitation(db, meeting, pair, side, cancelled=True)
                if meeting.uid is not None
                else None
            )
            when = await self.when(db, side, meeting.starts_at)
            name = await partner_name(db, pair, side)
            if side.id == person.id:
                text = Msg(
                    N_("📅 Your meeting with {name} on {day}, {time} ({zone}) is called off."),
                    {"name": name, **when},
                )
            else:
                text = Msg(
                    N_("📅 {name} called off your meeting on {day}, {time} ({zone})."),
                    {"name": name, **when},
                )
            if cancellation is not None:
                text = Msg(
                    N_("{text}\nOpen the file below to take it out of your calendar."),
                    {"text": text},
                )
            kind = REPLY if side.id == person.id else MEETING_NOTICE
            self._tell(db, side, text, now, {"pair": pair.id}, cancellation, kind)
        return True

    async def compose_reminder(
        self, db: AsyncSession, row: Outgoing, person: Person, now: datetime
    ) -> bool:
        """The mentor's reminder gets the brief, as things are when it is sent."""
        meeting = await db.get(Meeting, int(row.context.get("meeting", 0)))
        if meeting is None or meeting.status != "planned":
            return False
        if not row.context.get("brief"):
            return True
        pair = await db.get(Pair, meeting.pair_id)
        mentee = await db.get(Person, pair.mentee_id) if pair else None
        if pair is None or mentee is None:
            return True
        profile = await db.get(Profile, mentee.id)
        name = display_name(mentee, profile, pair)
        commitments = list(
            (
                await db.execute(
                    select(Commitment)
                    .where(Commitment.person_id == mentee.id, Commitment.status == "open")
                    .order_by(Commitment.due_on)
                    .limit(BRIEF_COMMITMENTS)
                )
            ).scalars()
        )
        parts: list[Msg] = []
        if commitments and share_mode(profile) == ShareMode.ALWAYS:
            lines: list[Msg] = [
                Msg(N_("• {text} — {day}"), {"text": c.text, "day": c.due_on}) for c in commitments
            ]
            parts.append(
                Msg(
                    N_("<b>Open commitments of {name}</b>\n{lines}"), {"name": name, "lines": lines}
                )
            )
        elif commitments:
            parts.append(
                plural_msg(
                    "{name} has {count} open commitment (the details are theirs to share).",
                    "{name} has {count} open commitments (the details are theirs to share).",
                    "count",
                    {"name": name, "count": len(commitments)},
                )
            )
        else:
            parts.append(Msg(N_("{name} has no open commitments."), {"name": name}))
        latest = (
            await db.execute(
                select(Outgoing)
                .where(
                    Outgoing.kind == "summary",
                    Outgoing.chat_id == person.id,
                    Outgoing.status == "sent",
                    Outgoing.context["from"].as_integer() == mentee.id,
                )
                .order_by(Outgoing.sent_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if latest is not None:
            record = await repo.get_session(db, mentee.id, int(latest.context.get("session", 0)))
            dialog = self.dialogs.dialogs.get(record.dialog_id) if record else None
            if dialog is not None and latest.sent_at is not None:
                parts.append(
                    Msg(
                        N_(
                            "Latest summary {name} shared with you: {title}, {day} "
                            "(above in this chat)."
                        ),
                        {"name": name, "title": Msg(dialog.title), "day": latest.sent_at.date()},
                    )
                )
        row.payload = {
            "locale": row.payload["locale"],
            "parts": [row.payload] + [{"msg": msg_to_json(part)} for part in parts],
        }
        return True
