"""Prometheus metrics, served at ``/metrics`` (bot/telegram/health.py). Labels name kinds
of things (an update's type, a Bot API method, an outbox kind), never a person: no id and
nothing anyone wrote."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.pacing import lane_of
from bot.storage.models import Outgoing

UPDATES_HANDLED = Counter("mentorbot_updates_handled", "Updates handled, by update type", ["type"])
UPDATES_FAILED = Counter(
    "mentorbot_updates_failed", "Updates whose handling failed, by update type", ["type"]
)
HANDLING_SECONDS = Histogram(
    "mentorbot_update_handling_seconds",
    "Time from taking an update in hand to having handled it",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
REQUESTS = Counter(
    "mentorbot_telegram_requests",
    "Bot API requests other than getUpdates, by method and outcome "
    "(sent, failed, unreachable: the chat blocked the bot)",
    ["method", "outcome"],
)
RETRY_AFTER = Counter(
    "mentorbot_telegram_429",
    "429 answers from Telegram, by scope (chat: one chat's limit; bot: the bot-wide limit)",
    ["scope"],
)
DATABASE_ERRORS = Counter(
    "mentorbot_database_errors", "Database errors met while receiving or handling updates"
)
POLLER = Gauge("mentorbot_poller", "1 while this process is the one polling Telegram")
OUTBOX_BACKLOG = Gauge(
    "mentorbot_outbox_backlog",
    "Outbox messages not yet sent (pending or being sent), by kind and lane",
    ["kind", "lane"],
)


async def measure_outbox(db: AsyncSession) -> None:
    """Set the backlog gauge from the database: one grouped count over the outbox's
    status index."""
    rows = (
        await db.execute(
            select(Outgoing.kind, func.count())
            .where(Outgoing.status.in_(("pending", "sending")))
            .group_by(Outgoing.kind)
        )
    ).all()
    OUTBOX_BACKLOG.clear()
    for kind, count in rows:
        OUTBOX_BACKLOG.labels(kind=kind, lane=lane_of(kind).name.lower()).set(count)
