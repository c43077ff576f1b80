"""The kit's guidance for mentors: /guide per tool, and the questions for the next
conversation under a summary a mentee shared."""

from __future__ import annotations

import re

from bot.playground.botapi import BotAPIStandin
from tests.e2e.conftest import Running
from tests.e2e.test_dialogs import translator
from tests.e2e.test_programme import matched_pair, wait_text


def plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


async def test_a_mentor_and_a_coordinator_read_the_kits_advice_per_tool(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)
    tools = [t("GROW session"), t("Wheel of Life"), t("Dilts logical levels")]
    (menu,) = await rita.write("/guide")
    assert rita.labels(menu) == tools
    (wheel,) = await rita.press(t("Wheel of Life"), menu)
    assert (wheel.text or "").startswith("Wheel of Life: with your mentee")
    assert "Identify at least one action they could work on" in (wheel.text or "")
    assert rita.labels(wheel) == tools  # another tool is a press away
    (grow,) = await rita.press(t("GROW session"), wheel)
    assert "What do you commit to doing?" in (grow.text or "")
    (dilts,) = await rita.press(t("Dilts logical levels"), grow)
    assert "Environment: Where? When? With whom?" in (dilts.text or "")

    (menu,) = await coordinator.write("/guide")
    assert coordinator.labels(menu) == tools
    (reply,) = await anna.write("/guide")
    assert reply.text == t("This is for mentors and programme coordinators.")


async def test_a_shared_summary_brings_the_mentor_the_kits_questions_for_next_time(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    _coordinator, anna, rita = await matched_pair(standin, bot)
    await anna.write("/dilts")
    await anna.write("Changing careers")
    await anna.press(t("Behaviour: what I do"))
    for n in range(11):
        await anna.write(f"answer {n}")
    await anna.press(t("Skip"))
    await anna.press(t("Yes, send it"))
    shared = await wait_text(standin, rita.user, "shared a summary with you")
    text = shared.text or ""
    assert plain(t("<b>For your next conversation</b>, questions the kit suggests:")) in text
    for question in (
        "On which level of the pyramid does your problem sit?",
        "Why is it so important to you?",
        "How can you do it?",
    ):
        assert f"• {t(question)}" in text
    assert text.endswith(t("/guide: how to use this tool with your mentee."))
    # Anna's own copy of her summary carries no advice for mentors.
    assert not any("For your next conversation" in (m.text or "") for m in anna.sent())
