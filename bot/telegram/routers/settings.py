"""/settings: time zone, quiet hours, a pause of reminders."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.engine import COMMON_ZONES
from bot.services.followup import FollowUpService
from bot.services.people import PAUSE_DAYS, PeopleService
from bot.storage.models import Person
from bot.telegram.render import Renderer


async def settings_view(
    session: AsyncSession,
    person: Person,
    followup: FollowUpService,
    renderer: Renderer,
    locale: str,
) -> tuple[str, InlineKeyboardMarkup]:
    zone = await followup.zone(session, person.id)
    await session.commit()
    quiet = (
        _("none")
        if person.quiet_from == person.quiet_to
        else f"{person.quiet_from:02d}:00–{person.quiet_to:02d}:00"
    )
    paused = (
        _("paused until {date}").format(date=renderer.value(person.paused_until.date(), locale))
        if person.paused_until and person.paused_until > followup.clock.now()
        else _("on")
    )
    text = _(
        "<b>Your settings</b>\nTime zone: {zone}\nQuiet hours (nothing is sent then): {quiet}\n"
        "Reminders and check-ins: {paused}"
    ).format(zone=zone.key, quiet=quiet, paused=paused)
    rows = [
        [InlineKeyboardButton(text=_("🌍 Time zone"), callback_data="set:zones:")],
        [InlineKeyboardButton(text=_("🌙 Change quiet hours"), callback_data="set:quiet:")],
        [
            InlineKeyboardButton(
                text=_("⏸ Pause {days} d").format(days=days), callback_data=f"set:pause:{days}"
            )
            for days in PAUSE_DAYS
        ],
        [InlineKeyboardButton(text=_("▶️ Resume reminders"), callback_data="set:resume:")],
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


async def settings(
    message: Message,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    followup: FollowUpService,
    renderer: Renderer,
) -> None:
    text, markup = await settings_view(session, person, followup, renderer, i18n.current_locale)
    await message.answer(text, reply_markup=markup)


async def change(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    people: PeopleService,
    followup: FollowUpService,
    renderer: Renderer,
) -> None:
    _prefix, name, value = (query.data or "").split(":", 2)
    if name == "zones":
        await query.answer()
        await bot.send_message(
            person.id,
            _("Choose your time zone:"),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [InlineKeyboardButton(text=zone, callback_data=f"set:tz:{zone}")]
                    for zone in COMMON_ZONES
                ]
            ),
        )
        return
    if not await people.change_setting(session, person, name, value):
        await query.answer(_("This button no longer works."), show_alert=True)
        return
    await query.answer(_("Saved."))
    fresh = await session.get(Person, person.id)
    assert fresh is not None
    text, markup = await settings_view(session, fresh, followup, renderer, i18n.current_locale)
    await bot.send_message(person.id, text, reply_markup=markup)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(settings, Command("settings"))
    router.callback_query.register(change, F.data.startswith("set:"))
    return router
