"""Long-running loops that outlive a bad moment: a database restarting, the network
gone for a while. A loop that raises is started again after a pause that grows while it
keeps failing; an outage is one log line when it starts and one when it is over."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

FIRST_PAUSE_SECONDS = 0.5
LONGEST_PAUSE_SECONDS = 5.0
# A loop running this long since it was started again has recovered.
RECOVERED_SECONDS = 5.0


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
    it again whenever it raises. Only the exception's type is logged: never what people
    wrote, which an exception's text may hold."""
    pause = first_pause
    failing: str | None = None
    while True:
        started = monotonic()
        running = asyncio.ensure_future(loop())
        recovery = (
            asyncio.create_task(_tell_recovered(name, failing, running, recovered_after))
            if failing is not None
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
            if recovery is not None and recovery.done() and recovery.result():
                failing = None
            if monotonic() - started >= recovered_after:
                pause = first_pause
            if failing is None:
                log.error("%s failing, retrying: %s", name, type(exc).__name__)
            failing = type(exc).__name__
        finally:
            if recovery is not None:
                recovery.cancel()
        await asyncio.sleep(pause)
        pause = min(longest_pause, pause * 2)


async def _tell_recovered(
    name: str, error: str, running: asyncio.Future[None], after: float
) -> bool:
    await asyncio.sleep(after)
    if running.done():
        return False
    log.warning("%s recovered (after %s)", name, error)
    return True
