"""Polls as a coordinator writes them, and a draft that can go out only once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.polls import (
    GAME_SECONDS,
    MAX_GAME_QUESTION,
    MAX_OPTION,
    PollDraft,
    PollTextError,
    next_seconds,
    parse_game,
    parse_poll,
)
from bot.services.polls import PollService
from bot.storage import personal
from bot.storage.database import create_sessionmaker
from bot.storage.models import Cohort, Membership, Outgoing, Person, PollVote

# Storage: on both databases.
pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)


def test_a_poll_and_a_quiz_are_read_from_one_message() -> None:
    assert parse_poll(" When?\n Monday \n\nFriday\n", quiz=False) == PollDraft(
        "When?", ("Monday", "Friday")
    )
    assert parse_poll("G?\nGrowth\n* Goal", quiz=True) == PollDraft("G?", ("Growth", "Goal"), 1)


@pytest.mark.parametrize(
    ("text", "quiz", "problem"),
    [
        ("", False, "Write the question"),
        ("Only a question", False, "options"),
        ("Q\n" + "\n".join(str(n) for n in range(11)), False, "options"),
        ("Q\nA\nA", False, "same"),
        ("Q\nA\n" + "x" * (MAX_OPTION + 1), False, "too long"),
        ("Q" * 301 + "\nA\nB", False, "too long"),
        ("Q\nA\nB", True, "exactly one"),
        ("Q\n*A\n*B", True, "exactly one"),
        ("Q\n*A\nB", False, "Only a quiz"),
        ("Q\n*\nB", True, "empty"),
    ],
)
def test_a_poll_that_telegram_would_refuse_is_explained(
    text: str, quiz: bool, problem: str
) -> None:
    with pytest.raises(PollTextError) as error:
        parse_poll(text, quiz)
    assert problem in error.value.msg.id


def test_a_game_is_quizzes_with_an_empty_line_between_two() -> None:
    assert parse_game("G?\n*Goal\nGrowth\n \nW?\nWay\n*Will\n\n\n") == (
        PollDraft("G?", ("Goal", "Growth"), 0),
        PollDraft("W?", ("Way", "Will"), 1),
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("G?\n*Goal\nGrowth", "questions"),
        ("\n\n".join(f"Q{n}?\n*A\nB" for n in range(21)), "questions"),
        ("G?\n*Goal\nGrowth\n\nW?\nWay\nWill", "exactly one"),
        ("G?\n*Goal\nGrowth\n\n" + "Q" * (MAX_GAME_QUESTION + 1) + "\n*A\nB", "too long"),
    ],
)
def test_a_game_telegram_would_refuse_is_explained_with_its_question(
    text: str, problem: str
) -> None:
    with pytest.raises(PollTextError) as error:
        parse_game(text)
    msg = error.value.msg
    inner = msg.values.get("problem", msg)
    assert problem in (inner.id if hasattr(inner, "id") else msg.id)
    if "problem" in msg.values:
        assert msg.values["number"] == 2


def test_the_time_of_a_question_moves_through_the_choices() -> None:
    seen = [GAME_SECONDS[0]]
    while len(seen) <= len(GAME_SECONDS):
        seen.append(next_seconds(seen[-1]))
    assert seen[-1] == GAME_SECONDS[0] and sorted(set(seen)) == sorted(GAME_SECONDS)
    assert all(5 <= s <= 600 for s in GAME_SECONDS)  # Telegram's open_period


@given(st.text(max_size=400), st.booleans())
def test_any_text_gives_a_valid_poll_or_an_explanation(text: str, quiz: bool) -> None:
    try:
        draft = parse_poll(text, quiz)
    except PollTextError:
        return
    assert 1 <= len(draft.question) <= 300 and 2 <= len(draft.options) <= 10
    assert all(1 <= len(option) <= MAX_OPTION for option in draft.options)
    assert (draft.correct is not None) == quiz


async def test_a_draft_goes_out_once_and_only_to_the_authors_cohorts(
    db_engine: AsyncEngine,
) -> None:
    sessions = create_sessionmaker(db_engine)
    service = PollService(type("Clock", (), {"now": staticmethod(lambda: NOW)})(), "en")
    async with sessions() as db:
        for pid in (1, 2, 11, 12):
            db.add(Person(id=pid, first_name=f"P{pid}", created_at=NOW, last_seen_at=NOW))
        mine = Cohort(name="Mine", mode="coordinator", created_by=1, created_at=NOW)
        theirs = Cohort(name="Theirs", mode="coordinator", created_by=2, created_at=NOW)
        db.add_all([mine, theirs])
        await db.flush()
        for pid, status in ((11, "active"), (12, "left")):
            db.add(
                Membership(
                    cohort_id=mine.id, person_id=pid, role="mentee", status=status, joined_at=NOW
                )
            )
        await db.commit()
        author, other = await db.get(Person, 1), await db.get(Person, 2)
        assert author is not None and other is not None
        poll = await service.draft(
            db, author, False, PollDraft("When?", ("Mon", "Fri")), anonymous=False
        )
        cohorts = [mine]
        assert await service.send(db, other, poll.id, [theirs], cohort_id=theirs.id) is None
        assert await service.send(db, author, poll.id, cohorts, cohort_id=theirs.id) is None
        sent = await service.send(db, author, poll.id, cohorts, cohort_id=mine.id)
        assert sent is not None and sent[1] == 1  # the member who left gets nothing
        assert await service.send(db, author, poll.id, cohorts, cohort_id=mine.id) is None
        rows = (await db.execute(select(Outgoing))).scalars().all()
        assert [(r.chat_id, r.method, r.payload["is_anonymous"]) for r in rows] == [
            (11, "sendPoll", False)
        ]
        assert await db.scalar(select(func.count()).select_from(Outgoing)) == 1


async def test_votes_replace_each_other_and_go_with_the_person(db_engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(db_engine)
    service = PollService(type("Clock", (), {"now": staticmethod(lambda: NOW)})(), "en")
    async with sessions() as db:
        db.add(Person(id=7, first_name="Voter", created_at=NOW, last_seen_at=NOW))
        await db.commit()
        await service.answer(db, "tg-1", 7, [0])
        await service.answer(db, "tg-1", 7, [1, 2])
        votes = (await db.execute(select(PollVote.option).order_by(PollVote.option))).scalars()
        assert list(votes) == [1, 2]
        await personal.erase(db, 7, NOW)
        await db.commit()
        assert await db.scalar(select(func.count()).select_from(PollVote)) == 0
