"""Tests in a real browser: Debian's Chromium, driven by Playwright (never a downloaded
browser build). The browser is launched once for the session; each test has a fresh
context and page. Browser tests run on the session's event loop (the browser lives
there), and so do the bot and the stand-in they start."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from bot.playground.botapi import BotAPIStandin
from tests.e2e.conftest import clock  # noqa: F401 - the tests' clock, a fixture


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: `make test` installs it (scripts/browser.sh)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox"]
        )
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    yield opened
    await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def standin() -> AsyncIterator[BotAPIStandin]:
    async with BotAPIStandin(chat_limit=None) as server:
        yield server
