"""Queueing a message the bot starts, to be rendered in the reader's language when sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.calendar import CalendarEvent
from bot.domain.texts import Msg, msg_to_json
from bot.i18n import locale_for
from bot.services.clock import Clock
from bot.storage import cohorts
from bot.storage import repositories as repo
from bot.storage.models import Outgoing, Person

Buttons = Sequence[Sequence[tuple[Msg, str]]]
# A reply the bot can only give through the outbox (what the person did had an outcome
# later, or elsewhere): it goes at once, whatever the hour.
REPLY = "reply"


def queue_message(
    db: AsyncSession,
    person: Person,
    msg: Msg,
    *,
    kind: str,
    now: datetime,
    default_locale: str,
    due_at: datetime | None = None,
    context: dict[str, Any] | None = None,
    buttons: Buttons = (),
    stale_at: datetime | None = None,
    series: str | None = None,
    invitation: CalendarEvent | None = None,
) -> Outgoing:
    """Add it to the outbox in the caller's unit of work. Buttons are (label, callback data);
    a calendar invitation goes as an .ics file right after the message."""
    locale = locale_for(person, person.telegram_language, default_locale)
    payload: dict[str, Any] = {"msg": msg_to_json(msg), "locale": locale}
    if invitation is not None:
        payload["invitation"] = invitation.to_json()
    if buttons:
        payload["buttons"] = [
            [{"msg": msg_to_json(label), "data": data} for label, data in row] for row in buttons
        ]
    return repo.enqueue(
        db,
        kind=kind,
        chat_id=person.id,
        method="sendMessage",
        payload=payload,
        now=now,
        due_at=due_at,
        context=context,
        stale_at=stale_at,
        series=series,
    )


class Notifier:
    """Queues messages the bot starts, due now, each rendered in its reader's language."""

    def __init__(self, clock: Clock, default_locale: str) -> None:
        self.clock = clock
        self.default_locale = default_locale

    def notify(
        self,
        db: AsyncSession,
        person: Person,
        msg: Msg,
        kind: str,
        context: dict[str, Any] | None = None,
        buttons: Buttons = (),
    ) -> None:
        """Queue a message to a person, in their language; it is rendered when sent."""
        queue_message(
            db,
            person,
            msg,
            kind=kind,
            now=self.clock.now(),
            default_locale=self.default_locale,
            context=context,
            buttons=buttons,
        )

    async def tell_coordinators(
        self, db: AsyncSession, cohort_id: int, msg: Msg, context: dict[str, Any] | None = None
    ) -> None:
        """An alert to everyone who runs the cohort."""
        for coordinator in await cohorts.coordinators(db, cohort_id):
            self.notify(db, coordinator, msg, "alert", context)
