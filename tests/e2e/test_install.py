"""A real, non-editable install: built as a wheel, installed in a virtual environment of its
own and run from outside the source tree, it finds its dialogs, catalogs and migrations."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import aiohttp
import pytest

from bot.playground.botapi import BotAPIStandin
from tests.conftest import migrated
from tests.e2e.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


def build_and_install(tmp_path: Path) -> Path:
    """The wheel, installed without its dependencies in a new environment that borrows the
    test environment's (a .pth line), so nothing is downloaded but the build's tools."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", tmp_path, ROOT],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("mentorbot-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    # Only the dependencies: the test environment's own mentorbot is an editable one, and
    # its finder is not loaded from a directory added this way.
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            venv / "bin" / "python",
            "install",
            "--quiet",
            "--no-deps",
            wheel,
        ],
        check=True,
        capture_output=True,
    )
    return venv


async def test_an_installed_bot_finds_its_dialogs_catalogs_and_migrations(
    tmp_path: Path,
) -> None:
    venv = await asyncio.to_thread(build_and_install, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    # A database migrated here: the installed bot reads its own migrations to say it is
    # up to date.
    await migrated(f"sqlite+aiosqlite:///{elsewhere / 'data' / 'mentorbot.db'}")
    async with BotAPIStandin() as standin:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "DIALOGS_DIR", "LOCALES_DIR", "PYTHONPATH")
        }
        env.update(BOT_TOKEN=standin.token, TELEGRAM_API_URL=standin.base_url)
        process = await asyncio.create_subprocess_exec(
            venv / "bin" / "mentorbot",
            "check",
            cwd=elsewhere,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    installed = str(venv / "lib")
    assert lines[0].startswith("dialogs: checkin, closing") and installed in lines[0]
    assert lines[1].startswith("catalogs: en, lv, ru") and installed in lines[1]
    assert "up to date" in lines[2] and str(elsewhere / "data" / "mentorbot.db") in lines[2]
    assert lines[-1].startswith("telegram: the token is")
    assert str(ROOT) not in out.decode()


# A fresh clone creates its virtual environment and installs every dependency first.
FRESH_CLONE_SECONDS = 900


def clone_head(into: Path) -> None:
    """A clean checkout of this working tree's last commit."""
    head = subprocess.run(
        ["git", "-C", ROOT, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", ROOT, into], check=True)
    subprocess.run(["git", "-C", into, "checkout", "--quiet", head], check=True)


@pytest.mark.timeout(FRESH_CLONE_SECONDS + 60)
async def test_make_run_with_no_token_on_a_fresh_clone_serves_the_playground(
    tmp_path: Path,
) -> None:
    clone = tmp_path / "mentorbot"
    await asyncio.to_thread(clone_head, clone)
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in (
            "BOT_TOKEN",
            "DATA_KEY",
            "DATABASE_URL",
            "DATA_DIR",
            "DIALOGS_DIR",
            "LOCALES_DIR",
            "PYTHONPATH",
            "VIRTUAL_ENV",
        )
    }
    env["PLAYGROUND_LISTEN"] = f"127.0.0.1:{port}"
    output = tmp_path / "make-run.out"
    with output.open("wb") as out:
        make = await asyncio.create_subprocess_exec(
            "make",
            "run",
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    page = ""
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + FRESH_CLONE_SECONDS
            while not page:
                assert make.returncode is None, output.read_text(errors="replace")
                assert time.monotonic() < deadline, output.read_text(errors="replace")
                try:
                    async with http.get(f"http://127.0.0.1:{port}/") as answer:
                        page = await answer.text() if answer.status == 200 else ""
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.5)
            async with http.get(f"http://127.0.0.1:{port}/api/state") as answer:
                state = await answer.json()
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        await asyncio.wait_for(make.wait(), 60)
    assert "mentorbot playground" in page
    assert [p["name"] for p in state["people"]] == ["Dana", "Ilze", "Anna"]
    said = output.read_text(errors="replace")
    assert f"BOT_TOKEN is not set, so this is the playground: open http://127.0.0.1:{port}" in said
    assert "set BOT_TOKEN in .env" in said
    # Its database is the playground's own, beside where a real one would be.
    assert (clone / "data" / "playground.db").is_file()
    assert not (clone / "data" / "mentorbot.db").exists()
