"""/stats and /export as a coordinator sees them, after a pair has talked and checked in."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from bot.playground.botapi import BotAPIStandin
from tests.e2e.conftest import MovableClock, Running
from tests.e2e.test_dialogs import translator
from tests.e2e.test_programme import matched_pair, wait_text

# Statistics queries and exports: on both databases.
pytestmark = pytest.mark.postgres

COHORT = "Riga <spring> 2027"
PNG = b"\x89PNG\r\n\x1a\n"


async def test_statistics_and_exports_of_a_cohort(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)
    clock.moment += timedelta(hours=3)
    await anna.write("Hello Rita, glad to meet you")
    await wait_text(standin, rita.user, "glad to meet you")
    await anna.write("/checkin")
    await anna.press(t("Yes, I agree"))
    await anna.press("4")
    await anna.press(t("Yes"))
    await anna.write("Only for my mentor: I am nervous")
    await anna.press(t("Yes, send it"))
    await wait_text(standin, rita.user, "I am nervous")

    await coordinator.write("/stats")
    replies = await coordinator.press(COHORT)
    text = "\n".join(m.text or "" for m in replies if m.text)
    assert t("Statistics for {cohort}").format(cohort=COHORT) in text
    assert "Mentees: 1 " + t("active") in text
    assert t("Match rate") + ": " + "100% (1 of 1 mentee)" in text
    assert "3.0 h (1 pair)" in text
    assert t("Check-ins done") + ": 1" in text
    assert "mood 4.0 (1 check-in)" in text
    chart = replies[-1]
    assert chart.photo is not None and chart.photo.startswith(PNG)

    await coordinator.write("/export")
    replies = await coordinator.press(COHORT)
    files = {m.document_name: (m.document or b"").decode() for m in replies if m.document}
    assert set(files) == {"pairs.csv", "sessions.csv", "checkins.csv"}
    for content in files.values():
        assert "nervous" not in content and "glad to meet you" not in content
    (checkin,) = list(csv.DictReader(io.StringIO(files["checkins.csv"])))
    assert (checkin["person_id"], checkin["mood"], checkin["talked_with_mentor"]) == (
        str(anna.user.id),
        "4",
        "yes",
    )
    (pair,) = list(csv.DictReader(io.StringIO(files["pairs.csv"])))
    assert (pair["mentee_name"], pair["mentor_name"], pair["status"]) == ("Anna", "Rita", "active")
    assert "free text only from the ending forms" in (replies[-1].text or "")
