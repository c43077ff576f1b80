"""The dashboard in Chromium: a coordinator approves a matching on the board and both
sides get their introductions in their chats; a broadcast composed, previewed, sent, and
its progress shown as it goes; the Mini App signing in with Telegram's initData; the
statistics drawn as charts; the pages on a phone's screen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from bot.playground.botapi import BotAPIStandin
from bot.storage.models import Pair
from tests.e2e.conftest import COORDINATOR_ID, MovableClock, Running
from tests.e2e.dashboard_setup import (
    init_data,
    seed_cohort,
    sign_in_link,
    start_with_dashboard,
)
from tests.e2e.people import Person

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def dashboard(
    standin: BotAPIStandin, database_url: str, clock: MovableClock
) -> AsyncIterator[tuple[Running, str]]:
    running, url = await start_with_dashboard(standin, database_url, clock)
    yield running, url
    await running.stop()


async def signed_in(page: Page, standin: BotAPIStandin, bot: Running) -> Person:
    coordinator = Person(standin, standin.user(COORDINATOR_ID, "Dace", "en"), bot)
    await page.goto(await sign_in_link(coordinator))
    await expect(page.get_by_role("heading", name="Your cohorts")).to_be_visible()
    return coordinator


async def test_approving_a_pair_on_the_board_introduces_both_sides(
    page: Page, standin: BotAPIStandin, dashboard: tuple[Running, str]
) -> None:
    bot, url = dashboard
    mentee = standin.user(301, "P301", "en")
    mentor = standin.user(311, "P311", "en")
    cohort = await seed_cohort(bot, COORDINATOR_ID, "Riga spring", range(301, 302), range(311, 312))
    await signed_in(page, standin, bot)

    await page.get_by_role("link", name="Riga spring").click()
    await page.get_by_role("navigation").get_by_role("link", name="Matching").click()
    await expect(page.get_by_text("No proposal waits for a decision.")).to_be_visible()
    await page.get_by_role("button", name="Run matching").click()
    card = page.locator(".card.pair")
    await expect(card).to_have_count(1)
    await expect(card.get_by_role("heading")).to_have_text("P301 → P311")
    await expect(card.locator(".score")).to_contain_text("Score")
    await expect(card.locator(".reasons li").first).to_be_visible()

    await card.get_by_role("button", name="Approve", exact=True).click()
    await expect(page.get_by_text("No proposal waits for a decision.")).to_be_visible()
    to_mentee = await standin.wait_for_message(mentee, contains="You have a mentor", timeout=10)
    to_mentor = await standin.wait_for_message(mentor, contains="new mentee", timeout=10)
    # The mentor meets the mentee by the pseudonym the intake gives unless they chose so.
    assert "P311" in (to_mentee.text or "") and "Nurse" in (to_mentor.text or "")
    async with bot.app.sessions() as db:
        statuses = list(await db.scalars(select(Pair.status).where(Pair.cohort_id == cohort)))
    assert statuses == ["active"]

    await page.get_by_role("navigation").get_by_role("link", name="Pairs").click()
    row = page.locator("tr[data-pair]")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("P301 → P311")


async def test_a_broadcast_composed_previewed_and_its_progress_shown(
    page: Page, standin: BotAPIStandin, dashboard: tuple[Running, str]
) -> None:
    bot, url = dashboard
    people = [standin.user(pid, f"P{pid}", "en") for pid in (*range(301, 304), 311)]
    await seed_cohort(bot, COORDINATOR_ID, "Riga spring", range(301, 304), range(311, 312))
    await signed_in(page, standin, bot)
    await page.get_by_role("link", name="Riga spring").click()
    await page.get_by_role("navigation").get_by_role("link", name="Broadcast").click()

    await page.get_by_label("Message").fill("Meet-up on <b>Friday</b> at 18:00 & snacks")
    await page.get_by_role("button", name="Preview").click()
    await expect(page.locator(".problems")).to_contain_text("&amp;")
    await page.get_by_label("Message").fill("Meet-up on <b>Friday</b> at 18:00 &amp; snacks")
    await page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview")
    await expect(preview.locator("b")).to_have_text("Friday")
    await page.get_by_role("button", name="Send to 4 people").click()

    progress = page.locator("#progress")
    await expect(progress).to_have_attribute("data-state", "finished", timeout=15_000)
    await expect(progress.locator(".status")).to_contain_text("4 sent")
    for person in people:
        got = await standin.wait_for_message(person, contains="Meet-up on Friday", timeout=10)
        assert "& snacks" in (got.text or "")


async def test_inside_telegram_the_mini_app_signs_in_with_its_init_data(
    page: Page, standin: BotAPIStandin, dashboard: tuple[Running, str], clock: MovableClock
) -> None:
    bot, url = dashboard
    await seed_cohort(bot, COORDINATOR_ID, "Riga spring", range(301, 302), range(311, 312))
    signed = init_data(standin.token, COORDINATOR_ID, clock.now())
    # Telegram opens the menu button's URL with initData in the fragment.
    await page.goto(f"{url}/#tgWebAppData={quote(signed)}&tgWebAppVersion=8.0")
    await expect(page.get_by_role("heading", name="Your cohorts")).to_be_visible()
    await expect(page.get_by_role("link", name="Riga spring")).to_be_visible()

    await page.context.clear_cookies()
    await page.goto("about:blank")  # a new fragment alone would not load the page again
    forged = signed.replace("Dace", "Eve")
    await page.goto(f"{url}/#tgWebAppData={quote(forged)}")
    await expect(page.locator("#webapp-status")).to_have_text(
        "Telegram did not sign you in. Close the dashboard and open it again from the menu button."
    )


async def test_the_statistics_page_draws_its_charts(
    page: Page, standin: BotAPIStandin, dashboard: tuple[Running, str]
) -> None:
    bot, url = dashboard
    cohort = await seed_cohort(bot, COORDINATOR_ID, "Riga spring", range(301, 304), range(311, 313))
    await signed_in(page, standin, bot)
    await page.goto(f"{url}/cohorts/{cohort}/stats")
    await expect(page.get_by_role("heading", name="Statistics for Riga spring")).to_be_visible()
    drawn = await page.evaluate(
        "() => [...document.querySelectorAll('#charts canvas')]"
        ".map((canvas) => Boolean(Chart.getChart(canvas)))"
    )
    assert drawn == [True] * 5
    people = await page.evaluate("() => Chart.getChart('chart-people').data.datasets[0].data")
    assert people == [3, 2]


async def test_on_a_phone_the_pages_fit_the_screen(
    browser: Browser, standin: BotAPIStandin, dashboard: tuple[Running, str]
) -> None:
    bot, url = dashboard
    cohort = await seed_cohort(bot, COORDINATOR_ID, "Riga spring", range(301, 305), range(311, 313))
    context = await browser.new_context(viewport={"width": 390, "height": 780}, is_mobile=True)
    phone = await context.new_page()
    try:
        await signed_in(phone, standin, bot)
        await phone.goto(f"{url}/cohorts/{cohort}/board")
        await phone.get_by_role("button", name="Run matching").click()
        await expect(phone.locator(".card.pair")).to_have_count(2)
        await phone.locator(".card.pair").first.get_by_role("button", name="Approve").click()
        await expect(phone.locator(".card.pair")).to_have_count(1)
        for page in ("", "/people", "/board", "/pairs", "/stats", "/broadcast"):
            await phone.goto(f"{url}/cohorts/{cohort}{page}")
            wide = await phone.evaluate("() => document.documentElement.scrollWidth")
            assert wide <= 390, (page, wide)
    finally:
        await context.close()
