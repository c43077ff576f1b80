"""The playground as a person uses it: `mentorbot playground` in a process of its own, its
page in chromium. A mentee walks through GROW; a coordinator matches the demo programme
and a mentee and her mentor write to each other, each in their own chat."""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.processes import free_port
from tests.e2e.test_playground import ROOT, grow_transcript
from tests.forkserver import ForkServer

START_SECONDS = 60.0
# The bot answers within a second or two, a busy machine's (six test runs on two cores)
# within several.
expect.set_options(timeout=20_000)
pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]


@dataclass(frozen=True)
class Running:
    url: str
    dialogs: Path  # the dialog files it reads


@pytest.fixture
def playground(forkserver: ForkServer, tmp_path: Path) -> Iterator[Running]:
    """The playground, once its page is served; its database and a copy of the dialog
    files in ``tmp_path``."""
    dialogs = tmp_path / "dialogs"
    shutil.copytree(ROOT / "dialogs", dialogs)
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("BOT_TOKEN", "DATABASE_URL", "DATA_DIR", "DATA_KEY")
    }
    env.update(
        PLAYGROUND_LISTEN=f"127.0.0.1:{port}",
        DATA_DIR=str(tmp_path / "data"),
        DIALOGS_DIR=str(dialogs),
        POLLING_TIMEOUT="1",
        # The browser types at machine speed, far beyond the flood limit a person is held to.
        FLOOD_BURST="0",
    )
    process = forkserver.spawn(["playground"], env, tmp_path)
    deadline = time.monotonic() + START_SECONDS
    while f"open http://127.0.0.1:{port}" not in process.log():
        if process.ended.is_set() or time.monotonic() > deadline:
            process.send_signal(signal.SIGKILL)
            pytest.fail(f"the playground did not start:\n{process.log()}")
        time.sleep(0.05)
    try:
        yield Running(f"http://127.0.0.1:{port}", dialogs)
    finally:
        process.send_signal(signal.SIGTERM)
        if not process.ended.wait(30):
            process.send_signal(signal.SIGKILL)
            pytest.fail(f"the playground did not stop on SIGTERM:\n{process.log()}")
        assert process.returncode == 0, process.log()


async def be(page: Page, name: str) -> None:
    await page.locator(".person", has_text=name).click()
    await expect(page.locator("#chat-name")).to_have_text(name)


def bot_messages(page: Page) -> Locator:
    return page.locator("#chat .message.bot")


