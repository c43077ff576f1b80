"""The playground in this process: its dialog files read again when they change, its clock
moved forward so that what fell due is sent."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.playground.playground import Playground, running_playground
from bot.playground.web import create_web
from tests.e2e.conftest import Running
from tests.e2e.people import Person
from tests.e2e.test_dialogs import GROW_TRANSCRIPT

ROOT = Path(__file__).resolve().parents[2]
DUE_IN_DAYS = 10  # the first commitment's


def grow_transcript(today: date) -> list[tuple[str, str]]:
    """GROW_TRANSCRIPT with its dates moved after ``today``: the first commitment is due
    DUE_IN_DAYS later, the goal's date later still."""
    dates = iter(
        [
            (today + timedelta(days=DUE_IN_DAYS)).strftime("%d.%m.%Y"),
            (today + timedelta(days=60)).isoformat(),
        ]
    )
    return [
        (kind, next(dates) if value in ("01.12.2026", "2027-01-15") else value)
        for kind, value in GROW_TRANSCRIPT
    ]


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[Playground]:
    dialogs = tmp_path / "dialogs"
    shutil.copytree(ROOT / "dialogs", dialogs)
    settings = Settings(
        data_dir=tmp_path / "data",
        dialogs_dir=dialogs,
        locales_dir=ROOT / "locales",
        polling_timeout=1,
        flood_burst=0,
        _env_file=None,  # type: ignore[call-arg]
    )
    async with running_playground(settings) as running:
        yield running


def person(playground: Playground, name: str) -> Person:
    """One of the page's people, as the tests act for them (tests/e2e/people.py)."""
    user = next(p.user for p in playground.people.values() if p.user.first_name == name)
    return Person(playground.standin, user, Running(playground.app, playground.clock))


async def walk(anna: Person, transcript: list[tuple[str, str]]) -> None:
    for kind, value in transcript:
        replies = await (anna.write(value) if kind == "write" else anna.press(value))
        assert replies, f"no reply to {kind} {value!r}"


def texts(anna: Person) -> list[str]:
    return [m.text or m.caption or "" for m in anna.sent()]


async def test_the_clock_brings_a_commitments_check_in_when_its_day_has_come(
    playground: Playground,
) -> None:
    anna = person(playground, "Anna")
    today = playground.clock.now().astimezone(ZoneInfo("Europe/Riga")).date()
    await walk(anna, grow_transcript(today))
    check_in = "📌 Today is the day for: Sign up at the club"
    await playground.advance(timedelta(days=7))
    await anna.settle()
    assert not any(check_in in text for text in texts(anna))

    await playground.advance(timedelta(days=DUE_IN_DAYS - 7))
    # Past the quiet hours of the night, whatever time of day the test runs at.
    await playground.next_morning()
    message = await playground.standin.wait_for_message(anna.user, contains=check_in)
    assert [label for row in message.buttons for label, _ in row] == [
        "✅ Done",
        "Partly",
        "Not yet",
    ]
    assert playground.clock.now().date() >= today + timedelta(days=DUE_IN_DAYS)


async def test_a_changed_dialog_file_is_read_again_and_a_broken_one_is_shown(
    playground: Playground,
) -> None:
    anna = person(playground, "Anna")
    grow = playground.settings.dialogs_dir / "grow.yaml"
    source = grow.read_text(encoding="utf-8")
    assert playground.reload_dialogs() is False  # nothing changed yet

    def rewrite(text: str) -> None:
        grow.write_text(text, encoding="utf-8")
        # A new modification time even where the file system counts coarsely.
        later = grow.stat().st_mtime_ns + 1_000_000_000
        os.utime(grow, ns=(later, later))

    rewrite(source.replace("steps:", "stepz:", 1))
    assert playground.reload_dialogs() is True
    assert playground.dialog_problem is not None and "grow.yaml" in playground.dialog_problem
    # The bot keeps the last good dialogs meanwhile.
    assert "G · Goal" in (await anna.write("/grow"))[-1].text
    await anna.write("/cancel")

    # The first question, asked in other words.
    asked = 'prompt: "Which dream shall we work on today?"'
    rewrite(re.sub(r'prompt: "[^"]*"', asked, source, count=1))
    assert playground.reload_dialogs() is True
    assert playground.dialog_problem is None
    assert playground.dialogs_reloaded == 1
    shown = await anna.write("/grow")
    assert "Which dream shall we work on today?" in (shown[-1].text or "")


async def test_the_page_shows_a_quiz_to_vote_in_and_a_document_to_download(
    playground: Playground,
) -> None:
    dana, anna = person(playground, "Dana"), person(playground, "Anna")
    await playground.seed_demo()
    await dana.write("/quiz What does the <G> of GROW stand for?\n*Goal\nGrowth\nGuidance")
    await dana.press("👥 Demo programme (6 people)")
    # Past the quiet hours of the night, whenever the test runs.
    await playground.next_morning()
    await playground.standin.wait_for(lambda: any(m.poll for m in anna.sent()), what="the quiz")
    await anna.write("/mydata")
    async with TestClient(TestServer(create_web(playground))) as page:
        assert "mentorbot playground" in await (await page.get("/")).text()
        state = await (await page.get("/api/state")).json()
        assert state["person"] == dana.user.id  # the first person, when none is asked for
        # "Next morning" moved the clock on by up to a day.
        ahead = r"The bot's time is (\d+ hours?|1 day) ahead of yours\."
        assert re.fullmatch(ahead, state["ahead"])

        async def chat() -> list[dict[str, Any]]:
            state = await (await page.get(f"/api/state?person={anna.user.id}")).json()
            assert state["person"] == anna.user.id
            return list(state["chat"])

        quiz = next(m for m in await chat() if "poll" in m)
        assert quiz["poll"]["question"] == "What does the <G> of GROW stand for?"
        assert [o["text"] for o in quiz["poll"]["options"]] == ["Goal", "Growth", "Guidance"]
        assert quiz["poll"]["quiz"] and quiz["poll"]["chosen"] == []
        answer = await page.post(
            "/api/vote", json={"person": anna.user.id, "message": quiz["id"], "option": 1}
        )
        assert answer.status == 200
        voted = next(m for m in await chat() if m["id"] == quiz["id"])["poll"]
        assert voted["chosen"] == [1] and voted["correct"] == [0]
        assert voted["votes"] == "1 vote"

        copy = next(m for m in await chat() if "document" in m)
        assert copy["document"]["name"].endswith(".json")
        download = await page.get(copy["document"]["url"])
        assert download.status == 200
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert json.loads(await download.read())  # the person's data, as JSON

        # An act the page cannot do says why.
        refused = await page.post("/api/write", json={"person": 999, "text": "hi"})
        assert refused.status == 400
        assert "no person 999" in (await refused.json())["problem"]
