"""/privacy as people read it: who is responsible and how to reach them (as the operator set
it, or that it is not set), in both languages, each part within Telegram's limit; and what it
claims holds (the consent's tests: tests/e2e/test_consent.py, tests/unit/test_consent.py)."""

from __future__ import annotations

import logging

import pytest

from bot.playground.botapi import BotAPIStandin
from tests.e2e.conftest import MovableClock, start_bot
from tests.e2e.test_dialogs import translator
from tests.e2e.test_programme import person

CONTROLLER = "University of Latvia <Mentoring & Careers>"
CONTACT = "dpo@example.lv"
LIMIT = 4096


@pytest.mark.parametrize("language", ["lv", "en"])
async def test_privacy_names_the_controller_and_the_contact_and_the_retention(
    standin: BotAPIStandin, database_url: str, clock: MovableClock, language: str
) -> None:
    bot = await start_bot(
        standin,
        database_url,
        clock,
        privacy_controller=CONTROLLER,
        privacy_contact=CONTACT,
        retention_days=90,
        outbox_retention_days=21,
    )
    try:
        t = translator(bot, language)
        reader = person(standin, standin.user(880, "Liga", language), bot)
        parts = await reader.write("/privacy")
        texts = [m.text or "" for m in parts]
        assert len(texts) == 4 and all(0 < len(text) <= LIMIT for text in texts)
        whole = "\n".join(texts)
        assert texts[0].startswith(t("<b>Privacy</b>"))
        # The operator's words are shown as written (escaped, not taken for markup).
        assert CONTROLLER in whole and CONTACT in whole
        assert t("the operator of this bot has not filled this in yet") not in whole
        assert " 90 " in whole and " 21 " in whole
        assert (
            t(
                "<b>How it is protected:</b> what you write (answers, commitments, messages) is "
                "stored encrypted, with a key kept apart from the database."
            )
            in whole
        )
        for command in ("/mydata", "/deleteme", "/settings", "/share"):
            assert command in whole
    finally:
        await bot.stop()


async def test_unset_the_operator_is_warned_and_privacy_says_so(
    standin: BotAPIStandin,
    database_url: str,
    clock: MovableClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        bot = await start_bot(standin, database_url, clock, privacy_contact=CONTACT)
    try:
        (warning,) = [r.getMessage() for r in caplog.records if "PRIVACY_" in r.getMessage()]
        assert warning.startswith("PRIVACY_CONTROLLER not set")
        t = translator(bot, "en")
        reader = person(standin, standin.user(881, "Ben", "en"), bot)
        (first, *_rest) = await reader.write("/privacy")
        assert t("the operator of this bot has not filled this in yet") in (first.text or "")
        assert CONTACT in (first.text or "")
        # Defaults: 180 days after a cohort's end, 30 days for sent messages' texts.
        whole = "\n".join(m.text or "" for m in reader.sent())
        assert " 180 " in whole and " 30 " in whole
    finally:
        await bot.stop()
