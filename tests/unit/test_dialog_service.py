"""The dialog use cases against the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm.exc import StaleDataError

from bot.domain import engine
from bot.domain.dialogs import Dialog
from bot.domain.engine import Press, TextInput
from bot.services.dialogs import DialogService, Turn
from bot.storage import repositories as repo
from bot.storage.database import create_sessionmaker
from bot.storage.models import Answer, Commitment, DialogSession
from tests.dialog_answers import valid_input

# Storage: on both databases.
pytestmark = pytest.mark.postgres

PERSON = 1001


class FixedClock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment


async def setup(db_engine: AsyncEngine, dialogs: dict[str, Dialog]) -> tuple[DialogService, object]:
    sessions = create_sessionmaker(db_engine)
    async with sessions() as db:
        await repo.upsert_person(db, PERSON, "Anna", "lv", FixedClock().now())
        await db.commit()
    return DialogService(dialogs, FixedClock()), sessions


async def test_each_answer_is_stored_when_given(
    db_engine: AsyncEngine, dialogs: dict[str, Dialog]
) -> None:
    service, sessions = await setup(db_engine, dialogs)
    async with sessions() as db:  # type: ignore[operator]
        turn = await service.start(db, PERSON, "grow")
        await db.commit()
    assert turn.kind is Turn.STARTED
    for n, text in enumerate(["Find a new job", "not a date"]):
        async with sessions() as db:  # type: ignore[operator]
            await service.answer(db, PERSON, TextInput(text), update_id=10 + n)
            await db.commit()
    async with sessions() as db:  # type: ignore[operator]
        stored = await repo.load_answers(db, turn.record.id)  # type: ignore[union-attr]
    assert stored == {"goal": "Find a new job"}


async def test_a_repeated_update_changes_nothing(
    db_engine: AsyncEngine, dialogs: dict[str, Dialog]
) -> None:
    service, sessions = await setup(db_engine, dialogs)
    async with sessions() as db:  # type: ignore[operator]
        await service.start(db, PERSON, "grow")
        first = await service.answer(db, PERSON, TextInput("Goal one"), update_id=5)
        await db.commit()
    async with sessions() as db:  # type: ignore[operator]
        again = await service.answer(db, PERSON, TextInput("Goal one"), update_id=5)
    assert first.kind is Turn.ACCEPTED and again.kind is Turn.REPEATED
    assert again.progress == first.progress


async def test_an_old_button_is_stale(db_engine: AsyncEngine, dialogs: dict[str, Dialog]) -> None:
    service, sessions = await setup(db_engine, dialogs)
    async with sessions() as db:  # type: ignore[operator]
        started = await service.start(db, PERSON, "wheel")
        old_seq = started.progress.seq  # type: ignore[union-attr]
        session_id = started.record.id  # type: ignore[union-attr]
        await service.answer(db, PERSON, Press("c:5"), 1, session_id=session_id, seq=old_seq)
        await db.commit()
    async with sessions() as db:  # type: ignore[operator]
        stale = await service.answer(
            db, PERSON, Press("c:9"), 2, session_id=session_id, seq=old_seq
        )
        stored = await repo.load_answers(db, session_id)
    assert stale.kind is Turn.STALE
    assert stored == {"family": 5}


async def test_pause_and_resume_keep_the_place(
    db_engine: AsyncEngine, dialogs: dict[str, Dialog]
) -> None:
    service, sessions = await setup(db_engine, dialogs)
    async with sessions() as db:  # type: ignore[operator]
        await service.start(db, PERSON, "dilts")
        answered = await service.answer(db, PERSON, TextInput("Leaving my job"), 1)
        await service.pause(db, PERSON)
        assert (await service.answer(db, PERSON, TextInput("x"), 2)).kind is Turn.NONE
        resumed = await service.resume(db, PERSON)
    assert resumed.kind is Turn.RESUMED
    assert resumed.progress == answered.progress


async def test_starting_another_dialog_pauses_the_first(
    db_engine: AsyncEngine, dialogs: dict[str, Dialog]
) -> None:
    service, sessions = await setup(db_engine, dialogs)
    async with sessions() as db:  # type: ignore[operator]
        await service.start(db, PERSON, "dilts")
        wheel = await service.start(db, PERSON, "wheel")
        again = await service.start(db, PERSON, "dilts")
        statuses = dict(
            (await db.execute(select(DialogSession.dialog_id, DialogSession.status))).all()
        )
    assert wheel.paused == ["dilts"] and again.kind is Turn.RESUMED and again.paused == ["wheel"]
    assert statuses == {"dilts": "active", "wheel": "paused"}


async def test_finishing_stores_the_commitments(
    db_engine: AsyncEngine, dialogs: dict[str, Dialog]
) -> None:
    service, sessions = await setup(db_engine, dialogs)
    dialog = dialogs["grow"]
    async with sessions() as db:  # type: ignore[operator]
        turn = await service.start(db, PERSON, "grow")
        n = 0
        while not turn.finished:
            event = valid_input(dialog, turn.progress, n)  # type: ignore[arg-type]
            turn = await service.answer(db, PERSON, event, update_id=100 + n)
            assert turn.kind is Turn.ACCEPTED, turn.error
            n += 1
        rows = (await db.execute(select(Commitment).order_by(Commitment.due_on))).scalars().all()
        record = await db.get(DialogSession, turn.record.id)  # type: ignore[union-attr]
    assert [c.text for c in rows] == [d.text for d in engine.commitments(dialog, turn.progress)]  # type: ignore[arg-type]
    assert all(c.status == "open" and c.person_id == PERSON for c in rows)
    assert record is not None and record.status == "finished"


async def test_two_answers_at_once_do_not_corrupt_progress(
    db_engine: AsyncEngine, dialogs: dict[str, Dialog]
) -> None:
    service, sessions = await setup(db_engine, dialogs)
    async with sessions() as db:  # type: ignore[operator]
        await service.start(db, PERSON, "wheel")
        await db.commit()

    async def answer(text: str, update_id: int) -> Turn:
        async with sessions() as db:  # type: ignore[operator]
            turn = await service.answer(db, PERSON, TextInput(text), update_id)
            await db.commit()
            return turn.kind

    results = await asyncio.gather(answer("5", 1), answer("6", 2), return_exceptions=True)
    accepted = [r for r in results if r is Turn.ACCEPTED]
    # The loser of a race gets a conflict (the inbox handles the update again).
    conflicts = [r for r in results if isinstance(r, StaleDataError | IntegrityError)]
    assert len(accepted) + len(conflicts) == 2 and accepted
    async with sessions() as db:  # type: ignore[operator]
        record = await repo.current_session(db, PERSON)
        assert record is not None
        answers = await repo.load_answers(db, record.id)
        count = await db.scalar(select(func.count()).select_from(Answer))
    # Each accepted answer moved the dialog one step; none was lost or doubled.
    assert count == len(accepted) == len(record.state["history"])
    assert answers["family"] in (5, 6)
    assert set(answers.values()) <= {5, 6} and len(set(answers.values())) == len(answers)
