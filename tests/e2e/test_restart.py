"""The bot as a separate process, killed with SIGKILL and started again."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.playground.botapi import BotAPIStandin, SimUser
from bot.storage import repositories as repo
from bot.storage.database import create_engine, create_sessionmaker, upgrade
from bot.storage.models import Answer, InboxUpdate, Outgoing, Person
from tests.conftest import TEST_KEYRING, create_postgres_database, drop_postgres_database
from tests.e2e.processes import START_SECONDS, STOP_SECONDS, Processes
from tests.forkserver import ForkServer


async def stored(database_url: str) -> tuple[dict[str, object], list[InboxUpdate]]:
    engine = create_engine(database_url, TEST_KEYRING)
    async with create_sessionmaker(engine)() as db:
        answers = dict((await db.execute(select(Answer.key, Answer.value))).all())
        inbox = list((await db.execute(select(InboxUpdate))).scalars())
    await engine.dispose()
    return answers, inbox


async def say(standin: BotAPIStandin, user: SimUser, text: str, expect: str) -> None:
    count = len(standin.messages(user))
    if text.startswith("/"):
        await standin.send_command(user, text)
    else:
        await standin.send_text(user, text)
    await standin.wait_for_message(user, count=count + 1, contains=expect, timeout=10)


async def test_killed_mid_dialog_the_person_continues_at_the_same_step(
    standin: BotAPIStandin, processes: Processes, database_url: str
) -> None:
    user = standin.user(321, "Kira", "en")
    bot = await processes.run()
    await say(standin, user, "/grow", "What is your goal?")
    await say(standin, user, "Learn to swim", "Which area of your life")
    count = len(standin.messages(user))
    await standin.press(user, "Health")
    await standin.wait_for_message(user, count=count + 1, contains="By when will you reach it?")
    count = len(standin.messages(user))
    await standin.press(user, "In a month")
    await standin.wait_for_message(user, count=count + 1, contains="How will you recognise")
    await bot.kill()

    bot = await processes.run()
    await say(standin, user, "I can swim 400 m", "What would the benefits be")
    answers, _ = await stored(database_url)
    assert set(answers) == {"goal", "goal_area", "goal_date", "goal_evidence"}
    assert answers["goal"] == "Learn to swim"


@pytest.mark.postgres  # The inbox: stored, confirmed, handled, across a kill.
async def test_an_update_in_flight_at_the_kill_is_handled_after_the_restart(
    standin: BotAPIStandin, processes: Processes, database_url: str
) -> None:
    user = standin.user(322, "Lauris", "en")
    bot = await processes.run()
    await say(standin, user, "/dilts", "What situation or problem")
    standin.hold("sendMessage")
    update_id = await standin.send_text(user, "Changing careers")
    # The bot took the update (its next poll confirmed it) and was answering when it died.
    await standin.wait_for(
        lambda: update_id not in standin.unconfirmed_update_ids and standin.held_requests,
        10,
        "the bot to confirm the update and start its reply",
    )
    await bot.kill()
    standin.release()
    bot = await processes.run()
    question = await standin.wait_for_message(
        user, contains="On which level does the problem seem to sit?", timeout=10
    )
    for _ in range(500):  # the reply is out; the update is marked handled right after
        answers, inbox = await stored(database_url)
        if all(row.handled_at is not None for row in inbox):
            break
        await asyncio.sleep(0.01)
    assert answers == {"situation": "Changing careers"}
    assert [row.attempts for row in inbox if row.update_id == update_id] == [1]
    asked = [m for m in standin.messages(user) if m.text == question.text]
    assert len(asked) == 1


async def test_a_half_made_choice_survives_a_kill(
    standin: BotAPIStandin, processes: Processes, database_url: str
) -> None:
    user = standin.user(323, "Mara", "en")
    bot = await processes.run()
    await say(standin, user, "/wheel", "Family and friends")
    for rating in ("7", "5", "8", "4", "6", "7", "3"):
        await say(standin, user, rating, "how are you doing")
    await say(standin, user, "6", "Choose the 2 or 3")
    choice = standin.last_message(user)
    edits = choice.edits
    await standin.press(user, "✅ Fun and recreation")
    await standin.press(user, "▫️ Health")
    await standin.wait_for(lambda: choice.edits == edits + 2, 10, "the choice to be redrawn")
    await bot.kill()

    bot = await processes.run()
    count = len(standin.messages(user))
    await standin.press(user, "Done", message=choice)
    await standin.wait_for_message(user, count=count + 1, contains="one action", timeout=10)
    for _ in range(500):
        answers, _inbox = await stored(database_url)
        if "focus" in answers:
            break
        await asyncio.sleep(0.01)
    assert answers["focus"] == ["partner", "finances", "health"]


async def test_sigterm_stops_the_bot_cleanly(standin: BotAPIStandin, processes: Processes) -> None:
    bot = await processes.run(fresh_python=True)  # the command itself, as it is installed
    assert await bot.terminate() == 0


async def queue_for(
    database_url: str, users: list[SimUser], text: str, due_at: datetime | None = None
) -> None:
    """One message for each person (due now, or at ``due_at``), straight into the outbox."""
    engine = create_engine(database_url, TEST_KEYRING)
    await upgrade(engine)
    async with create_sessionmaker(engine)() as db:
        now = datetime.now(UTC)
        for user in users:
            db.add(
                Person(
                    id=user.id,
                    first_name=user.first_name,
                    created_at=now,
                    last_seen_at=now,
                    quiet_from=0,
                    quiet_to=0,
                )
            )
            await db.flush()
            repo.enqueue(
                db,
                kind="test",
                chat_id=user.id,
                method="sendMessage",
                payload={"text": f"{text} for {user.id}"},
                now=now,
                due_at=due_at,
            )
        await db.commit()
    await engine.dispose()


async def outbox_statuses(database_url: str) -> list[str]:

    engine = create_engine(database_url, TEST_KEYRING)
    async with create_sessionmaker(engine)() as db:
        statuses = list((await db.execute(select(Outgoing.status))).scalars())
    await engine.dispose()
    return statuses


@pytest.mark.postgres  # Claims and their leases.
async def test_killed_between_claiming_and_sending_each_goes_exactly_once(
    standin: BotAPIStandin, database_url: str, processes: Processes
) -> None:
    users = [standin.user(3000 + n, f"P{n}", "en") for n in range(20)]
    await queue_for(database_url, users, "Check-in")
    standin.hold("sendMessage")
    worker = processes.worker()
    # Claimed, the requests on their way: none has reached Telegram when the worker dies.
    await standin.wait_for(lambda: len(standin.held_requests) >= 5, START_SECONDS, "claims")
    assert set(await outbox_statuses(database_url)) <= {"sending", "pending"}
    await worker.kill()
    standin.release()
    assert not any(standin.messages(user) for user in users)

    worker = processes.worker()
    await standin.wait_for(
        lambda: all(standin.messages(user) for user in users),
        START_SECONDS,
        "every message once the lease ran out",
    )
    assert await worker.terminate() == 0
    assert [len(standin.messages(user)) for user in users] == [1] * len(users)
    assert await outbox_statuses(database_url) == ["sent"] * len(users)


async def test_two_workers_on_one_postgresql_send_nothing_twice(forkserver: ForkServer) -> None:
    database_url = await create_postgres_database()
    try:
        async with (
            BotAPIStandin(chat_limit=None, global_limit=None) as standin,
            Processes(standin, database_url, forkserver) as processes,
        ):
            users = [standin.user(4000 + n, f"Q{n}", "en") for n in range(600)]
            await queue_for(database_url, users, "Digest")
            # Each worker sends 100 a second (the stand-in has no limits here).
            workers = [processes.worker(OUTBOX_RATE="100") for _ in range(2)]
            await standin.wait_for(
                lambda: sum(len(standin.messages(user)) for user in users) >= len(users),
                60,
                "every message",
            )
            assert [await worker.terminate() for worker in workers] == [0, 0]
            assert [len(standin.messages(user)) for user in users] == [1] * len(users)
            assert await outbox_statuses(database_url) == ["sent"] * len(users)
    finally:
        await drop_postgres_database(database_url)


@pytest.mark.postgres  # Claims and their leases.
async def test_a_stopped_worker_waits_for_its_sends_and_records_them_before_it_exits(
    standin: BotAPIStandin, database_url: str, processes: Processes
) -> None:
    """SIGTERM while the messages are on their way: the worker does not close the database
    under them, and what Telegram took is recorded as sent, not left to go again."""
    users = [standin.user(3500 + n, f"S{n}", "en") for n in range(8)]
    await queue_for(database_url, users, "Reminder")
    standin.hold("sendMessage")
    worker = processes.worker()
    await standin.wait_for(
        lambda: len(standin.held_requests) >= len(users), START_SECONDS, "the sends"
    )
    worker.process.send_signal(signal.SIGTERM)
    exiting = asyncio.ensure_future(worker.process.wait())
    done, _ = await asyncio.wait({exiting}, timeout=1)
    assert not done, "the worker stopped with its sends still on their way"
    standin.release()
    assert await asyncio.wait_for(exiting, STOP_SECONDS) == 0
    assert [len(standin.messages(user)) for user in users] == [1] * len(users)
    assert await outbox_statuses(database_url) == ["sent"] * len(users)


async def test_a_worker_process_sends_what_is_due(
    standin: BotAPIStandin, database_url: str, processes: Processes
) -> None:
    user = standin.user(324, "Nora", "en")
    await queue_for(database_url, [user], "From the worker")
    worker = processes.worker()
    await standin.wait_for_message(user, contains="From the worker", timeout=START_SECONDS)
    assert not standin.calls("getUpdates")
    assert await worker.terminate() == 0
    assert await outbox_statuses(database_url) == ["sent"]
