"""The relationship pulse's queries (bot/services/pulse.py), and what a pair's health
reads. Like repositories.py: each function takes the caller's session and never commits."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.pairs import PairStatus
from bot.storage import conversation as conversation_store
from bot.storage.models import Commitment, Outgoing, Pair, PulseAnswer

Answer = tuple[int | None, str | None]  # (useful, regular)


async def started_before(db: AsyncSession, moment: datetime) -> list[Pair]:
    """Active pairs that started (were approved) before ``moment``."""
    started = func.coalesce(Pair.decided_at, Pair.created_at)
    result = await db.execute(
        select(Pair).where(Pair.status == PairStatus.ACTIVE, started <= moment)
    )
    return list(result.scalars())


async def latest_rounds(db: AsyncSession) -> dict[int, int]:
    """Each pair's latest round asked."""
    rows = await db.execute(
        select(PulseAnswer.pair_id, func.max(PulseAnswer.round)).group_by(PulseAnswer.pair_id)
    )
    return {pair_id: round_ for pair_id, round_ in rows}


async def ask(db: AsyncSession, pair: Pair, round_: int, now: datetime) -> bool:
    """The round's rows for both sides; False if another process asked it first."""
    try:
        async with db.begin_nested():
            for side_id in (pair.mentee_id, pair.mentor_id):
                db.add(PulseAnswer(pair_id=pair.id, person_id=side_id, round=round_, asked_at=now))
            await db.flush()
    except IntegrityError:
        return False
    return True


async def answer_of(
    db: AsyncSession, pair_id: int, person_id: int, round_: int
) -> tuple[PulseAnswer | None, int | None]:
    """The person's row of that round, and the latest round asked of them in the pair."""
    row = await db.scalar(
        select(PulseAnswer).where(
            PulseAnswer.pair_id == pair_id,
            PulseAnswer.person_id == person_id,
            PulseAnswer.round == round_,
        )
    )
    latest = await db.scalar(
        select(func.max(PulseAnswer.round)).where(
            PulseAnswer.pair_id == pair_id, PulseAnswer.person_id == person_id
        )
    )
    return row, latest


async def last_opened(db: AsyncSession, person_id: int) -> PulseAnswer | None:
    """The unanswered round the person opened last."""
    row: PulseAnswer | None = await db.scalar(
        select(PulseAnswer)
        .where(
            PulseAnswer.person_id == person_id,
            PulseAnswer.started_at.is_not(None),
            PulseAnswer.answered_at.is_(None),
        )
        .order_by(PulseAnswer.started_at.desc())
        .limit(1)
    )
    return row


async def latest_answers(db: AsyncSession, pair_ids: Collection[int]) -> dict[int, list[Answer]]:
    """Each side's latest answered round, by pair."""
    rows = await db.execute(
        select(PulseAnswer.pair_id, PulseAnswer.person_id, PulseAnswer.useful, PulseAnswer.regular)
        .where(PulseAnswer.pair_id.in_(pair_ids), PulseAnswer.answered_at.is_not(None))
        .order_by(PulseAnswer.round)
    )
    latest: dict[tuple[int, int], Answer] = {}
    for pair_id, person_id, useful, regular in rows:
        latest[(pair_id, person_id)] = (useful, regular)
    by_pair: dict[int, list[Answer]] = {}
    for (pair_id, _), answer in latest.items():
        by_pair.setdefault(pair_id, []).append(answer)
    return by_pair


async def commitments(
    db: AsyncSession, person_ids: Collection[int]
) -> tuple[dict[int, int], dict[int, list[date]]]:
    """By person: how many commitments are done, and the due dates of the open ones."""
    done = await db.execute(
        select(Commitment.person_id, func.count())
        .where(Commitment.person_id.in_(person_ids), Commitment.status == "done")
        .group_by(Commitment.person_id)
    )
    open_rows = await db.execute(
        select(Commitment.person_id, Commitment.due_on).where(
            Commitment.person_id.in_(person_ids), Commitment.status == "open"
        )
    )
    due: dict[int, list[date]] = {}
    for person_id, due_on in open_rows:
        due.setdefault(person_id, []).append(due_on)
    return {person_id: count for person_id, count in done}, due


async def relays(
    db: AsyncSession, pair_ids: Collection[int], since: datetime
) -> list[tuple[int, int, datetime]]:
    """(pair, sender, when) of the messages relayed in these pairs since then, in order."""
    pair_of = Outgoing.context["pair"].as_integer()
    rows = await db.execute(
        select(pair_of, Outgoing.context["from"].as_integer(), Outgoing.created_at)
        .where(
            Outgoing.kind == conversation_store.RELAY,
            pair_of.in_(pair_ids),
            Outgoing.created_at >= since,
        )
        .order_by(Outgoing.created_at)
    )
    return [(pair_id, sender, at) for pair_id, sender, at in rows]
