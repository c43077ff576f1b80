"""Every command, tried by every kind of person: each gets a clear answer, and what
belongs to a role is refused to the others."""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.models import InboxUpdate
from tests.e2e.conftest import Running
from tests.e2e.standin import BotAPIStandin
from tests.e2e.test_dialogs import translator
from tests.e2e.test_programme import matched_pair, person

COMMANDS = [
    "/start",
    "/help",
    "/privacy",
    "/language",
    "/history",
    "/continue",
    "/cancel",
    "/mydata",
    "/share",
    "/mentors",
    "/mentees",
    "/end",
    "/report",
    "/feedback",
    "/pause_mentoring",
    "/cohort_new",
    "/cohorts",
    "/match",
    "/pairs",
    "/cohort_settings",
    "/invite",
    "/broadcast",
    "/groups",
    "/poll",
    "/quiz",
    "/leaderboard",
    "/stats",
    "/export",
    "/coordinators",
    "/checkin",
    "/commitments",
    "/settings",
    "/meet",
    "/contact",
    "/nonsense",
]
COORDINATOR_ONLY = {
    "/cohort_new",
    "/cohorts",
    "/match",
    "/pairs",
    "/cohort_settings",
    "/invite",
    "/broadcast",
    "/groups",
    "/poll",
    "/quiz",
    "/leaderboard",
    "/stats",
    "/export",
    "/coordinators",
}


async def test_every_command_as_every_role(standin: BotAPIStandin, bot: Running) -> None:
    t = translator(bot, "en")
    coordinator, mentee, mentor = await matched_pair(standin, bot)
    outsider = person(standin, standin.user(899, "Zane", "en"), bot)
    for who in (outsider, mentee, mentor, coordinator):
        for command in COMMANDS:
            replies = await who.write(command)
            assert replies, f"{command} gave {who.user.first_name} no answer"
            if command in COORDINATOR_ONLY and who is not coordinator:
                assert replies[-1].text == t("This command is for programme coordinators.")
            if command in COORDINATOR_ONLY and who is coordinator:
                assert replies[-1].text != t("This command is for programme coordinators.")
            await who.write("/cancel")
    refused_mentor_tools = {
        "/mentees": t("This command is for mentors."),
        "/pause_mentoring": t("This command is for mentors."),
    }
    for command, refusal in refused_mentor_tools.items():
        (reply,) = await outsider.write(command)
        assert reply.text == refusal
    (reply,) = await outsider.write("/end")
    assert reply.text == t(
        "This is for mentees and mentors in a programme. An invite link from your coordinator "
        "brings you in."
    )
    # Each sees the help of their roles: the mentoring part is for mentees and mentors,
    # the coordination part for coordinators; someone with no role learns how to join.
    for who in (outsider, mentee, mentor, coordinator):
        (help_reply,) = await who.write("/help")
        text = help_reply.text or ""
        assert "/grow" in text
        in_programme = who in (mentee, mentor)
        assert ("/meet" in text) == in_programme and ("/share" in text) == in_programme
        assert ("/broadcast" in text) == (who is coordinator)
        assert ("To join a mentoring programme" in text) == (who is outsider)
    async with bot.app.sessions() as db:
        failed = (
            await db.execute(select(InboxUpdate.update_id).where(InboxUpdate.failure.is_not(None)))
        ).all()
    assert failed == []
