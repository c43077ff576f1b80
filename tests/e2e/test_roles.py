"""Each kind of person sees the help of their own roles. (What every command answers to
every role, and that a refusal changes nothing, is tests/e2e/test_access.py's.)"""

from __future__ import annotations

from sqlalchemy import select

from bot.playground.botapi import BotAPIStandin
from bot.storage.models import InboxUpdate
from tests.e2e.conftest import Running
from tests.e2e.test_programme import matched_pair, person


async def test_each_role_sees_the_help_of_its_roles(standin: BotAPIStandin, bot: Running) -> None:
    coordinator, mentee, mentor = await matched_pair(standin, bot)
    outsider = person(standin, standin.user(899, "Zane", "en"), bot)
    # The mentoring part is for mentees and mentors, the coordination part for
    # coordinators; someone with no role learns how to join.
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
