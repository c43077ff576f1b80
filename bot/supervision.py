"""Long-running loops that outlive a bad moment: a database restarting, the network
gone for a while. A loop that raises is started again after a pause that grows while it
keeps failing; an outage is one log line when it starts and one when it is over."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp
from aiogram.exceptions import TelegramNetworkError, TelegramServerError
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

log = logging.getLogger(__name__)

FIRST_PAUSE_SECONDS = 0.5
LONGEST_PAUSE_SECONDS = 5.0
# A loop running this long since it was started again has recovered.
RECOVERED_SECONDS = 5.0
# Trouble that passes: the database restarting or out of reach (the PostgreSQL driver
# raises OSError itself when it cannot connect), the network, Telegram's own errors.
RETRYABLE: tuple[type[BaseException], ...] = (
    OperationalError,
    DBAPIError,
    OSError,
    TimeoutError,
    aiohttp.ClientError,
    TelegramNetworkError,
    TelegramServerError,
)

# What a database that is restarting or out of reach raises, through SQLAlchemy or not.
DATABASE_TROUBLE: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError, TimeoutError)


class Outage:
    """What a loop that retries in place says and waits: one line when trouble starts,
    one when it is over, and a pause before the next try that grows while it lasts. Only
    the exception's type is logged: never what people wrote, which its text may hold."""

    def __init__(
        self,
        name: str,
        first_pause: float = FIRST_PAUSE_SECONDS,
        longest_pause: float = LONGEST_PAUSE_SECONDS,
    ) -> None:
        self.name = name
        self.first_pause = first_pause
        self.longest_pause = longest_pause
        self.pause = first_pause
        self.failing: str | None = None

    def failed(self, exc: BaseException) -> float:
        """Another failure: the seconds to wait before trying again."""
        if self.failing is None:
            log.error("%s failing, retrying: %s", self.name, type(exc).__name__)
        self.failing = type(exc).__name__
        pause, self.pause = self.pause, min(self.longest_pause, self.pause * 2)
        return pause

    def over(self) -> None:
        """It worked again."""
        if self.failing is not None:
            log.warning("%s recovered (after %s)", self.name, self.failing)
        self.failing = None
        self.pause = self.first_pause


async def supervised(
    name: str,
    loop: Callable[[], Awaitable[None]],
    *,
    first_pause: float = FIRST_PAUSE_SECONDS,
    longest_pause: float = LONGEST_PAUSE_SECONDS,
    recovered_after: float = RECOVERED_SECONDS,
    monotonic: Callable[[], float] = time.monotonic,
) -> None:
    """Run ``loop`` until it returns or the task is cancelled (SIGTERM, SIGINT), starting
    it again whenever it raises; it has recovered once it has run ``recovered_after``
    seconds since."""
    outage = Outage(name, first_pause, longest_pause)
    while True:
        started = monotonic()
        running = asyncio.ensure_future(loop())
        recovery = (
            asyncio.create_task(_tell_recovered(outage, running, recovered_after))
            if outage.failing is not None
            else None
        )
        try:
            await running
            return
        except asyncio.CancelledError:
            running.cancel()
            # What the loop does as it stops (the outbox records what is in flight) is done
            # before the caller goes on to close the database and the bot's session.
            await asyncio.wait({running})
            raise
        except Exception as exc:
            if monotonic() - started >= recovered_after:
                outage.over()
            pause = outage.failed(exc)
        finally:
            if recovery is not None:
                recovery.cancel()
        await asyncio.sleep(pause)


async def together(*loops: Coroutine[Any, Any, None]) -> None:
    """Run the loops until all are done; cancelled, each is cancelled and waited for. Not
    ``asyncio.gather``: cancelled, it returns as soon as the first loop has stopped, so the
    caller would close the database and the bot's session while the outbox is still
    recording what it has sent (and that would go again after a restart)."""
    async with asyncio.TaskGroup() as group:
        for loop in loops:
            group.create_task(loop)


async def _tell_recovered(outage: Outage, running: asyncio.Future[None], after: float) -> None:
    await asyncio.sleep(after)
    if not running.done():
        outage.over()
