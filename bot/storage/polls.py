"""Queries and writes for polls, quizzes and quiz games (the caller's session; never a
commit)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.cohorts import MembershipStatus
from bot.storage.models import (
    Membership,
    Person,
    Poll,
    PollDelivery,
    PollVote,
    QuizGame,
    QuizPlay,
    QuizPlayer,
    TelegramGroup,
)


def _reachable_members(*columns: Any) -> Select[Any]:
    """Of a cohort's people who have not left it, those who have not blocked the bot."""
    return (
        select(*columns)
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.status != MembershipStatus.LEFT, Person.unreachable_at.is_(None))
    )


async def members(db: AsyncSession, cohort_id: int) -> list[int]:
    """The people of a cohort a poll can reach: in it still, and not blocking the bot."""
    result = await db.execute(
        _reachable_members(Membership.person_id)
        .where(Membership.cohort_id == cohort_id)
        .order_by(Membership.person_id)
    )
    return list(result.scalars())


async def member_counts(db: AsyncSession, cohort_ids: Sequence[int]) -> dict[int, int]:
    """How many people of each cohort a poll can reach."""
    result = await db.execute(
        _reachable_members(Membership.cohort_id, func.count())
        .where(Membership.cohort_id.in_(list(cohort_ids)))
        .group_by(Membership.cohort_id)
    )
    return {cohort_id: int(n) for cohort_id, n in result.tuples()}


async def blocking(db: AsyncSession, cohort_id: int) -> int:
    """How many people of a cohort (who have not left it) have blocked the bot."""
    count = await db.scalar(
        select(func.count())
        .select_from(Membership)
        .join(Person, Person.id == Membership.person_id)
        .where(
            Membership.cohort_id == cohort_id,
            Membership.status != MembershipStatus.LEFT,
            Person.unreachable_at.is_not(None),
        )
    )
    return int(count or 0)


async def groups(db: AsyncSession, cohort_ids: Sequence[int]) -> list[TelegramGroup]:
    """Registered groups (the bot is still in them) linked to these cohorts or to none."""
    result = await db.execute(
        select(TelegramGroup)
        .where(
            TelegramGroup.removed_at.is_(None),
            or_(TelegramGroup.cohort_id.is_(None), TelegramGroup.cohort_id.in_(list(cohort_ids))),
        )
        .order_by(TelegramGroup.added_at, TelegramGroup.chat_id)
    )
    return list(result.scalars())


async def record_delivery(
    db: AsyncSession, telegram_poll_id: str, poll_id: int, chat_id: int, message_id: int | None
) -> None:
    if await db.get(PollDelivery, telegram_poll_id) is None:
        db.add(
            PollDelivery(
                telegram_poll_id=telegram_poll_id,
                poll_id=poll_id,
                chat_id=chat_id,
                message_id=message_id,
            )
        )


async def record_vote(
    db: AsyncSession,
    telegram_poll_id: str,
    person_id: int,
    options: Sequence[int],
    now: datetime,
) -> None:
    """The person's answer replaces their earlier one; no options retracts it."""
    await db.execute(
        delete(PollVote).where(
            PollVote.telegram_poll_id == telegram_poll_id, PollVote.person_id == person_id
        )
    )
    db.add_all(
        PollVote(telegram_poll_id=telegram_poll_id, person_id=person_id, option=o, voted_at=now)
        for o in sorted(set(options))
    )