async def write(page: Page, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")


async def press(page: Page, label: str | re.Pattern[str]) -> None:
    await page.locator("#chat").get_by_role("button", name=label, exact=True).last.click()


async def test_a_mentee_walks_through_grow_in_the_page(playground: Running, page: Page) -> None:
    await page.goto(playground.url)
    await be(page, "Anna")
    await expect(page.locator("#chat .empty")).to_be_visible()
    today = datetime.now(ZoneInfo("Europe/Riga")).date()
    for kind, value in grow_transcript(today):
        before = await bot_messages(page).count()
        if kind == "write":
            await write(page, value)
        else:
            await press(page, value)
        # Each answer brings the next question (or the summary) as a new message.
        await page.wait_for_function(
            "n => document.querySelectorAll('#chat .message.bot').length > n", arg=before
        )

    # Telegram's formatting, drawn: the heading in bold, the person's words as written.
    await expect(bot_messages(page).first.locator("b", has_text="GROW session")).to_be_visible()
    summary = bot_messages(page).filter(has_text="W · Will").filter(has_text="G · Goal").last
    await expect(summary).to_contain_text("Run 10 km in under an hour <b>this</b> spring & summer")
    await expect(summary.locator("b").first).to_be_visible()
    await expect(page.locator("#chat")).to_contain_text(
        "Well done. Your actions are saved as commitments; I will follow them up with you."
    )
    # The answered questions were edited in place: their buttons are gone.
    await expect(
        page.locator("#chat").get_by_role("button", name="Health", exact=True)
    ).to_have_count(0)


async def test_a_match_and_a_relay_show_in_both_chats(playground: Running, page: Page) -> None:
    await page.goto(playground.url)
    await page.click("#demo")
    await expect(page.locator("#demo-done")).to_be_visible()
    await expect(page.locator(".person")).to_have_count(7)
    await expect(page.locator("#demo")).to_be_disabled()

    await be(page, "Dana")
    await write(page, "/match")
    await press(page, "Demo programme")
    await expect(bot_messages(page).last).to_contain_text("Matching proposal for Demo programme")
    await expect(bot_messages(page).last).to_contain_text("Anna → Ilze")
    await press(page, re.compile(r"✅ Approve all \d"))
    await expect(bot_messages(page).last).to_contain_text("Pairs approved: 3")
    # Introductions wait out the night's quiet hours, whenever the test runs.
    await page.click("#morning")

    await be(page, "Anna")
    await expect(bot_messages(page).filter(has_text="You have a mentor: Ilze")).to_have_count(1)
    await write(page, "Hello Ilze, shall we meet on Friday?")
    await expect(page.locator("#chat .message.mine").last).to_have_text(
        "Hello Ilze, shall we meet on Friday?"
    )

    await be(page, "Ilze")
    # Ilze reads Latvian: her introduction is in it, Anna's words as Anna wrote them.
    await expect(
        bot_messages(page).filter(has_text="Jums ir jauns mentorējamais: Anna")
    ).to_have_count(1)
    relayed = bot_messages(page).filter(has_text="Hello Ilze, shall we meet on Friday?")
    await expect(relayed).to_contain_text("Anna")
    # Ilze has two mentees: a reply to Anna's message says whom hers is for.
    await relayed.get_by_role("button", name="Reply").click()
    await expect(page.locator("#replying")).to_contain_text("Hello Ilze, shall we meet on Friday?")
    await write(page, "Labprāt, piektdien 18:00!")
    await expect(page.locator("#chat .message.mine").last).to_contain_text("Hello Ilze")

    await be(page, "Anna")
    await expect(bot_messages(page).filter(has_text="Labprāt, piektdien 18:00!")).to_contain_text(
        "Ilze"
    )


async def test_a_broken_dialog_file_is_shown_on_the_page_until_it_is_mended(
    playground: Running, page: Page
) -> None:
    await page.goto(playground.url)
    await expect(page.locator("#chat-name")).to_have_text("Dana")
    grow = playground.dialogs / "grow.yaml"
    source = grow.read_text(encoding="utf-8")

    grow.write_text(source.replace("steps:", "stepz:", 1), encoding="utf-8")
    problem = page.locator("#dialog-problem")
    await expect(problem).to_be_visible()
    await expect(problem).to_contain_text("The dialog files have a problem")
    await expect(problem).to_contain_text("grow.yaml")

    # Mended, with the first question asked in other words.
    asked = 'prompt: "Which dream shall we work on today?"'
    mended = re.sub(r'prompt: "[^"]*"', asked, source, count=1)
    grow.write_text(mended, encoding="utf-8")
    await expect(problem).to_be_hidden()
    await expect(page.locator("#dialogs-reloaded")).to_be_visible()
    # Someone new, added on the page, starts it as changed.
    await page.fill("#new-name", "Pēteris")
    await page.select_option("#new-language", "lv")
    await page.click("#add-button")
    await expect(page.locator("#chat-name")).to_have_text("Pēteris")
    await expect(page.locator(".person.current")).to_contain_text("lv")
    await write(page, "/grow")
    await expect(page.locator("#chat")).to_contain_text("Which dream shall we work on today?")
    await expect(page.locator("#chat")).to_contain_text("GROW sesija")


BROADCAST = (
    '<b>Kick-off</b> on <i>Friday</i>: <a href="https://example.org/agenda">the agenda</a>,'
    " room <code>B-204</code>\n<blockquote>Bring one question you want answered.</blockquote>"
)


async def test_a_broadcast_reaches_the_mentees_formatted_as_telegram_shows_it(
    playground: Running, page: Page
) -> None:
    await page.goto(playground.url)
    await page.click("#demo")
    await expect(page.locator("#demo-done")).to_be_visible()
    await be(page, "Dana")
    await write(page, "/broadcast")
    await press(page, "Mentees")
    await expect(bot_messages(page).last).to_contain_text("Recipients: 3")
    await write(page, BROADCAST)
    await press(page, "✅ Send now")
    # Its status message is brought up to date in place until the broadcast is over.
    status = bot_messages(page).filter(has_text="📣 Broadcast #1 to 3 recipients")
    await expect(status).to_contain_text("Finished.")
    await expect(status).to_have_count(1)
    await expect(status.locator(".meta", has_text="edited")).to_be_visible()

    for mentee in ("Anna", "Tom", "Līga"):
        await be(page, mentee)
        shown = bot_messages(page).filter(has_text="Kick-off on Friday")
        await expect(shown).to_have_count(1)
        await expect(shown.locator("b")).to_have_text("Kick-off")
        await expect(shown.locator("i")).to_have_text("Friday")
        link = shown.locator("a", has_text="the agenda")
        await expect(link).to_have_attribute("href", "https://example.org/agenda")
        await expect(shown.locator("code")).to_have_text("B-204")
        await expect(shown.locator("blockquote")).to_have_text(
            "Bring one question you want answered."
        )
        await expect(shown).not_to_contain_text("<b>")
    await be(page, "Ilze")
    await expect(bot_messages(page).filter(has_text="Kick-off on Friday")).to_have_count(0)
