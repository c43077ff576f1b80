"""Polls, quizzes and quiz games: a coordinator writes one, chooses a registered group or a
cohort, and it goes out as native Telegram polls through the outbox (to a cohort, one to
each member in their own chat). Answers to a named poll come back as poll_answer updates;
of an anonymous one Telegram tells only the totals, in poll updates.

A game is several quiz questions sent to a cohort's members, one after another, each open
for the game's seconds. A player's next question goes as soon as they answered the last
one, or when its time ran out: everyone plays at their own pace (as in Quizizz), so nobody
waits for the slowest and a member who stopped playing holds up no one. Each next step is
an outbox row queued when the question before it went out, due when its time runs out and
moved to now by the answer, so a restart loses nothing. Their score goes after the last;
the leaderboard goes to the coordinator (and, if chosen, to the players) once every player
has finished, or at the latest when the slowest possible game would have ended."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.polls import GAME_SECONDS, PollDraft
from bot.domain.texts import N_, Msg, msg_to_json
from bot.i18n import locale_for
from bot.services.clock import Clock
from bot.services.messages import queue_message
from bot.storage import polls as store
from bot.storage import repositories as repo
from bot.storage.models import Cohort, Outgoing, Person, Poll, QuizGame, TelegramGroup

QUIZ, POLL = "quiz", "poll"
# The outbox kind of a game's questions, scores and leaderboards.
GAME = "quiz"
LEADERBOARD_SIZE = 10
# After a question's time is up, before the next goes: Telegram has closed it by then.
GAME_GAP = timedelta(seconds=1)
# How long after the last possible question the leaderboard goes anyway (a player who
# blocked the bot mid-game never finishes): time for the outbox to reach everyone.
GAME_SLACK = timedelta(minutes=2)
# Messages a second the leaderboard's deadline allows for (below the outbox's rate).
GAME_PACE = 20
MEDALS = ("🥇", "🥈", "🥉")


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
    def __init__(self, clock: Clock, default_locale: str) -> None:
        self.clock = clock
        self.default_locale = default_locale

    async def draft(
        self, db: AsyncSession, author: Person, quiz: bool, draft: PollDraft, anonymous: bool
    ) -> Poll:
        poll = Poll(
            kind=QUIZ if quiz else POLL,
            question=draft.question,
            options=list(draft.options),
            correct_option=draft.correct,
            anonymous=anonymous,
            status="draft",
            created_by=author.id,
            created_at=self.clock.now(),
        )
        db.add(poll)
        await db.flush()
        return poll

    async def set_anonymous(
        self, db: AsyncSession, author: Person, poll_id: int, anonymous: bool
    ) -> Poll | None:
        """A draft becomes anonymous or named; None once it went out (or is gone)."""
        poll = await db.get(Poll, poll_id)
        if poll is None or poll.created_by != author.id or poll.status != "draft":
            return None
        poll.anonymous = anonymous
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
        """A sendPoll request. Of a named poll Telegram tells the bot who answered what; of
        an anonymous one only the totals."""
        return poll_request(
            poll.question,
            poll.options,
            poll.correct_option if poll.kind == QUIZ else None,
            anonymous=poll.anonymous,
        )

    async def on_sent(self, db: AsyncSession, row: Outgoing, result: Any) -> None:
        """The outbox sent a row: a poll's Telegram id is kept, to know its answers; a
        game's question, to know its player's answer, and their next step is queued."""
        if not isinstance(result, Message) or result.poll is None:
            return
        if row.kind == "poll":
            await store.record_delivery(
                db, result.poll.id, int(row.context["poll"]), row.chat_id, result.message_id
            )
        elif row.kind == GAME and "number" in row.context:
            await self._asked(db, row, result.poll.id)

    async def answer(
        self, db: AsyncSession, telegram_poll_id: str, person_id: int, options: list[int]
    ) -> bool:
        """A poll_answer: a vote, or a player's answer in a game. True when it moved a
        player's next question to now (the outbox is to be woken)."""
        await store.lock_player(db, person_id)
        play = await store.play_of(db, telegram_poll_id)
        if play is None:
            await store.record_vote(db, telegram_poll_id, person_id, options, self.clock.now())
            return False
        if play.person_id != person_id or play.option is not None or not options:
            return False
        now = self.clock.now()
        play.option, play.answered_at = options[0], now
        following = await repo.by_series(db, step_series(play.game_id, person_id, play.number + 1))
        if following is None or following.status != "pending":
            return False
        following.due_at = now
        return True

    async def totals(
        self, db: AsyncSession, telegram_poll_id: str, totals: list[int], voters: int
    ) -> None:
        """A poll update: the totals of one of our anonymous polls as they stand now (those
        of a named poll are counted from its votes)."""
        await store.record_totals(db, telegram_poll_id, totals, voters)

    async def results(self, db: AsyncSession, author: Person, poll_id: int) -> PollResults | None:
        poll = await db.get(Poll, poll_id)
        if poll is None or poll.created_by != author.id or poll.status != "sent":
            return None
        counts, voters, sent = await store.option_counts(db, poll.id)
        if poll.anonymous:
            totals, voters = await store.reported_totals(db, poll.id, len(poll.options))
            return PollResults(poll, totals, voters, sent)
        return PollResults(poll, [counts.get(n, 0) for n in range(len(poll.options))], voters, sent)

    async def leaderboard(self, db: AsyncSession, cohort_id: int) -> list[tuple[str, int, int]]:
        return await store.leaderboard(db, cohort_id, LEADERBOARD_SIZE)

    # Games ---------------------------------------------------------------------

    async def draft_game(
        self, db: AsyncSession, author: Person, questions: Sequence[PollDraft]
    ) -> QuizGame:
        game = QuizGame(
            questions=[
                {"question": q.question, "options": list(q.options), "correct": q.correct}
                for q in questions
            ],
            seconds=GAME_SECONDS[0],
            board_to_players=False,
            status="draft",
            created_by=author.id,
            created_at=self.clock.now(),
        )
        db.add(game)
        await db.flush()
        return game

    async def game_draft(self, db: AsyncSession, author: Person, game_id: int) -> QuizGame | None:
        """The author's game while it is a draft (its settings can change)."""
        game = await db.get(QuizGame, game_id)
        if game is None or game.created_by != author.id or game.status != "draft":
            return None
        return game

    async def start_game(
        self, db: AsyncSession, author: Person, game_id: int, cohort: Cohort
    ) -> tuple[QuizGame, int, datetime] | None:
        """Queue the first question for each member of the cohort the game can reach, and
        the leaderboard for the coordinator at the latest end: the game, its players and
        when the leaderboard goes at the latest."""
        game = await self.game_draft(db, author, game_id)
        if game is None:
            return None
        now = self.clock.now()
        people = await store.members(db, cohort.id)
        game.status, game.cohort_id, game.sent_at = "sent", cohort.id, now
        await store.add_players(db, game.id, people)
        for person_id in people:
            self._queue_question(db, game, person_id, 0, now)
        steps = len(game.questions) + 1  # the questions and the score
        longest = (steps - 1) * (timedelta(seconds=game.seconds) + GAME_GAP)
        # Everyone's messages at the outbox's pace, had they all to wait for each other.
        pace = timedelta(seconds=len(people) * steps / GAME_PACE)
        board_due = now + longest + pace + GAME_SLACK
        queue_message(
            db,
            author,
            Msg(N_("🏆 <b>Leaderboard</b>")),
            kind=GAME,
            now=now,
            due_at=board_due,
            default_locale=self.default_locale,
            context={"game": game.id, "board": True},
            series=board_series(game.id),
        )
        return game, len(people), board_due

    def _queue_question(
        self, db: AsyncSession, game: QuizGame, person_id: int, number: int, due: datetime
    ) -> None:
        question = game.questions[number]
        total = len(game.questions)
        payload = poll_request(
            f"{number + 1}/{total}. {question['question']}",
            question["options"],
            question["correct"],
            anonymous=False,
        )
        payload["open_period"] = game.seconds
        repo.enqueue(
            db,
            kind=GAME,
            chat_id=person_id,
            method="sendPoll",
            payload=payload,
            now=self.clock.now(),
            due_at=due,
            context={"game": game.id, "number": number},
            series=step_series(game.id, person_id, number),
        )

    async def _asked(self, db: AsyncSession, row: Outgoing, telegram_poll_id: str) -> None:
        """A question went to a player: it is recorded, and their next step (the next
        question, or their score) is queued for when its time is up."""
        game = await db.get(QuizGame, int(row.context["game"]))
        number = int(row.context["number"])
        now = self.clock.now()
        if game is None:
            return
        await store.lock_player(db, row.chat_id)
        play = await store.record_asked(db, telegram_poll_id, game.id, row.chat_id, number, now)
        if play is None:
            return
        following = number + 1
        if await repo.by_series(db, step_series(game.id, row.chat_id, following)) is not None:
            return
        due = now + timedelta(seconds=game.seconds) + GAME_GAP
        early = await store.take_early_answer(db, telegram_poll_id, row.chat_id)
        if early is not None:
            # Answered before this was recorded: it counts (as answered at once), and the
            # next step goes now.
            play.option, play.answered_at = early[0], max(early[1], now)
            due = now
        if following < len(game.questions):
            self._queue_question(db, game, row.chat_id, following, due)
            return
        player = await db.get(Person, row.chat_id)
        if player is None:
            return
        queue_message(
            db,
            player,
            Msg(N_("🏁 <b>The game is over.</b>")),
            kind=GAME,
            now=now,
            due_at=due,
            default_locale=self.default_locale,
            context={"game": game.id, "end": True},
            series=step_series(game.id, row.chat_id, following),
        )

    async def compose_game(
        self, db: AsyncSession, row: Outgoing, person: Person, now: datetime
    ) -> bool:
        """A game's row as it goes: a question goes as it was queued; a player's end is
        written with their score; the leaderboard with the ranking as it stands now. A row
        composed before (by a process that stopped before sending it) goes as it was."""
        game = await db.get(QuizGame, int(row.context["game"]))
        if game is None:
            return False  # the cohort's data was purged meanwhile
        if "parts" in row.payload or not ("end" in row.context or "board" in row.context):
            return True
        heading = {"msg": row.payload["msg"]}
        if row.context.get("end"):
            parts = [heading, *await self._score(db, game, person.id)]
            if await store.finish_player(db, game.id, person.id, now) == 0:
                board = await repo.by_series(db, board_series(game.id))
                if board is not None and board.status == "pending":
                    board.due_at = now
        else:
            parts = [heading, *await self.game_board(db, game)]
            if game.board_to_players and game.status != "done":
                await self._share_board(db, game, parts, now)
            game.status = "done"
        row.payload = {"locale": row.payload["locale"], "parts": parts}
        return True

    async def _score(self, db: AsyncSession, game: QuizGame, person_id: int) -> list[Any]:
        correct = [int(q["correct"]) for q in game.questions]
        right = await store.score(db, game.id, person_id, correct)
        score = Msg(
            N_("Your score: {right} of {total} right."), {"right": right, "total": len(correct)}
        )
        parts = [{"msg": msg_to_json(score)}]
        if game.board_to_players:
            later = Msg(N_("The leaderboard comes once everyone has finished."))
            parts.append({"msg": msg_to_json(later)})
        return parts

    async def _share_board(
        self, db: AsyncSession, game: QuizGame, parts: list[Any], now: datetime
    ) -> None:
        """The leaderboard to each player the bot can still reach, in their language."""
        for player_id in await store.players(db, game.id):
            player = await db.get(Person, player_id)
            if player is None or player.unreachable_at is not None:
                continue
            repo.enqueue(
                db,
                kind=GAME,
                chat_id=player_id,
                method="sendMessage",
                payload={
                    "locale": locale_for(player, player.telegram_language, self.default_locale),
                    "parts": parts,
                },
                now=now,
                context={"game": game.id, "shared": True},
            )

    async def game_board(self, db: AsyncSession, game: QuizGame) -> list[dict[str, Any]]:
        """The leaderboard's lines as outbox parts: place, name, right answers, seconds."""
        correct = [int(q["correct"]) for q in game.questions]
        board = await store.game_board(db, game.id, correct, LEADERBOARD_SIZE)
        if not board:
            return [{"msg": msg_to_json(Msg(N_("Nobody answered.")))}]
        return [
            {
                "msg": msg_to_json(
                    Msg(
                        N_("{place} {name}: {right} of {total} right, {seconds} s"),
                        {
                            "place": MEDALS[n] if n < len(MEDALS) else f"{n + 1}.",
                            "name": name,
                            "right": right,
                            "total": len(correct),
                            "seconds": round(seconds),
                        },
                    )
                )
            }
            for n, (name, right, seconds) in enumerate(board)
        ]


def poll_request(
    question: str, options: Sequence[str], correct: int | None, *, anonymous: bool
) -> dict[str, Any]:
    """A sendPoll request's fields (the bot's parse mode is HTML, so the texts are
    escaped); a quiz when it has a right option."""
    payload: dict[str, Any] = {
        "question": html.escape(question, quote=False),
        "options": [{"text": html.escape(o, quote=False)} for o in options],
        "is_anonymous": anonymous,
        "type": "regular" if correct is None else "quiz",
    }
    if correct is not None:
        payload["correct_option_ids"] = [correct]
    return payload


def step_series(game_id: int, person_id: int, number: int) -> str:
    """A player's step of a game (a question, or their end after the last): never twice."""
    return f"quiz:{game_id}:{person_id}:{number}"


def board_series(game_id: int) -> str:
    return f"quiz:{game_id}:board"
