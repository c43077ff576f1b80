"""The outbox: what the bot starts is sent once, within Telegram's limits. The stand-in's
limits and the sender's pacing run on time ten times faster than the wall clock
(tests/e2e/broadcast_setup.FastTime); the clock of due times is moved by the tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.playground.botapi import BotAPIStandin, RateLimit
from bot.services.clock import Clock
from bot.storage import repositories as repo
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.group_commit import GroupCommit
from bot.storage.models import Outgoing, Person
from bot.telegram.outbox import OutboxSender, Settled, settle
from bot.telegram.sender import BotSession, DeliveryMiddleware
from tests.conftest import TEST_KEYRING
from tests.e2e.broadcast_setup import FastTime
from tests.e2e.conftest import MovableClock

# Claims, leases and workers sharing a database: on both databases.
pytestmark = pytest.mark.postgres


START = datetime(2026, 11, 25, 9, tzinfo=UTC)


class Harness:
    def __init__(
        self, standin: BotAPIStandin, engine: AsyncEngine, clock: MovableClock, fast: FastTime
    ) -> None:
        self.standin = standin
        self.sessions = create_sessionmaker(engine)
        self.clock = clock
        self.fast = fast
        self.bots: list[Bot] = []
        self.undeliverable: list[tuple[int, str]] = []
        self.blocked: list[int] = []

    def sender(
        self,
        rate: float = 25.0,
        batch: int = 200,
        clock: Clock | None = None,
        lease: timedelta = timedelta(seconds=15),
    ) -> OutboxSender:
        session = BotSession(api=TelegramAPIServer.from_base(self.standin.base_url))

        async def on_blocked(chat_id: int) -> None:
            self.blocked.append(chat_id)

        session.middleware(
            DeliveryMiddleware(on_blocked, sleep=self.fast.sleep, monotonic=self.fast.monotonic)
        )
        bot = Bot(self.standin.token, session=session)
        self.bots.append(bot)

        async def undeliverable(row: Outgoing, status: str) -> None:
            self.undeliverable.append((row.chat_id, status))

        return OutboxSender(
            bot,
            self.sessions,
            clock or self.clock,
            rate=rate,
            batch=batch,
            lease=lease,
            on_undeliverable=undeliverable,
            monotonic=self.fast.monotonic,
            sleep=self.fast.sleep,
        )

    async def queue(
        self, chat_ids: list[int], text: str = "Hello {chat}", kind: str = "test"
    ) -> None:
        async with self.sessions() as db:
            for chat_id in chat_ids:
                db.add(
                    Person(
                        id=chat_id,
                        first_name="P",
                        created_at=self.clock.now(),
                        last_seen_at=self.clock.now(),
                    )
                )
            await db.flush()
            for chat_id in chat_ids:
                repo.enqueue(
                    db,
                    kind=kind,
                    chat_id=chat_id,
                    method="sendMessage",
                    payload={"text": text.format(chat=chat_id)},
                    now=self.clock.now(),
                )
            await db.commit()

    async def statuses(self) -> list[str]:
        async with self.sessions() as db:
            return list((await db.execute(select(Outgoing.status).order_by(Outgoing.id))).scalars())

    async def close(self) -> None:
        for bot in self.bots:
            await bot.session.close()


# Time runs this many times faster than the wall clock for the sender and the stand-in.
FAST_TIME = 10
# Where a test's sends are timed to the second of a chat's limit, a pause of the test's
# process (a busy machine) would bunch them: time runs slower there.
PACED_TIME = 2


@pytest.fixture
async def harness(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Harness]:
    from bot.storage.database import upgrade

    engine = create_engine(database_url, TEST_KEYRING)
    await upgrade(engine)
    paced = request.node.get_closest_marker("paced") is not None
    fast = FastTime(PACED_TIME if paced else FAST_TIME, START)
    async with BotAPIStandin(
        clock=fast.monotonic, chat_limit=RateLimit(1, 1.0, burst=1)
    ) as standin:
        made = Harness(standin, engine, MovableClock(START), fast)
        yield made
        await made.close()
    await engine.dispose()


def delivered(harness: Harness, chat_id: int) -> list[str]:
    return [m.text or "" for m in harness.standin.messages(chat_id)]


async def test_each_message_is_sent_once_and_recorded(harness: Harness) -> None:
    chats = list(range(1000, 1040))
    for chat in chats:
        harness.standin.user(chat)
    await harness.queue(chats)
    sender = harness.sender()
    # Half a second's worth at a time (12 at 25 a second).
    assert [await sender.tick() for _ in range(5)] == [12, 12, 12, 4, 0]
    assert all(delivered(harness, chat) == [f"Hello {chat}"] for chat in chats)
    assert await harness.statuses() == ["sent"] * 40
    assert not harness.standin.calls(status=429)


async def test_one_chat_gets_one_message_a_second_without_a_429(harness: Harness) -> None:
    harness.standin.user(2000)
    await harness.queue([2000])
    async with harness.sessions() as db:
        for n in range(2):
            repo.enqueue(
                db,
                kind="test",
                chat_id=2000,
                method="sendMessage",
                payload={"text": f"more {n}"},
                now=harness.clock.now(),
            )
        await db.commit()
    await harness.sender().tick()
    assert delivered(harness, 2000) == ["Hello 2000", "more 0", "more 1"]
    assert not harness.standin.calls(status=429)


async def test_a_blocked_recipient_is_recorded_unreachable(harness: Harness) -> None:
    ok, gone = harness.standin.user(3001), harness.standin.user(3002)
    harness.standin.block(gone)
    await harness.queue([ok.id, gone.id])
    await harness.sender().tick()
    assert await harness.statuses() == ["sent", "unreachable"]
    assert harness.undeliverable == [(gone.id, "unreachable")]
    assert harness.blocked == [gone.id]


async def test_a_429_pauses_and_the_message_still_goes_once(harness: Harness) -> None:
    harness.standin.user(4001)
    harness.standin.inject_429(retry_after=1, count=1, method="sendMessage")
    await harness.queue([4001])
    await harness.sender().tick()
    assert delivered(harness, 4001) == ["Hello 4001"]
    assert await harness.statuses() == ["sent"]


@pytest.mark.paced
async def test_a_429_for_one_chat_pauses_that_chat_only(harness: Harness) -> None:
    """A coordinator's own chat met its limit: its next message waits the retry_after, the
    others go on at the rate meanwhile."""
    coordinator = harness.standin.user(4100)
    others = [harness.standin.user(4101 + n) for n in range(20)]
    await harness.queue([coordinator.id])
    await harness.queue([user.id for user in others])
    harness.standin.inject_429(retry_after=3, count=1, method="sendMessage", chat=coordinator.id)
    sending = asyncio.create_task(harness.sender().run(idle_seconds=0.01))
    try:
        await harness.standin.wait_for(
            lambda: all(delivered(harness, user.id) for user in [coordinator, *others]),
            10,
            "every message",
        )
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
    [refused] = harness.standin.calls(status=429)
    [again] = [c for c in harness.standin.calls("sendMessage", 200) if c.params["chat_id"] == 4100]
    assert again.at >= refused.at + 3
    meanwhile = [
        c.at
        for c in harness.standin.calls("sendMessage", 200)
        if c.params["chat_id"] != 4100 and c.at < refused.at + 3
    ]
    assert len(meanwhile) == len(others)
    assert all(len(delivered(harness, user.id)) == 1 for user in [coordinator, *others])


async def test_a_persons_messages_are_claimed_before_scheduled_and_bulk_ones(
    harness: Harness,
) -> None:
    chats = list(range(4200, 4240))
    for chat in chats:
        harness.standin.user(chat)
    await harness.queue(chats[:20], text="Broadcast {chat}", kind="broadcast")
    await harness.queue(chats[20:35], text="Check-in {chat}", kind="checkin_invite")
    await harness.queue(chats[35:], text="Relayed {chat}", kind="relay")
    async with harness.sessions() as db:
        claimed = await repo.claim_outgoing(db, harness.clock.now(), 25, timedelta(seconds=15))
        kinds = [row.kind for row in claimed]
    assert kinds == ["relay"] * 5 + ["checkin_invite"] * 15 + ["broadcast"] * 5


async def test_rows_claimed_by_a_worker_that_died_are_sent_once_after_its_lease(
    harness: Harness,
) -> None:
    chats = [5001, 5002, 5003]
    for chat in chats:
        harness.standin.user(chat)
    await harness.queue(chats)
    async with harness.sessions() as db:  # a worker claims them, then is killed
        claimed = await repo.claim_outgoing(db, harness.clock.now(), 10, timedelta(seconds=90))
        await db.commit()
    assert len(claimed) == 3
    sender = harness.sender()
    assert await sender.tick() == 0  # still leased to the dead worker
    harness.clock.moment += timedelta(seconds=91)
    assert await sender.tick() == 3
    assert all(delivered(harness, chat) == [f"Hello {chat}"] for chat in chats)
    assert await sender.tick() == 0


@pytest.mark.paced
async def test_a_living_worker_keeps_its_claims_beyond_the_lease(harness: Harness) -> None:
    """Three messages to one chat take over two seconds, longer than the lease: the worker
    sending them renews its claims, so another worker takes none of them over."""
    harness.standin.user(5101)
    await harness.queue([5101])
    async with harness.sessions() as db:
        for n in (2, 3):
            repo.enqueue(
                db,
                kind="test",
                chat_id=5101,
                method="sendMessage",
                payload={"text": f"Hello {n}"},
                now=harness.clock.now(),
            )
        await db.commit()
    lease = timedelta(seconds=1.5)
    sending = asyncio.create_task(harness.sender(lease=lease).tick())
    deadline = asyncio.get_running_loop().time() + 10
    while not delivered(harness, 5101):
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    harness.clock.moment += timedelta(seconds=2)  # past the claims' first lease
    renewed_at = harness.clock.now()
    while True:
        async with harness.sessions() as db:
            claims = list(
                (
                    await db.execute(
                        select(Outgoing.claimed_at).where(Outgoing.status == "sending")
                    )
                ).scalars()
            )
        # Both messages still waiting for their turn were renewed.
        if claims == [renewed_at] * 2:
            break
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    assert await harness.sender(lease=lease).tick() == 0
    assert await sending == 3
    assert delivered(harness, 5101) == ["Hello 5101", "Hello 2", "Hello 3"]
    assert await harness.statuses() == ["sent"] * 3


class Later:
    """The harness's clock, a millisecond on: what a worker with it claims is known by its
    claimed_at."""

    def __init__(self, clock: MovableClock) -> None:
        self.clock = clock

    def now(self) -> datetime:
        return self.clock.now() + timedelta(milliseconds=1)


async def test_two_workers_never_send_the_same_message(harness: Harness, database_url: str) -> None:
    chats = list(range(6000, 6060))
    for chat in chats:
        harness.standin.user(chat)
    await harness.queue(chats)
    second_engine = create_engine(database_url, TEST_KEYRING)
    other = Harness(harness.standin, second_engine, harness.clock, harness.fast)
    # Ten rows a claim: each worker claims again and again while the other is sending.
    first = harness.sender(rate=1000, batch=10)
    second = other.sender(rate=1000, batch=10, clock=Later(harness.clock))
    rounds = 0
    while await harness.statuses() != ["sent"] * len(chats):
        rounds += 1
        assert rounds <= 20, "the workers did not send everything"
        await asyncio.gather(first.tick(), second.tick())
    await other.close()
    await second_engine.dispose()
    assert all(len(delivered(harness, chat)) == 1 for chat in chats)
    async with harness.sessions() as db:
        rows = (await db.execute(select(Outgoing.attempts, Outgoing.claimed_at))).all()
    # Each row claimed once, by one worker or the other, and both took their share.
    assert [attempts for attempts, _ in rows] == [1] * len(chats)
    by_worker = Counter(claimed_at for _, claimed_at in rows)
    first_at, second_at = harness.clock.now(), Later(harness.clock).now()
    assert set(by_worker) == {first_at, second_at}
    assert by_worker[first_at] >= 10 and by_worker[second_at] >= 10


@pytest.mark.paced
async def test_messages_to_one_chat_arrive_in_the_order_written(harness: Harness) -> None:
    """In one lane: a person's messages (here relayed ones) go before a broadcast's even
    if written after them."""
    harness.standin.user(2100)
    texts = [f"part {n}" for n in range(9)]

    async def write(batch: list[str]) -> None:
        async with harness.sessions() as db:
            for text in batch:
                repo.enqueue(
                    db,
                    kind="relay",
                    chat_id=2100,
                    method="sendMessage",
                    payload={"text": text},
                    now=harness.clock.now(),
                )
            await db.commit()

    await harness.queue([2100], text="part start", kind="relay")
    await write(texts[:6])
    sender = harness.sender()
    # One a second for this chat: those beyond the next few seconds are put back.
    await sender.tick()
    assert "pending" in await harness.statuses()
    # Written after them, due at once: still after them.
    await write(texts[6:])
    while "pending" in await harness.statuses():
        harness.clock.moment += timedelta(seconds=1)
        await sender.tick()
    assert delivered(harness, 2100) == ["part start", *texts]
    assert not harness.standin.calls(status=429)


async def test_what_was_sent_while_the_database_was_away_is_recorded_once_it_is_back(
    harness: Harness,
) -> None:
    """Telegram accepted the message; writing so fails three times (the database
    restarting): it is written when the database answers again, and nothing goes twice."""
    harness.standin.user(4100)
    await harness.queue([4100])
    sender = harness.sender()
    failures = 3

    async def write_once_the_database_is_back(db: AsyncSession, batch: list[Settled]) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise OperationalError("UPDATE outbox", {}, ConnectionResetError())
        await settle(db, batch)

    sender.outcomes = GroupCommit(harness.sessions, write_once_the_database_is_back)
    assert await sender.tick() == 1
    assert failures == 0
    assert await harness.statuses() == ["sent"]
    assert await sender.tick() == 0
    assert delivered(harness, 4100) == ["Hello 4100"]