async def record_totals(
    db: AsyncSession, telegram_poll_id: str, totals: Sequence[int], voters: int
) -> bool:
    """The totals of one of our anonymous polls as it stands now (each poll update carries
    all of them, so the latest replaces what was known); False for any other poll (a named
    poll's are counted from its votes)."""
    result = await db.execute(
        update(PollDelivery)
        .where(
            PollDelivery.telegram_poll_id == telegram_poll_id,
            PollDelivery.poll_id.in_(select(Poll.id).where(Poll.anonymous.is_(True))),
        )
        .values(totals=list(totals), voters=voters)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def reported_totals(db: AsyncSession, poll_id: int, options: int) -> tuple[list[int], int]:
    """(votes by option, voters) of an anonymous poll: the sums of what Telegram reported
    for each of its Telegram polls."""
    rows = await db.execute(
        select(PollDelivery.totals, PollDelivery.voters).where(
            PollDelivery.poll_id == poll_id, PollDelivery.totals.is_not(None)
        )
    )
    counts, voters = [0] * options, 0
    for totals, reported in rows.tuples():
        for n, votes in enumerate(list(totals or [])[:options]):
            counts[n] += int(votes)
        voters += int(reported or 0)
    return counts, voters


async def option_counts(db: AsyncSession, poll_id: int) -> tuple[dict[int, int], int, int]:
    """(votes by option, people who answered, Telegram polls sent) of a poll."""
    votes = PollVote.telegram_poll_id == PollDelivery.telegram_poll_id
    rows = await db.execute(
        select(PollVote.option, func.count())
        .join(PollDelivery, votes)
        .where(PollDelivery.poll_id == poll_id)
        .group_by(PollVote.option)
    )
    counts = {option: int(n) for option, n in rows.tuples()}
    voters = await db.scalar(
        select(func.count(func.distinct(PollVote.person_id)))
        .join(PollDelivery, votes)
        .where(PollDelivery.poll_id == poll_id)
    )
    sent = await db.scalar(
        select(func.count()).select_from(PollDelivery).where(PollDelivery.poll_id == poll_id)
    )
    return counts, int(voters or 0), int(sent or 0)


async def leaderboard(db: AsyncSession, cohort_id: int, limit: int) -> list[tuple[str, int, int]]:
    """(first name, right answers, quizzes answered) of the cohort's quizzes, best first."""
    right = func.sum(case((PollVote.option == Poll.correct_option, 1), else_=0))
    answered = func.count(func.distinct(Poll.id))
    rows = await db.execute(
        select(Person.first_name, right, answered)
        .select_from(PollVote)
        .join(PollDelivery, PollDelivery.telegram_poll_id == PollVote.telegram_poll_id)
        .join(Poll, and_(Poll.id == PollDelivery.poll_id, Poll.kind == "quiz"))
        .join(Person, Person.id == PollVote.person_id)
        .where(Poll.cohort_id == cohort_id)
        .group_by(Person.id, Person.first_name)
        .order_by(right.desc(), answered, Person.first_name)
        .limit(limit)
    )
    return [(name, int(r or 0), int(a)) for name, r, a in rows.tuples()]


async def questions_of(
    db: AsyncSession, telegram_poll_ids: Sequence[str]
) -> dict[str, tuple[str, list[Any]]]:
    """The question and options of the poll each of these Telegram polls carries."""
    if not telegram_poll_ids:
        return {}
    result = await db.execute(
        select(PollDelivery.telegram_poll_id, Poll.question, Poll.options)
        .join(Poll, Poll.id == PollDelivery.poll_id)
        .where(PollDelivery.telegram_poll_id.in_(list(telegram_poll_ids)))
    )
    return {tpid: (question, list(options)) for tpid, question, options in result.tuples()}


async def add_players(db: AsyncSession, game_id: int, people: Sequence[int]) -> None:
    db.add_all(QuizPlayer(game_id=game_id, person_id=p) for p in people)


async def record_asked(
    db: AsyncSession,
    telegram_poll_id: str,
    game_id: int,
    person_id: int,
    number: int,
    now: datetime,
) -> QuizPlay | None:
    """A question of a game went to a player; None if it was recorded before."""
    if await db.get(QuizPlay, telegram_poll_id) is not None:
        return None
    play = QuizPlay(
        telegram_poll_id=telegram_poll_id,
        game_id=game_id,
        person_id=person_id,
        number=number,
        asked_at=now,
    )
    db.add(play)
    return play


async def lock_player(db: AsyncSession, person_id: int) -> None:
    """A player's answer and the record of the question it answers wait for each other
    (on PostgreSQL; SQLite has one writer at a time anyway)."""
    await db.execute(select(Person.id).where(Person.id == person_id).with_for_update())


async def take_early_answer(
    db: AsyncSession, telegram_poll_id: str, person_id: int
) -> tuple[int, datetime] | None:
    """An answer that came before the question's delivery was recorded (kept as a vote,
    as the poll was not known yet): the option and when, and the vote goes."""
    vote = (
        await db.execute(
            select(PollVote).where(
                PollVote.telegram_poll_id == telegram_poll_id, PollVote.person_id == person_id
            )
        )
    ).scalar()
    if vote is None:
        return None
    await db.execute(delete(PollVote).where(PollVote.telegram_poll_id == telegram_poll_id))
    return vote.option, vote.voted_at


async def play_of(db: AsyncSession, telegram_poll_id: str) -> QuizPlay | None:
    return await db.get(QuizPlay, telegram_poll_id)


async def score(db: AsyncSession, game_id: int, person_id: int, correct: Sequence[int]) -> int:
    """How many of the game's questions the player answered right."""
    rows = await db.execute(
        select(QuizPlay.number, QuizPlay.option).where(
            QuizPlay.game_id == game_id, QuizPlay.person_id == person_id
        )
    )
    return sum(
        1 for number, option in rows.tuples() if number < len(correct) and option == correct[number]
    )


async def finish_player(db: AsyncSession, game_id: int, person_id: int, now: datetime) -> int:
    """The player's game is over; how many players have still not finished."""
    player = await db.get(QuizPlayer, (game_id, person_id))
    if player is not None and player.finished_at is None:
        player.finished_at = now
        await db.flush()
    left = await db.scalar(
        select(func.count())
        .select_from(QuizPlayer)
        .where(QuizPlayer.game_id == game_id, QuizPlayer.finished_at.is_(None))
    )
    return int(left or 0)


async def players(db: AsyncSession, game_id: int) -> list[int]:
    result = await db.execute(
        select(QuizPlayer.person_id)
        .where(QuizPlayer.game_id == game_id)
        .order_by(QuizPlayer.person_id)
    )
    return list(result.scalars())


async def game_board(
    db: AsyncSession, game_id: int, correct: Sequence[int], limit: int
) -> list[tuple[str, int, float]]:
    """(first name, right answers, seconds taken over the right ones) of the game's players
    who answered, best first: more right answers, then faster. Counts only, never whose
    answer was which."""
    rows = await db.execute(
        select(
            Person.id,
            Person.first_name,
            QuizPlay.number,
            QuizPlay.option,
            QuizPlay.asked_at,
            QuizPlay.answered_at,
        )
        .join(Person, Person.id == QuizPlay.person_id)
        .where(QuizPlay.game_id == game_id, QuizPlay.answered_at.is_not(None))
    )
    board: dict[int, tuple[str, int, float]] = {}
    for person_id, name, number, option, asked_at, answered_at in rows.tuples():
        _, right, seconds = board.get(person_id, (name, 0, 0.0))
        if answered_at is not None and number < len(correct) and option == correct[number]:
            right += 1
            seconds += (answered_at - asked_at).total_seconds()
        board[person_id] = (name, right, seconds)
    return sorted(board.values(), key=lambda e: (-e[1], e[2], e[0]))[:limit]


async def games_of(db: AsyncSession, game_ids: Collection[int]) -> dict[int, list[Any]]:
    """The questions of these games."""
    if not game_ids:
        return {}
    result = await db.execute(
        select(QuizGame.id, QuizGame.questions).where(QuizGame.id.in_(sorted(game_ids)))
    )
    return {game_id: list(questions) for game_id, questions in result.tuples()}
