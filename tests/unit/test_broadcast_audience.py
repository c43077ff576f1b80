"""Who an audience names: only people of the coordinator's own cohorts, each once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import ROOT
from bot.domain.dialogs import load_dialogs
from bot.services.broadcasts import BroadcastService
from bot.services.cohorts import CohortService
from bot.services.dialogs import DialogService
from bot.storage.database import create_sessionmaker
from bot.storage.models import Person, TelegramGroup
from tests.e2e.broadcast_setup import seed_cohort
from tests.e2e.conftest import MovableClock

# Storage: on both databases.
pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)


async def test_audiences(db_engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(db_engine)
    clock = MovableClock(NOW)
    mine = await seed_cohort(
        sessions,
        NOW,
        42,
        [
            (1, "Paired", "en", "mentee"),
            (2, "Alone", "lv", "mentee"),
            (3, "Mentor", "en", "mentor"),
            (4, "Talking", "en", "mentee"),
            (5, "Mentor2", "en", "mentor"),
        ],
        pairs=[(1, 3, NOW - timedelta(days=25)), (4, 5, NOW - timedelta(days=2))],
    )
    await seed_cohort(
        sessions,
        NOW,
        43,
        [(2, "Alone", "lv", "mentee"), (9, "Other", "en", "mentor")],
        name="Not mine",
    )
    async with sessions() as db:
        db.add(TelegramGroup(chat_id=-100, title="Ours", cohort_id=mine, added_at=NOW))
        db.add(
            TelegramGroup(chat_id=-200, title="Gone", cohort_id=mine, added_at=NOW, removed_at=NOW)
        )
        db.add(TelegramGroup(chat_id=-300, title="Loose", added_at=NOW))
        await db.commit()
    cohorts = CohortService(DialogService(load_dialogs(ROOT / "dialogs"), clock), clock)
    service = BroadcastService(cohorts, clock, "en")
    async with sessions() as db:
        coordinator = await db.get(Person, 42)
        assert coordinator is not None

        async def who(audience: dict[str, object]) -> list[int]:
            found = await service.audience(db, coordinator, audience)
            return [p.id for p in found.people] + [g.chat_id for g in found.groups]

        assert await who({"kind": "everyone"}) == [1, 2, 3, 4, 5]
        assert await who({"kind": "role", "role": "mentor"}) == [3, 5]
        assert await who({"kind": "cohort", "cohort": mine, "role": "mentee"}) == [1, 2, 4]
        assert await who({"kind": "unmatched"}) == [2]
        assert await who({"kind": "quiet", "days": 21}) == [1, 3]
        assert await who({"kind": "quiet", "days": 30}) == []
        assert await who({"kind": "groups"}) == [-100]
        assert await who({"kind": "cohort", "cohort": 999}) == []
