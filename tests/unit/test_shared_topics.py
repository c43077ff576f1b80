"""What a mentee's coaching sessions add to matching: only what they shared."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import create_programme
from bot.domain.consent import ConsentKind
from bot.domain.dialogs import load_dialogs
from bot.services.dialogs import DialogService
from bot.services.followup import FollowUpService
from bot.storage import consents as consent_store
from bot.storage import repositories as repo
from bot.storage.database import create_sessionmaker
from bot.storage.models import Answer, DialogSession, Person, Profile

# Storage: on both databases.
pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def now(self) -> datetime:
        return NOW


async def test_shared_sessions_add_topics_and_private_ones_do_not(db_engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(db_engine)
    dialogs = DialogService(load_dialogs(ROOT / "dialogs"), Clock())
    programme = create_programme(
        dialogs, Clock(), (), "en", FollowUpService(Clock(), "Europe/Riga", "en")
    )
    async with sessions() as db:
        db.add(Person(id=7, first_name="Anna", created_at=NOW, last_seen_at=NOW))
        await db.flush()
        db.add(Profile(person_id=7, role="mentee", data={"share": "ask"}, updated_at=NOW))
        wheel = DialogSession(
            person_id=7,
            dialog_id="wheel",
            status="finished",
            state={},
            started_at=NOW,
            updated_at=NOW,
            finished_at=NOW,
        )
        grow = DialogSession(
            person_id=7,
            dialog_id="grow",
            status="finished",
            state={},
            started_at=NOW,
            updated_at=NOW,
            finished_at=NOW,
        )
        db.add_all([wheel, grow])
        await db.flush()
        ratings = {
            "family": 7,
            "partner": 5,
            "career": 8,
            "finances": 3,
            "health": 6,
            "home": 7,
            "fun": 4,
            "growth": 6,
        }
        db.add_all(
            Answer(session_id=wheel.id, key=k, value=v, answered_at=NOW) for k, v in ratings.items()
        )
        db.add(Answer(session_id=grow.id, key="goal_area", value="leadership", answered_at=NOW))
        consent_store.record(db, 7, ConsentKind.WHEEL, True, NOW)
        await db.commit()

        assert await programme.matching.shared_topics(db, 7) == frozenset()
        repo.enqueue(
            db,
            kind="summary",
            chat_id=8,
            method="sendMessage",
            payload={"text": "x"},
            now=NOW,
            context={"from": 7, "session": wheel.id},
        )
        await db.commit()
        assert await programme.matching.shared_topics(db, 7) == {"finances", "fun"}
        await programme.conversation.set_share_mode(db, 7, "always")
        assert await programme.matching.shared_topics(db, 7) == {"finances", "fun", "leadership"}
        # Without the consent to share the Wheel's ratings, its weakest areas count no more.
        consent_store.record(db, 7, ConsentKind.WHEEL, False, NOW)
        assert await programme.matching.shared_topics(db, 7) == {"leadership"}
