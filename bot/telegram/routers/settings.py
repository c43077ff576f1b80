"""/settings: time zone, quiet hours, a pause of reminders, the regular check-in's day and
hour (or no regular check-ins), and for mentors daily or weekly digests."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.dates import get_day_names
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.engine import COMMON_ZONES
from bot.services.followup import FollowUpService
from bot.services.people import CHECKIN_HOURS, PAUSE_DAYS, SCHEDULE_SETTINGS, PeopleService
from bot.services.schedule import Scheduler
from bot.storage import repositories as repo
from bot.storage.models import Person
from bot.telegram.filters import PRIVATE, data_prefix
from bot.telegram.render import Renderer


async def settings_view(
    session: AsyncSession,
    person: Person,
    followup: FollowUpService,
    renderer: Renderer,
    locale: str,
) -> tuple[str, InlineKeyboardMarkup]:
    zone = await followup.zone(session, person.id)
    mentoring = await repo.has_mentees(session, person.id, ("active", "paused"))
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
    day = get_day_names("wide", locale=locale)[person.checkin_weekday]
    checkins = (
        _("stopped")
        if person.checkins_stopped
        else _("{day} at {hour}:00").format(day=day, hour=f"{person.checkin_hour:02d}")
    )
    text = _(
        "<b>Your settings</b>\nTime zone: {zone}\nQuiet hours (nothing is sent then): {quiet}\n"
        "Reminders and check-ins: {paused}\nRegular check-in: {checkins}"
    ).format(zone=zone.key, quiet=quiet, paused=paused, checkins=checkins)
    if mentoring:
        text += "\n" + _("Digest of your mentees: {how}, on the day and at the hour above").format(
            how=_("daily") if person.digest_daily else _("weekly")
        )
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
        [
            InlineKeyboardButton(text=_("📅 Check-in day"), callback_data="set:days:"),
            InlineKeyboardButton(text=_("🕙 Check-in hour"), callback_data="set:hours:"),
        ],
        [
            InlineKeyboardButton(
                text=_("▶️ Restart regular check-ins"), callback_data="set:checkins:on"
            )
            if person.checkins_stopped
            else InlineKeyboardButton(
                text=_("⏹ Stop regular check-ins"), callback_data="set:checkins:off"
            )
        ],
    ]
    if mentoring:
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("📋 Weekly digest") if person.digest_daily else _("📋 Daily digest"),
                    callback_data="set:digest:weekly"
                    if person.digest_daily
                    else "set:digest:daily",
                )
            ]
        )
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def day_picker(locale: str) -> InlineKeyboardMarkup:
    names = get_day_names("wide", locale=locale)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=names[d], callback_data=f"set:wd:{d}") for d in days]
            for days in ((0, 1, 2), (3, 4, 5), (6,))
        ]
    )


def hour_picker() -> InlineKeyboardMarkup:
    hours = [
        InlineKeyboardButton(text=f"{h:02d}:00", callback_data=f"set:hr:{h}") for h in CHECKIN_HOURS
    ]
    return InlineKeyboardMarkup(
        inline_keyboard=[hours[start : start + 5] for start in range(0, len(hours), 5)]
    )


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
    scheduler: Scheduler,
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
    if name in ("days", "hours"):
        await query.answer()
        await bot.send_message(
            person.id,
            _("On which day should the regular check-in come?")
            if name == "days"
            else _("At what hour should the regular check-in come?"),
            reply_markup=day_picker(i18n.current_locale) if name == "days" else hour_picker(),
        )
        return
    if not await people.change_setting(session, person, name, value):
        await query.answer(_("This button no longer works."), show_alert=True)
        return
    await query.answer(_("Saved."))
    fresh = await session.get(Person, person.id)
    assert fresh is not None
    if name in SCHEDULE_SETTINGS:
        await scheduler.replan(session, fresh)
    text, markup = await settings_view(session, fresh, followup, renderer, i18n.current_locale)
    await bot.send_message(person.id, text, reply_markup=markup)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(settings, Command("settings"))
    router.callback_query.register(change, data_prefix("set:"))
    return router
