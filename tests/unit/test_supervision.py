"""A long-running loop outlives its failures: started again after a growing pause, an
outage logged once when it starts and once when it is over, stopped only by cancelling."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy.exc import OperationalError

from bot.supervision import supervised


async def test_a_failing_loop_is_started_again_and_an_outage_is_two_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    starts = 0
    running = asyncio.Event()

    async def loop() -> None:
        nonlocal starts
        starts += 1
        if starts <= 3:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("private words"))
        running.set()
        await asyncio.Event().wait()

    caplog.set_level(logging.WARNING, logger="bot.supervision")
    task = asyncio.create_task(
        supervised("outbox", loop, first_pause=0.01, longest_pause=0.02, recovered_after=0.05)
    )
    await asyncio.wait_for(running.wait(), 5)
    for _ in range(200):
        if len(caplog.records) == 2:
            break
        await asyncio.sleep(0.01)
    assert [r.getMessage() for r in caplog.records] == [
        "outbox failing, retrying: OperationalError",
        "outbox recovered (after OperationalError)",
    ]
    assert starts == 4
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_loop_that_ends_ends_its_supervision() -> None:
    async def loop() -> None:
        return None

    await asyncio.wait_for(supervised("done", loop), 5)
