"""Polls and quizzes: a coordinator writes one, chooses a registered group or a cohort,
and it goes out as native Telegram polls through the outbox (to a cohort, one to each
member in their own chat). Answers come back as poll_answer updates."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.polls import PollDraft
from bot.services.clock import Clock
from bot.storage import polls as store
from bot.storage import repositories as repo
from bot.storage.models import Cohort, Outgoing, Person, Poll, TelegramGroup

QUIZ, POLL = "quiz", "poll"
LEADERBOARD_SIZE = 10


@dataclass
class Audiences:
    cohorts: list[tuple[Cohort, int]]  # with the number of members
    groups: list[TelegramGroup]


@dataclass
class PollResults:
    poll: Poll
    counts: list[int]  # votes by option
    voters: int
    sent: int


class PollService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def draft(self, db: AsyncSession, author: Person, quiz: bool, draft: PollDraft) -> Poll:
        poll = Poll(
            kind=QUIZ if quiz else POLL,
            question=draft.question,
            options=list(draft.options),
            correct_option=draft.correct,
            status="draft",
            created_by=author.id,
            created_at=self.clock.now(),
        )
        db.add(poll)
        await db.flush()
        return poll

    async def audiences(self, db: AsyncSession, cohorts: list[Cohort]) -> Audiences:
        ids = [c.id for c in cohorts]
        counts = await store.member_counts(db, ids)
        found = await store.groups(db, ids)
        return Audiences([(c, counts.get(c.id, 0)) for c in cohorts], found)

    async def send(
        self,
        db: AsyncSession,
        author: Person,
        poll_id: int,
        cohorts: list[Cohort],
        cohort_id: int | None = None,
        group_id: int | None = None,
    ) -> tuple[Poll, int, int] | None:
        """Queue the poll for a cohort's members or a group: the poll, the chats it is
        queued for, and the members left out because they blocked the bot. None if the
        draft is gone, already sent, or the audience is not the author's."""
        poll = await db.get(Poll, poll_id)
        if poll is None or poll.created_by != author.id or poll.status != "draft":
            return None
        mine = {c.id for c in cohorts}
        now = self.clock.now()
        if group_id is not None:
            group = next(
                (g for g in await store.groups(db, list(mine)) if g.chat_id == group_id), None
            )
            if group is None:
                return None
            chats, left_out = [group.chat_id], 0
            poll.group_chat_id, poll.cohort_id = group.chat_id, group.cohort_id
        elif cohort_id in mine:
            chats = await store.members(db, cohort_id)
            left_out = await store.blocking(db, cohort_id)
            poll.cohort_id = cohort_id
        else:
            return None
        for chat in chats:
            repo.enqueue(
                db,
                kind="poll",
                chat_id=chat,
                method="sendPoll",
                payload=self.payload(poll),
                now=now,
                context={"poll": poll.id},
            )
        poll.status, poll.sent_at = "sent", now
        return poll, len(chats), left_out

    @staticmethod
    def payload(poll: Poll) -> dict[str, Any]:
        """A sendPoll request (the bot's parse mode is HTML, so the texts are escaped).
        Not anonymous: only then does Telegram tell the bot who answered what."""
        payload: dict[str, Any] = {
            "question": html.escape(poll.question, quote=False),
            "options": [{"text": html.escape(o, quote=False)} for o in poll.options],
            "is_anonymous": False,
            "type": "quiz" if poll.kind == QUIZ else "regular",
        }
        if poll.kind == QUIZ:
            payload["correct_option_ids"] = [poll.correct_option]
        return payload

    async def on_sent(self, db: AsyncSession, row: Outgoing, result: Any) -> None:
        """The outbox sent a row: a poll's Telegram id is kept, to know its answers."""
        if row.kind != "poll" or not isinstance(result, Message) or result.poll is None:
            return
        await store.record_delivery(
            db, result.poll.id, int(row.context["poll"]), row.chat_id, result.message_id
        )

    async def answer(
        self, db: AsyncSession, telegram_poll_id: str, person_id: int, options: list[int]
    ) -> None:
        await store.record_vote(db, telegram_poll_id, person_id, options, self.clock.now())

    async def results(self, db: AsyncSession, author: Person, poll_id: int) -> PollResults | None:
        poll = await db.get(Poll, poll_id)
        if poll is None or poll.created_by != author.id or poll.status != "sent":
            return None
        counts, voters, sent = await store.option_counts(db, poll.id)
        return PollResults(poll, [counts.get(n, 0) for n in range(len(poll.options))], voters, sent)

    async def leaderboard(self, db: AsyncSession, cohort_id: int) -> list[tuple[str, int, int]]:
        return await store.leaderboard(db, cohort_id, LEADERBOARD_SIZE)
