"""Polls as a coordinator writes them, and a draft that can go out only once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiogram.types import Message
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
from bot.storage import polls as poll_store
from bot.storage.database import create_sessionmaker
from bot.storage.models import (
    Cohort,
    Membership,
    Outgoing,
    Person,
    PollVote,
    QuizGame,
    QuizPlay,
)

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
        ("Only a question", False, "{high} option"),
        ("Q\n" + "\n".join(str(n) for n in range(11)), False, "{high} option"),
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


def sent_poll(chat_id: int, telegram_poll_id: str) -> Message:
    """What Telegram returns for a sendPoll: the message with its poll."""
    return Message.model_validate(
        {
            "message_id": 1,
            "date": 0,
            "chat": {"id": chat_id, "type": "private"},
            "poll": {
                "id": telegram_poll_id,
                "question": "Q",
                "options": [
                    {"persistent_id": "0", "text": "A", "voter_count": 0},
                    {"persistent_id": "1", "text": "B", "voter_count": 0},
                ],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": False,
                "type": "quiz",
                "allows_multiple_answers": False,
                "allows_revoting": False,
                "members_only": False,
            },
        }
    )


async def test_a_game_counts_an_answer_that_came_before_its_question_was_recorded(
    db_engine: AsyncEngine,
) -> None:
    clock = type("Clock", (), {"now": staticmethod(lambda: NOW)})()
    sessions = create_sessionmaker(db_engine)
    service = PollService(clock, "en")
    async with sessions() as db:
        for pid in (1, 11):
            db.add(Person(id=pid, first_name=f"P{pid}", created_at=NOW, last_seen_at=NOW))
        cohort = Cohort(name="Mine", mode="coordinator", created_by=1, created_at=NOW)
        db.add(cohort)
        await db.flush()
        db.add(
            Membership(
                cohort_id=cohort.id, person_id=11, role="mentee", status="active", joined_at=NOW
            )
        )
        author = await db.get(Person, 1)
        assert author is not None
        game = await service.draft_game(
            db, author, parse_game("G?\n*Goal\nGrowth\n\nW?\nWay\n*Will")
        )
        started = await service.start_game(db, author, game.id, cohort)
        assert started is not None and started[1] == 1
        first = (
            await db.execute(select(Outgoing).where(Outgoing.context["number"].as_integer() == 0))
        ).scalar_one()
        # The player answered before the outbox recorded the question's delivery.
        assert await service.answer(db, "tg-1", 11, [0]) is False
        await service.on_sent(db, first, sent_poll(11, "tg-1"))
        await db.flush()
        play = await db.get(QuizPlay, "tg-1")
        assert play is not None and (play.option, play.answered_at) == (0, NOW)
        assert (await db.execute(select(PollVote))).first() is None
        following = (
            await db.execute(select(Outgoing).where(Outgoing.context["number"].as_integer() == 1))
        ).scalar_one()
        assert following.due_at == NOW  # at once, not when the first one's time is up
        await db.rollback()


async def test_the_game_board_ranks_right_answers_then_speed(db_engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(db_engine)
    async with sessions() as db:
        for pid, name in ((11, "Slow"), (12, "Fast"), (13, "Wrong"), (14, "Silent")):
            db.add(Person(id=pid, first_name=name, created_at=NOW, last_seen_at=NOW))
        game = QuizGame(
            questions=[], seconds=20, board_to_players=False, created_by=1, created_at=NOW
        )
        db.add(game)
        await db.flush()
        # (player, question, option, seconds to answer); both questions' right option is 0.
        for pid, number, option, seconds in (
            (11, 0, 0, 9),
            (11, 1, 0, 9),
            (12, 0, 0, 2),
            (12, 1, 0, 3),
            (13, 0, 1, 1),
            (13, 1, 0, 1),
            (14, 0, None, None),
        ):
            db.add(
                QuizPlay(
                    telegram_poll_id=f"{pid}-{number}",
                    game_id=game.id,
                    person_id=pid,
                    number=number,
                    asked_at=NOW,
                    option=option,
                    answered_at=None if seconds is None else NOW + timedelta(seconds=seconds),
                )
            )
        await db.flush()
        board = await poll_store.game_board(db, game.id, [0, 0], 10)
        await db.rollback()
    assert board == [("Fast", 2, 5.0), ("Slow", 2, 18.0), ("Wrong", 1, 1.0)]
