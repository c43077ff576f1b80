"""The dashboard's doors: a sign-in link works once, Telegram's initData only when Telegram
signed it lately, a coordinator sees only the cohorts they run, and no change is made
without the page's CSRF token. Then what its pages show and do: people by role, status,
name and reachability, matching's "what if", a pair paused, an export."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.dashboard.auth import COOKIE
from bot.playground.botapi import BotAPIStandin
from bot.storage.models import Membership, Pair, Profile
from bot.storage.models import Person as PersonRow
from tests.e2e.conftest import COORDINATOR_ID, MovableClock, Running
from tests.e2e.dashboard_setup import init_data, seed_cohort, sign_in_link, start_with_dashboard
from tests.e2e.people import Person

OTHER_COORDINATOR = 77


@pytest.fixture
async def dashboard(
    standin: BotAPIStandin, database_url: str, clock: MovableClock
) -> AsyncIterator[tuple[Running, str]]:
    running, url = await start_with_dashboard(standin, database_url, clock)
    yield running, url
    await running.stop()


def client() -> aiohttp.ClientSession:
    # Each test's browser: its own cookies, and redirects looked at rather than followed.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


@pytest.mark.postgres  # the link is spent by an UPDATE ... RETURNING
async def test_a_sign_in_link_works_once_and_the_chat_gets_the_menu_button(
    standin: BotAPIStandin, dashboard: tuple[Running, str]
) -> None:
    bot, url = dashboard
    coordinator = Person(standin, standin.user(COORDINATOR_ID, "Dace", "en"), bot)
    link = await sign_in_link(coordinator)
    await coordinator.settle()
    button = standin.menu_buttons[COORDINATOR_ID]
    assert button["type"] == "web_app" and button["web_app"]["url"] == url

    async with client() as first:
        signed = await first.get(link, allow_redirects=False)
        assert signed.status == 303
        cookie = signed.cookies[COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        home = await first.get(url)
        assert home.status == 200 and "Your cohorts" in await home.text()
    async with client() as second:
        again = await second.get(link, allow_redirects=False)
        assert again.status == 403
        assert "used already" in await again.text()
        assert COOKIE not in again.cookies
        home = await second.get(url)
        assert home.status == 401 and "Sign in to the dashboard" in await home.text()


async def test_initdata_with_a_wrong_hash_or_a_stale_auth_date_is_refused(
    standin: BotAPIStandin, dashboard: tuple[Running, str], clock: MovableClock
) -> None:
    bot, url = dashboard
    coordinator = Person(standin, standin.user(COORDINATOR_ID, "Dace", "en"), bot)
    await coordinator.write("/help")  # the bot knows them
    now = clock.now()
    fresh = init_data(standin.token, COORDINATOR_ID, now - timedelta(minutes=1))
    forged = fresh.replace("Dace", "Eve")  # the same hash over other fields
    other_bot = init_data("123456:" + "x" * 35, COORDINATOR_ID, now)
    stale = init_data(standin.token, COORDINATOR_ID, now - timedelta(hours=2))
    async with client() as browser:
        for refused, status in ((forged, 403), (other_bot, 403), (stale, 401)):
            answer = await browser.post(f"{url}/signin/webapp", data={"init_data": refused})
            assert answer.status == status
            assert COOKIE not in answer.cookies
        assert (await browser.get(url)).status == 401
        answer = await browser.post(f"{url}/signin/webapp", data={"init_data": fresh})
        assert answer.status == 200 and COOKIE in answer.cookies
        assert (await browser.get(url)).status == 200
        await coordinator.write("/language")
        await coordinator.press("Latviešu")
        home = await browser.get(url)  # in the coordinator's language
        assert "Jūsu kohortas" in await home.text()


async def test_another_coordinators_cohort_in_a_url_is_refused(
    standin: BotAPIStandin, dashboard: tuple[Running, str]
) -> None:
    bot, url = dashboard
    theirs = await seed_cohort(bot, COORDINATOR_ID, "Theirs", range(300, 302), range(310, 312))
    mine = await seed_cohort(bot, OTHER_COORDINATOR, "Mine", range(400, 401), range(410, 411))
    other = Person(standin, standin.user(OTHER_COORDINATOR, "Ilze", "en"), bot)
    link = await sign_in_link(other)
    async with client() as browser:
        await browser.get(link)
        home = await (await browser.get(url)).text()
        assert "Mine" in home and "Theirs" not in home
        assert (await browser.get(f"{url}/cohorts/{mine}/board")).status == 200
        for page in ("", "/board", "/pairs", "/people", "/stats", "/export/pairs", "/broadcast"):
            refused = await browser.get(f"{url}/cohorts/{theirs}{page}")
            assert refused.status == 403, page
        board = await (await browser.get(f"{url}/cohorts/{mine}/board")).text()
        csrf = board.split('name="csrf" value="')[1].split('"')[0]
        refused = await browser.post(f"{url}/cohorts/{theirs}/board/run", data={"csrf": csrf})
        assert refused.status == 403
        assert "not one of the cohorts you coordinate" in await refused.text()
    async with bot.app.sessions() as db:
        proposed = await db.scalar(
            select(func.count()).select_from(Pair).where(Pair.cohort_id == theirs)
        )
    assert proposed == 0


async def test_a_form_post_without_its_csrf_token_changes_nothing(
    standin: BotAPIStandin, dashboard: tuple[Running, str]
) -> None:
    bot, url = dashboard
    cohort = await seed_cohort(bot, COORDINATOR_ID, "Riga", range(300, 302), range(310, 312))
    coordinator = Person(standin, standin.user(COORDINATOR_ID, "Dace", "en"), bot)
    link = await sign_in_link(coordinator)
    async with client() as browser:
        await browser.get(link)
        for form in ({}, {"csrf": "0" * 64}):
            refused = await browser.post(f"{url}/cohorts/{cohort}/board/run", data=form)
            assert refused.status == 403
            assert "out of date" in await refused.text()
        async with bot.app.sessions() as db:
            count = select(func.count()).select_from(Pair).where(Pair.cohort_id == cohort)
            assert await db.scalar(count) == 0
        board = await (await browser.get(f"{url}/cohorts/{cohort}/board")).text()
        csrf = board.split('name="csrf" value="')[1].split('"')[0]
        ran = await browser.post(
            f"{url}/cohorts/{cohort}/board/run", data={"csrf": csrf}, allow_redirects=False
        )
        assert ran.status == 303
        async with bot.app.sessions() as db:
            assert await db.scalar(count) == 2


def csrf_of(page: str) -> str:
    return page.split('name="csrf" value="')[1].split('"')[0]


async def test_people_the_what_if_a_pairs_pause_and_an_export(
    standin: BotAPIStandin, dashboard: tuple[Running, str]
) -> None:
    bot, url = dashboard
    cohort = await seed_cohort(
        bot, COORDINATOR_ID, "Riga", range(300, 304), range(310, 311), capacity=3
    )
    async with bot.app.sessions() as db:
        far = await db.get(Profile, 302)
        assert far is not None
        far.data = {**far.data, "timezone": "America/New_York"}  # 7 hours from Riga
        waiting = await db.scalar(select(Membership).where(Membership.person_id == 303))
        assert waiting is not None
        waiting.status = "intake"
        blocked = await db.get(PersonRow, 301)
        assert blocked is not None
        blocked.unreachable_at = bot.clock.now()
        await db.commit()
    mentee, mentor = standin.user(300, "P300", "en"), standin.user(310, "P310", "en")
    coordinator = Person(standin, standin.user(COORDINATOR_ID, "Dace", "en"), bot)
    async with client() as browser:
        await browser.get(await sign_in_link(coordinator))

        async def people(query: str) -> list[str]:
            page = await (await browser.get(f"{url}/cohorts/{cohort}/people?{query}")).text()
            return re.findall(r"<td>(P\d+)", page)

        assert await people("role=mentee") == ["P300", "P301", "P302", "P303"]
        assert await people("role=mentor") == ["P310"]
        assert await people("status=intake") == ["P303"]
        assert await people("unreachable=1") == ["P301"]
        assert await people("q=p30") == ["P300", "P301", "P302", "P303"]
        assert await people("q=p3%25") == []  # a wildcard is a character like any other

        board = await (await browser.get(f"{url}/cohorts/{cohort}/board")).text()
        assert "Now: 2 matched, time zones at most 6 h apart." in board
        assert "Left unmatched: 1" in board and "P302" in board
        relaxed = await (await browser.get(f"{url}/cohorts/{cohort}/board?hours=9")).text()
        assert "With these: 3 matched (+1)." in relaxed
        async with bot.app.sessions() as db:
            count = select(func.count()).select_from(Pair).where(Pair.cohort_id == cohort)
            assert await db.scalar(count) == 0  # "what if" stores nothing

        csrf = csrf_of(board)
        await browser.post(f"{url}/cohorts/{cohort}/board/run", data={"csrf": csrf})
        await browser.post(f"{url}/cohorts/{cohort}/board/approve", data={"csrf": csrf})
        await standin.wait_for_message(mentee, contains="You have a mentor", timeout=10)
        async with bot.app.sessions() as db:
            pair = await db.scalar(select(Pair).where(Pair.mentee_id == 300))
        assert pair is not None and pair.status == "active"
        paused = await browser.post(f"{url}/pairs/{pair.id}/pause", data={"csrf": csrf})
        assert paused.status == 200 and "P300" in await paused.text()  # back on the pairs
        for side in (mentee, mentor):
            await standin.wait_for_message(side, contains="has been paused", timeout=10)
        again = await browser.post(f"{url}/pairs/{pair.id}/pause", data={"csrf": csrf})
        assert again.status == 409 and "changed meanwhile" in await again.text()

        exported = await browser.get(f"{url}/cohorts/{cohort}/export/pairs")
        assert exported.content_type == "text/csv"
        assert "attachment" in exported.headers["Content-Disposition"]
        rows = (await exported.text()).splitlines()
        assert len(rows) == 3  # the header and the two pairs
        assert "paused" in "\n".join(rows)
