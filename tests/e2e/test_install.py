"""A real, non-editable install: built as a wheel, installed in a virtual environment of its
own and run from outside the source tree, it finds its dialogs, catalogs and migrations."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import migrated
from tests.e2e.standin import BotAPIStandin

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
