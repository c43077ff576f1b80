"""Starting the bot: configuration problems are one clear line, never a traceback; a running
bot sets up its process for a long run."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import GC_YOUNG_THRESHOLD, tune_gc
from bot.cli import RedactSecrets

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


def run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("token", ["", "not-a-token", "123:short"])
def test_a_missing_or_malformed_token_is_one_clear_line(tmp_path: Path, token: str) -> None:
    result = run(tmp_path, BOT_TOKEN=token)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "@BotFather" in lines[0] and "BOT_TOKEN" in lines[0] and ".env" in lines[0]
    assert "Traceback" not in result.stderr


def test_a_bad_setting_names_the_variable(tmp_path: Path) -> None:
    result = run(tmp_path, BOT_TOKEN=TOKEN, DEFAULT_LOCALE="de")
    assert result.returncode == 2
    assert "DEFAULT_LOCALE" in result.stderr and "Traceback" not in result.stderr


def test_the_token_never_reaches_the_log(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactSecrets(TOKEN))
    with caplog.at_level(logging.INFO):
        logger.info("request to https://api.telegram.org/bot%s/getMe failed", TOKEN)
    assert TOKEN not in caplog.text and "<token>" in caplog.text


def test_a_running_bot_sets_its_collector_for_a_long_run() -> None:
    threshold = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_freeze_count() > 0  # what start-up made is not walked again
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
