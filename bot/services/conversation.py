"""What passes between a mentor and a mentee through the bot: relayed messages (and those
that cannot be delivered), nudges to a mentor who has not answered, whom a mentor with
several mentees is talking to, session summaries a mentee shares (/share), and swapping
contacts once both agree."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.cohorts import CohortSettings, ShareMode
from bot.domain.dialogs import Dialog
from bot.domain.engine import SummaryLine
from bot.domain.texts import N_, Msg, msg_to_json
from bot.i18n import locale_for
from bot.services import pair_context
from bot.services.clock import Clock
from bot.services.dialogs import DialogService
from bot.services.messages import REPLY, Notifier, queue_message
from bot.services.pairs import PairService
from bot.services.profiles import display_name, share_mode
from bot.storage import cohorts as cohort_store
from bot.storage import conversation as store
from bot.storage import pairs as pair_store
from bot.storage import repositories as repo
from bot.storage.models import Cohort, DialogSession, Outgoing, Pair, Person, Profile

# A message a person writes to their partner, as the partner gets it (and as their copy
# of their data finds it: bot/services/privacy.py).
RELAYED_TEXT = N_("<b>{name}:</b>\n{text}")


class SummaryOffer(enum.Enum):
    """What becomes of a finished coaching session's summary, as the mentee chose (/share)."""

    KEEP = "keep"  # not shared: no mentor, the mentee never shares, or not a session to share
    SEND = "send"  # the mentee always shares: it goes without asking
    ASK = "ask"  # the mentee is asked each time


@dataclass
class Shareable:
    """A finished coaching session of a mentee, and the mentor it may go to."""

    mentor: Person
    name: str  # how the mentee is shown to the mentor
    record: DialogSession
    dialog: Dialog
    lines: list[SummaryLine]


class Relayed(enum.Enum):
    QUEUED = "queued"
    PAUSED = "paused"
    NO_PAIR = "no_pair"
    CHOOSE = "choose"
    UNREACHABLE = "unreachable"
    # It replies to a message of a pair that is over: it goes to nobody else instead.
    ENDED = "ended"
    # A mentee of the mentor's left; until he names one again it goes to nobody.
    LEFT = "left"


