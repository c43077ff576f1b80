"""Profiles: what a mentee's or mentor's intake told (the intake's finisher writes it),
the settings a person keeps in it, and whom they are in their current cohort."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import intake
from bot.domain.cohorts import MembershipStatus, Role, ShareMode
from bot.domain.dialogs import Dialog
from bot.domain.engine import Progress
from bot.domain.texts import Msg
from bot.services.dialogs import DialogService
from bot.storage import profiles as store
from bot.storage.models import Membership, Pair, Person, Profile


def display_name(person: Person, profile: Profile | None, pair: Pair) -> str:
    """How a mentee is shown to their mentor: by name, or by a pseudonym if they chose."""
    if profile is not None and profile.role == Role.MENTEE and not profile.data.get("show_name"):
        return f"#{pair.id}"
    return person.first_name


async def partner_name(db: AsyncSession, pair: Pair, person: Person) -> str:
    """The other side of the person's pair, as they see them (a mentee by pseudonym if
    they chose one)."""
    if pair.mentor_id != person.id:
        mentor = await db.get(Person, pair.mentor_id)
        return mentor.first_name if mentor is not None else f"#{pair.id}"
    mentee = await db.get(Person, pair.mentee_id)
    if mentee is None:
        return f"#{pair.id}"
    return display_name(mentee, await db.get(Profile, pair.mentee_id), pair)


def development_stage(dialogs: DialogService, data: dict[str, object]) -> Msg | str:
    """A mentee's stage of development as their intake's question named it."""
    step = dialogs.dialogs[intake.MENTEE_INTAKE].step("stage")
    chosen = str(data.get("stage") or "")
    return next((Msg(o.label) for o in step.options if o.value == chosen), chosen or "—")


def share_mode(profile: Profile | None) -> str:
    """What the mentee chose to share with their mentor (/share); "ask" until they chose."""
    return str(profile.data.get("share", ShareMode.ASK)) if profile else ShareMode.ASK


class ProfileService:
    def __init__(self, dialogs: DialogService) -> None:
        self.dialogs = dialogs
        dialogs.finishers[intake.MENTEE_INTAKE] = self._finish_intake
        dialogs.finishers[intake.MENTOR_INTAKE] = self._finish_intake

    async def role_of(self, db: AsyncSession, person_id: int) -> str | None:
        """The person's role in their current cohort, if they are in one."""
        membership = await self.membership(db, person_id)
        return membership.role if membership else None

    async def membership(self, db: AsyncSession, person_id: int) -> Membership | None:
        """The person's membership of their current cohort."""
        return await store.current_membership(db, person_id)

    async def profile(self, db: AsyncSession, person_id: int) -> Profile | None:
        return await db.get(Profile, person_id)

    async def _finish_intake(
        self, db: AsyncSession, person_id: int, dialog: Dialog, progress: Progress, now: datetime
    ) -> None:
        role = Role.MENTEE if dialog.id == intake.MENTEE_INTAKE else Role.MENTOR
        data = (intake.mentee_data if role == Role.MENTEE else intake.mentor_data)(progress.answers)
        await store.save_profile(db, person_id, role, data, now)
        membership = await self.membership(db, person_id)
        if membership is not None and membership.status == MembershipStatus.INTAKE:
            membership.status = MembershipStatus.ACTIVE

    async def toggle_accepting(self, db: AsyncSession, mentor: Person) -> bool | None:
        """A mentor stops or starts taking new mentees; returns the new state."""
        profile = await db.get(Profile, mentor.id)
        if profile is None or profile.role != Role.MENTOR:
            return None
        accepting = not profile.data.get("accepting", True)
        profile.data = {**profile.data, "accepting": accepting}
        return accepting
