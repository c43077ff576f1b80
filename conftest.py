"""The simulated people of the tests write and press at machine speed: each sends the next
update the moment the bot has answered the last, dozens a second, far beyond the flood
limit a person is held to (``FLOOD_BURST``, ``FLOOD_RATE``; ``bot/domain/flood.py``). As
the stand-in's per-chat limit is off for them, so is the flood limit; tests of the limit
turn it on with ``start_bot(..., flood_burst=..., flood_rate=...)`` (settings given
there win over the environment)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _flood_limit_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOOD_BURST", "0")