class ConversationService:
    def __init__(
        self,
        dialogs: DialogService,
        pairs: PairService,
        clock: Clock,
        default_locale: str = "en",
    ) -> None:
        self.dialogs = dialogs
        self.pairs = pairs
        self.clock = clock
        self.default_locale = default_locale
        self.notifier = Notifier(clock, default_locale)

    # Relaying ------------------------------------------------------------------

    async def relay(
        self,
        db: AsyncSession,
        sender: Person,
        message_id: int,
        text: str | None,
        reply_to: int | None,
    ) -> Relayed:
        """Pass a message to the other side of the pair it is about (the one of the message
        it replies to, the mentee chosen in /mentees, or the only one), through the outbox."""
        about = await pair_context.resolve(
            db, sender.id, pair_context.Naming(reply_to=reply_to), pair_context.OPEN
        )
        pair = about.pair
        if pair is None or pair.status != "active":
            if pair is not None:
                return Relayed.PAUSED
            return {
                pair_context.Found.CHOOSE: Relayed.CHOOSE,
                pair_context.Found.GONE: Relayed.ENDED,
                pair_context.Found.LEFT: Relayed.LEFT,
            }.get(about.found, Relayed.NO_PAIR)
        other = await db.get(
            Person, pair.mentor_id if sender.id == pair.mentee_id else pair.mentee_id
        )
        assert other is not None
        if other.unreachable_at is not None:
            await self._alert_unreachable(db, pair, sender, other)
            return Relayed.UNREACHABLE
        profile = await db.get(Profile, sender.id)
        name = display_name(sender, profile, pair)
        context = {"pair": pair.id, "from": sender.id}
        locale = locale_for(other, other.telegram_language, self.default_locale)
        now = self.clock.now()
        if text is not None:
            repo.enqueue(
                db,
                kind=store.RELAY,
                chat_id=other.id,
                method="sendMessage",
                payload={
                    "msg": msg_to_json(Msg(RELAYED_TEXT, {"name": name, "text": text})),
                    "locale": locale,
                },
                now=now,
                context=context,
            )
        else:
            self.notifier.notify(
                db, other, Msg(N_("<b>{name}</b> sent:"), {"name": name}), store.RELAY, context
            )
            repo.enqueue(
                db,
                kind=store.RELAY,
                chat_id=other.id,
                method="copyMessage",
                payload={"from_chat_id": sender.id, "message_id": message_id},
                now=now,
                context=context,
            )
        pair.last_contact_at = now
        if sender.id == pair.mentee_id:
            await self._nudge_later(db, pair, sender, other, now)
        else:
            await store.cancel_nudges(db, pair.id)
        return Relayed.QUEUED

    async def talk_to(self, db: AsyncSession, mentor: Person, pair_id: int) -> Pair | None:
        """A mentor with several mentees picks whom their next messages go to."""
        pair = next(
            (p for p in await self.pairs.pairs_of_mentor(db, mentor.id) if p.id == pair_id), None
        )
        profile = await db.get(Profile, mentor.id)
        if pair is not None and profile is not None:
            profile.data = {**profile.data, "talking_to": pair.id}
        return pair

    # Nudges ------------------------------------------------------------------------

    async def _nudge_later(
        self, db: AsyncSession, pair: Pair, mentee: Person, mentor: Person, now: datetime
    ) -> None:
        """A mentee's message waits for an answer: the mentor is nudged after the cohort's
        hours and after twice as many, then the coordinators are told. Only the first
        unanswered message counts."""
        if await store.waiting_nudges(db, pair.id):
            return
        profile = await db.get(Profile, mentee.id)
        name = display_name(mentee, profile, pair)
        context = {"pair": pair.id}
        cohort = await db.get(Cohort, pair.cohort_id)
        assert cohort is not None
        first = CohortSettings.of(cohort.settings).nudge_hours
        nudge_hours = (first, 2 * first)
        for hours in nudge_hours:
            queue_message(
                db,
                mentor,
                Msg(
                    N_("🔔 {name} wrote to you {hours} h ago and is waiting for your answer."),
                    {"name": name, "hours": hours},
                ),
                kind="nudge",
                now=now,
                due_at=now + timedelta(hours=hours),
                default_locale=self.default_locale,
                context=context,
                # Once the next nudge is due, this one would only repeat it.
                stale_at=now + timedelta(hours=2 * hours) if hours == first else None,
            )
        for coordinator in await cohort_store.coordinators(db, pair.cohort_id):
            queue_message(
                db,
                coordinator,
                Msg(
                    N_(
                        "⚠️ Pair #{pair}: {mentee} has waited {hours} h for an answer from {mentor}."
                    ),
                    {
                        "pair": pair.id,
                        "mentee": name,
                        "mentor": mentor.first_name,
                        "hours": nudge_hours[-1],
                    },
                ),
                kind="nudge_alert",
                now=now,
                due_at=now + timedelta(hours=nudge_hours[-1], minutes=1),
                default_locale=self.default_locale,
                context=context,
            )

    # Undeliverable messages --------------------------------------------------

    async def undeliverable(self, db: AsyncSession, row: Outgoing, status: str) -> None:
        """A relayed message could not be delivered: the sender is told, and so are the
        cohort's coordinators."""
        pair_id, sender_id = row.context.get("pair"), row.context.get("from")
        if row.kind != store.RELAY or pair_id is None or sender_id is None:
            return
        pair = await db.get(Pair, pair_id)
        sender = await db.get(Person, sender_id)
        other = await db.get(Person, row.chat_id)
        if pair is None or sender is None or other is None:
            return
        await self._alert_unreachable(db, pair, sender, other)

    async def _alert_unreachable(
        self, db: AsyncSession, pair: Pair, sender: Person, other: Person
    ) -> None:
        self.notifier.notify(
            db,
            sender,
            Msg(
                N_(
                    "Your message could not be delivered: the other side of your pair cannot be "
                    "reached by the bot (they may have blocked it). Your programme coordinator has "
                    "been told."
                )
            ),
            REPLY,
        )
        await self.notifier.tell_coordinators(
            db,
            pair.cohort_id,
            Msg(
                N_(
                    "⚠️ Pair #{pair}: a message from {sender} could not be delivered to "
                    "{other}, who cannot be reached (blocked the bot?)."
                ),
                {"pair": pair.id, "sender": sender.first_name, "other": other.first_name},
            ),
            {"pair": pair.id},
        )

    # Sharing summaries -------------------------------------------------------

    async def share_mode(self, db: AsyncSession, person_id: int) -> str:
        return share_mode(await db.get(Profile, person_id))

    async def set_share_mode(self, db: AsyncSession, person_id: int, mode: str) -> bool:
        profile = await db.get(Profile, person_id)
        if profile is None or mode not in tuple(ShareMode):
            return False
        profile.data = {**profile.data, "share": mode}
        return True

    async def name_for_mentor(self, db: AsyncSession, mentee: Person) -> str | None:
        """How the mentee is shown to the mentor of their active pair; None without one."""
        pair = await self.pairs.active_pair(db, mentee.id)
        profile = await db.get(Profile, mentee.id)
        return display_name(mentee, profile, pair) if pair is not None else None

    async def mentor_of(self, db: AsyncSession, mentee_id: int) -> Person | None:
        pair = await pair_store.active_as_mentee(db, mentee_id)
        return await db.get(Person, pair.mentor_id) if pair else None

    async def summary_offer(
        self, db: AsyncSession, mentee: Person, session_id: int
    ) -> SummaryOffer:
        """Whether the summary of a session the mentee just finished goes to their mentor:
        only a coaching session of theirs, only to the mentor of their active pair, never
        if they chose never, without asking if they chose always."""
        if await self.shareable(db, mentee, session_id) is None:
            return SummaryOffer.KEEP
        mode = await self.share_mode(db, mentee.id)
        if mode == ShareMode.NEVER:
            return SummaryOffer.KEEP
        return SummaryOffer.SEND if mode == ShareMode.ALWAYS else SummaryOffer.ASK

    async def shareable(
        self, db: AsyncSession, mentee: Person, session_id: int
    ) -> Shareable | None:
        """What the mentee may share of one of their sessions, and with whom: a finished
        coaching session (never a form: a report or a look back is for the coordinators)
        and the mentor of their active pair. None when either is missing."""
        found = await self.dialogs.summary(db, mentee.id, session_id, for_others=True)
        if found is None or found[1].kind != "coaching":
            return None
        pair = await pair_store.active_as_mentee(db, mentee.id)
        mentor = await db.get(Person, pair.mentor_id) if pair is not None else None
        if pair is None or mentor is None:
            return None
        name = display_name(mentee, await db.get(Profile, mentee.id), pair)
        record, dialog, lines = found
        return Shareable(mentor, name, record, dialog, lines)

    async def share_summary(
        self, db: AsyncSession, mentee: Person, session_id: int, parts: Sequence[str]
    ) -> Person | None:
        """Send a finished session's summary (already rendered in the mentor's language)
        to the mentee's mentor; returns the mentor, or None when there is none or the
        session is not one to share (``shareable``)."""
        shareable = await self.shareable(db, mentee, session_id)
        if shareable is None:
            return None
        mentor = shareable.mentor
        for part in parts:
            repo.enqueue(
                db,
                kind=store.SUMMARY,
                chat_id=mentor.id,
                method="sendMessage",
                payload={"text": part},
                now=self.clock.now(),
                context={"from": mentee.id, "session": session_id},
            )
        return mentor

    # Contacts ----------------------------------------------------------------

    async def share_contact(self, db: AsyncSession, person: Person, pair: Pair) -> str:
        """The person agrees to swap contacts with the other side of this pair of theirs:
        "waiting" until the other side agrees too (who is asked once), then "swapped" (both
        get the other's profile link)."""
        asked = person.id in pair.contact_consent
        consent = set(pair.contact_consent) | {person.id}
        pair.contact_consent = sorted(consent)
        if consent != {pair.mentee_id, pair.mentor_id} and asked:
            return "waiting"
        if consent != {pair.mentee_id, pair.mentor_id}:
            other = await db.get(
                Person, pair.mentor_id if person.id == pair.mentee_id else pair.mentee_id
            )
            assert other is not None
            self.notifier.notify(
                db,
                other,
                Msg(
                    N_(
                        "Your mentoring partner would like to swap contacts. If you agree, send "
                        "/contact."
                    )
                ),
                "notice",
                {"pair": pair.id},
            )
            return "waiting"
        mentee = await db.get(Person, pair.mentee_id)
        mentor = await db.get(Person, pair.mentor_id)
        assert mentee is not None and mentor is not None
        for reader, shown in ((mentee, mentor), (mentor, mentee)):
            self.notifier.notify(
                db,
                reader,
                Msg(
                    N_(
                        "🤝 You both agreed to swap contacts: "
                        '<a href="tg://user?id={id}">{name}</a>.'
                    ),
                    {"id": shown.id, "name": shown.first_name},
                ),
                "notice",
                {"pair": pair.id},
            )
        return "swapped"
