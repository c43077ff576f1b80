"""Broadcasts: a coordinator writes one message for an audience; when they confirm, every
recipient becomes an outbox row, sent by the one sender within Telegram's limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import LOCALES
from bot.domain import broadcast as b
from bot.domain.texts import N_, Msg
from bot.i18n import locale_for
from bot.services.clock import Clock
from bot.services.cohorts import CohortService
from bot.services.messages import REPLY, queue_message
from bot.storage import broadcasts as store
from bot.storage.models import Broadcast, Cohort, Person, TelegramGroup
from bot.telegram.buttons import GroupLink

KIND = "broadcast"


@dataclass(frozen=True)
class Audience:
    people: list[Person]
    groups: list[TelegramGroup]

    @property
    def unreachable(self) -> int:
        return sum(1 for p in self.people if p.unreachable_at is not None)

    @property
    def total(self) -> int:
        return len(self.people) + len(self.groups)


def payload(item: dict[str, Any]) -> dict[str, Any]:
    """The Bot API parameters (besides the chat) of one version of the content."""
    if item["method"] == "sendMessage":
        return {"text": item["text"], "parse_mode": "HTML"}
    field = "photo" if item["method"] == "sendPhoto" else "document"
    sent: dict[str, Any] = {field: item["file"]}
    if item.get("text"):
        sent.update(caption=item["text"], parse_mode="HTML")
    return sent


# The stages in which a draft waits for the coordinator's message: its text (for everyone,
# or per language: at "content_<language>" for each version in turn) or the time to send it.
VERSION_STAGE = "content_"
WRITING = ("content", *(VERSION_STAGE + code for code in LOCALES), "time")


class BroadcastService:
    def __init__(
        self,
        cohorts: CohortService,
        clock: Clock,
        default_locale: str,
        timezone: str = "Europe/Riga",
    ) -> None:
        self.cohorts = cohorts
        self.clock = clock
        self.default_locale = default_locale
        # Times a coordinator types or chooses are in the programme's time zone.
        self.zone = ZoneInfo(timezone)
        # Who may have a draft: read once, added to by start(). Most messages come from
        # people who never began a broadcast, and this spares them a look-up. Drafts are
        # begun only by updates, which the polling process handles, so it holds them all.
        self._drafting: set[int] | None = None

    async def cohorts_of(self, db: AsyncSession, coordinator: Person) -> list[Cohort]:
        """The cohorts a broadcast of theirs can reach: those they coordinate; every one
        for an operator of the bot."""
        return await self.cohorts.coordinated(db, coordinator)

    async def cohort_ids(self, db: AsyncSession, coordinator: Person) -> list[int]:
        return [c.id for c in await self.cohorts_of(db, coordinator)]

    async def writing(self, db: AsyncSession, person_id: int) -> Broadcast | None:
        """The draft of theirs that waits for their message, if any."""
        if self._drafting is None:
            self._drafting = set(await store.drafting(db))
        if person_id not in self._drafting:
            return None
        draft = await store.draft_of(db, person_id)
        if draft is None:
            self._drafting.discard(person_id)
            return None
        return draft if draft.stage in WRITING else None

    async def start(self, db: AsyncSession, coordinator: Person) -> Broadcast:
        """A new draft; an older one left unfinished is dropped."""
        if self._drafting is not None:
            self._drafting.add(coordinator.id)
        old = await store.draft_of(db, coordinator.id)
        if old is not None:
            old.status = "cancelled"
        draft = Broadcast(
            coordinator_id=coordinator.id,
            status="draft",
            stage="audience",
            audience={},
            content={},
            total=0,
            created_at=self.clock.now(),
        )
        db.add(draft)
        await db.flush()
        return draft

    async def draft(
        self, db: AsyncSession, coordinator: Person, broadcast_id: int
    ) -> Broadcast | None:
        """The coordinator's current draft, if ``broadcast_id`` is it (an old button is not)."""
        found = await store.draft_of(db, coordinator.id)
        return found if found is not None and found.id == broadcast_id else None

    async def audience(
        self, db: AsyncSession, coordinator: Person, audience: dict[str, Any]
    ) -> Audience:
        ids = await self.cohort_ids(db, coordinator)
        now = self.clock.now()
        return Audience(
            await store.audience_people(db, audience, ids, now),
            await store.audience_groups(db, audience, ids),
        )

    def locale(self, person: Person) -> str:
        return locale_for(person, person.telegram_language, self.default_locale)

    def version(self, draft: Broadcast, locale: str) -> dict[str, Any]:
        content = draft.content
        chosen: dict[str, Any] = (
            content.get("all") or content.get(locale) or content[self.default_locale]
        )
        return chosen

    async def confirm(
        self, db: AsyncSession, coordinator: Person, draft: Broadcast, send_at: datetime | None
    ) -> int:
        """Write a row per recipient (each in their language); returns how many."""
        audience = await self.audience(db, coordinator, draft.audience)
        now = self.clock.now()
        due = send_at if send_at is not None and send_at > now else now
        rows: list[dict[str, Any]] = []

        def row(chat_id: int, person_id: int | None, item: dict[str, Any], status: str) -> None:
            rows.append(
                {
                    "kind": KIND,
                    "chat_id": chat_id,
                    "person_id": person_id,
                    "method": item["method"],
                    "payload": payload(item),
                    "context": {"broadcast": draft.id},
                    "status": status,
                    "attempts": 0,
                    "due_at": due,
                    "created_at": now,
                    "series": f"broadcast:{draft.id}:{chat_id}",
                    "broadcast_id": draft.id,
                    "error": "blocked" if status == "unreachable" else None,
                }
            )

        for person in audience.people:
            blocked = person.unreachable_at is not None
            row(
                person.id,
                person.id,
                self.version(draft, self.locale(person)),
                "unreachable" if blocked else "pending",
            )
        for group in audience.groups:
            row(group.chat_id, None, self.version(draft, self.default_locale), "pending")
        await store.add_recipients(db, rows)
        draft.total = len(rows)
        draft.status = "scheduled" if due > now else "sending"
        draft.stage = "ready"
        draft.send_at = due
        draft.confirmed_at = now
        if not rows:
            draft.status = "done"
        return len(rows)

    async def cancel(self, db: AsyncSession, broadcast: Broadcast) -> int:
        """What has not gone yet will not go; returns how many were stopped."""
        stopped = await store.cancel_pending(db, broadcast.id)
        broadcast.status = "cancelled"
        return stopped

    async def progress(self, db: AsyncSession, broadcast: Broadcast) -> b.Progress:
        found = await store.counts(db, broadcast.id)
        return b.Progress(
            total=broadcast.total,
            sent=found.get("sent", 0),
            failed=found.get("failed", 0),
            unreachable=found.get("unreachable", 0),
            cancelled=found.get("cancelled", 0),
        )

    # Telegram groups --------------------------------------------------------

    async def group_added(
        self, db: AsyncSession, chat_id: int, title: str, added_by: int | None
    ) -> None:
        """Record the group and ask the coordinators to link it to a cohort."""
        await store.group_added(db, chat_id, title, added_by, self.clock.now())
        everyone = await store.coordinators(db, self.cohorts.coordinator_ids)
        adder = [p for p in everyone if p.id == added_by]
        for coordinator in adder or everyone:
            cohorts = await self.cohorts.coordinated(db, coordinator)
            queue_message(
                db,
                coordinator,
                Msg(
                    N_(
                        "I was added to the Telegram group “{title}”. Link it to a cohort so "
                        "that broadcasts can reach it (later: /groups)."
                    )
                    if cohorts
                    else N_(
                        "I was added to the Telegram group “{title}”. Once you run a cohort "
                        "(/cohort_new), link it with /groups."
                    ),
                    {"title": title},
                ),
                # The one who added the bot waits for it; the others are told as news.
                kind=REPLY if adder else "notice",
                now=self.clock.now(),
                default_locale=self.default_locale,
                buttons=[
                    [(cohort_label(c), GroupLink(chat=chat_id, cohort=c.id).pack())]
                    for c in cohorts[:20]
                ],
            )

    async def group_removed(self, db: AsyncSession, chat_id: int) -> None:
        await store.group_removed(db, chat_id, self.clock.now())

    async def group_moved(self, db: AsyncSession, old_id: int, new_id: int) -> None:
        await store.group_moved(db, old_id, new_id, self.clock.now())

    async def groups(self, db: AsyncSession, coordinator: Person) -> list[TelegramGroup]:
        return await store.visible_groups(db, await self.cohort_ids(db, coordinator))

    async def link(
        self, db: AsyncSession, coordinator: Person, chat_id: int, cohort_id: int
    ) -> TelegramGroup | None:
        """Link a group to one of the coordinator's cohorts (0: unlink); None if not allowed."""
        ids = await self.cohort_ids(db, coordinator)
        group = await db.get(TelegramGroup, chat_id)
        visible = group is not None and group.removed_at is None
        if not visible or (group is not None and group.cohort_id not in (None, *ids)):
            return None
        if cohort_id and cohort_id not in ids:
            return None
        assert group is not None
        group.cohort_id = cohort_id or None
        return group


def cohort_label(cohort: Cohort) -> Msg:
    """A cohort's name as a button label (the name is the coordinator's own words)."""
    return Msg("{name}", {"name": cohort.name})
