"""/settings: time zone, quiet hours, a pause of reminders, the regular check-in's day and
hour (or no regular check-ins), for mentors daily or weekly digests, and the consents for
mood and the Wheel's ratings (given, withdrawn, given again; also the answer to the
question a check-in or a Wheel asks before it first begins)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.methods import EditMessageReplyMarkup, SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import get_day_names
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.consent import ConsentKind
from bot.domain.engine import COMMON_ZONES
from bot.domain.zones import find_zones
from bot.services.dialogs import DialogService
from bot.services.followup import FollowUpService
from bot.services.people import CHECKIN_HOURS, PAUSE_DAYS, PeopleService
from bot.storage import repositories as repo
from bot.storage.models import Person
from bot.telegram.buttons import ConsentChoice, Setting
from bot.telegram.filters import PRIVATE
from bot.telegram.render import Renderer
from bot.telegram.replies import Replies
from bot.telegram.views import DialogView

# Buttons that only open a picker; they change nothing.
PICKERS = ("zones", "days", "hours")


def stamp(person: Person) -> str:
    """The person's settings in a few characters: a button carries those it was shown
    with, and does nothing once they have changed (a second tap, an older message)."""
    settings = (
        person.timezone,
        person.quiet_from,
        person.quiet_to,
        person.paused_until.timestamp() if person.paused_until else None,
        person.checkin_weekday,
        person.checkin_hour,
        person.checkins_stopped,
        person.digest_daily,
    )
    return hashlib.blake2s(repr(settings).encode(), digest_size=4).hexdigest()


async def settings_view(
    session: AsyncSession,
    person: Person,
    people: PeopleService,
    followup: FollowUpService,
    renderer: Renderer,
    locale: str,
) -> tuple[str, InlineKeyboardMarkup]:
    zone = await followup.zone(session, person.id)
    mentoring = await repo.has_mentees(session, person.id, ("active", "paused"))
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
    consents = await people.consents(session, person.id)
    mood, wheel = consents.get(ConsentKind.MOOD), consents.get(ConsentKind.WHEEL)
    text += "\n\n" + _("<b>Your consents</b> (/privacy tells what they cover)")
    mood_state = {
        True: _("asked, and shared as you agreed"),
        False: _("not asked"),
        None: _("you are asked at your next check-in"),
    }[mood]
    text += "\n" + _("Mood in check-ins: {state}").format(state=mood_state)
    text += "\n" + _("Wheel of Life ratings: {state}").format(
        state=_("may go to your mentor and into the cohort's figures")
        if wheel
        else _("stay with you")
    )
    shown = stamp(person)

    def setting(name: str, value: str = "") -> Setting:
        return Setting(name=name, value=value, stamp=shown)

    builder = InlineKeyboardBuilder()
    builder.button(text=_("🌍 Time zone"), callback_data=setting("zones"))
    builder.button(text=_("🌙 Change quiet hours"), callback_data=setting("quiet"))
    for days in PAUSE_DAYS:
        builder.button(
            text=_("⏸ Pause {days} d").format(days=days), callback_data=setting("pause", str(days))
        )
    builder.button(text=_("▶️ Resume reminders"), callback_data=setting("resume"))
    builder.button(text=_("📅 Check-in day"), callback_data=setting("days"))
    builder.button(text=_("🕙 Check-in hour"), callback_data=setting("hours"))
    if person.checkins_stopped:
        builder.button(
            text=_("▶️ Restart regular check-ins"), callback_data=setting("checkins", "on")
        )
    else:
        builder.button(text=_("⏹ Stop regular check-ins"), callback_data=setting("checkins", "off"))
    widths = [1, 1, len(PAUSE_DAYS), 1, 2, 1]
    if mentoring:
        builder.button(
            text=_("📋 Weekly digest") if person.digest_daily else _("📋 Daily digest"),
            callback_data=setting("digest", "weekly" if person.digest_daily else "daily"),
        )
        widths.append(1)
    builder.button(
        text=_("🔒 Withdraw the mood consent") if mood else _("✅ Agree to the mood question"),
        callback_data=ConsentChoice(kind=ConsentKind.MOOD, given=not mood),
    )
    builder.button(
        text=_("🔒 Keep my Wheel ratings to myself")
        if wheel
        else _("✅ Let my Wheel ratings be shared"),
        callback_data=ConsentChoice(kind=ConsentKind.WHEEL, given=not wheel),
    )
    widths += [1, 1]
    builder.adjust(*widths)
    return text, builder.as_markup()


def zone_picker(shown: str, zones: Sequence[str] = COMMON_ZONES) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for zone in zones:
        builder.button(text=zone, callback_data=Setting(name="tz", value=zone, stamp=shown))
    builder.adjust(1 if len(zones) < 10 else 2)
    return builder.as_markup()


def day_picker(locale: str, shown: str) -> InlineKeyboardMarkup:
    names = get_day_names("wide", locale=locale)
    builder = InlineKeyboardBuilder()
    for day in range(7):
        builder.button(
            text=names[day], callback_data=Setting(name="wd", value=str(day), stamp=shown)
        )
    builder.adjust(3)
    return builder.as_markup()


def hour_picker(shown: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for hour in CHECKIN_HOURS:
        builder.button(
            text=f"{hour:02d}:00", callback_data=Setting(name="hr", value=str(hour), stamp=shown)
        )
    builder.adjust(5)
    return builder.as_markup()


async def settings(
    message: Message,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    people: PeopleService,
    followup: FollowUpService,
    renderer: Renderer,
    replies: Replies,
) -> None:
    current = await session.get(Person, person.id)
    assert current is not None
    text, markup = await settings_view(
        session, current, people, followup, renderer, i18n.current_locale
    )
    replies.add(message.answer(text, reply_markup=markup))


def zone_question() -> str:
    return _(
        "Choose your time zone, or write it after /timezone: its name, a city or a country, "
        "for example /timezone America/New_York or /timezone Tokyo."
    )


async def set_zone(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    people: PeopleService,
    followup: FollowUpService,
    renderer: Renderer,
    replies: Replies,
) -> None:
    """/timezone <zone, city or country>: any zone of the time zone database, for anyone
    (a coordinator and someone in no cohort too); a country of several zones asks which."""
    written = (command.args or "").strip()
    current = await session.get(Person, person.id)
    assert current is not None
    if not written:
        replies.add(message.answer(zone_question(), reply_markup=zone_picker(stamp(current))))
        return
    found = find_zones(written)
    if not found:
        replies.add(
            message.answer(
                _(
                    "I don't know the time zone “{text}”. Write its name as in Europe/Riga or "
                    "America/New_York, or a city or a country, such as Tokyo or Latvia."
                ).format(text=Renderer.escape(written[:64]))
            )
        )
        return
    if len(found) > 1:
        replies.add(
            message.answer(
                _("“{text}” has several time zones. Which one is yours?").format(
                    text=Renderer.escape(written[:64])
                ),
                reply_markup=zone_picker(stamp(current), found),
            )
        )
        return
    await people.change_setting(session, current, "tz", found[0])
    fresh = await session.get(Person, person.id)
    assert fresh is not None
    text, markup = await settings_view(
        session, fresh, people, followup, renderer, i18n.current_locale
    )
    replies.add(message.answer(_("Your time zone is now {zone}.").format(zone=found[0])))
    replies.add(message.answer(text, reply_markup=markup))


async def change(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    people: PeopleService,
    followup: FollowUpService,
    renderer: Renderer,
    replies: Replies,
    callback_data: Setting,
) -> None:
    name, value = callback_data.name, callback_data.value
    current = await session.get(Person, person.id)
    assert current is not None
    if callback_data.stamp != stamp(current):
        # Shown before the settings last changed: pressing it again would change them
        # again (the quiet hours go round), or change back what was just changed.
        replies.add(
            query.answer(
                _("Your settings have changed since this message. /settings shows them now."),
                show_alert=True,
            )
        )
        return
    if name in PICKERS:
        replies.add(query.answer())
        shown = callback_data.stamp
        if name == "zones":
            question, picker = zone_question(), zone_picker(shown)
        elif name == "days":
            question = _("On which day should the regular check-in come?")
            picker = day_picker(i18n.current_locale, shown)
        else:
            question, picker = (
                _("At what hour should the regular check-in come?"),
                hour_picker(shown),
            )
        replies.add(SendMessage(chat_id=person.id, text=question, reply_markup=picker))
        return
    if not await people.change_setting(session, person, name, value):
        replies.add(query.answer(_("This button no longer works."), show_alert=True))
        return
    await saved(query, session, person, people, followup, renderer, i18n, replies)


async def saved(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    people: PeopleService,
    followup: FollowUpService,
    renderer: Renderer,
    i18n: I18n,
    replies: Replies,
) -> None:
    """A change in /settings is confirmed, and the settings are shown as they are now."""
    replies.add(query.answer(_("Saved.")))
    fresh = await session.get(Person, person.id)
    assert fresh is not None
    text, markup = await settings_view(
        session, fresh, people, followup, renderer, i18n.current_locale
    )
    replies.add(SendMessage(chat_id=person.id, text=text, reply_markup=markup))


async def consent_choice(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    people: PeopleService,
    dialogs: DialogService,
    followup: FollowUpService,
    renderer: Renderer,
    replies: Replies,
    callback_data: ConsentChoice,
) -> None:
    """A consent given or withdrawn in /settings, or the answer to the question a dialog
    asked before it began (``then``): that dialog begins, with or without what the
    consent covers. The question is answered once; a later tap on it changes nothing."""
    kind, given, then = callback_data.kind, callback_data.given, callback_data.then
    if then is None:
        await people.set_consent(session, person.id, kind, given)
        await saved(query, session, person, people, followup, renderer, i18n, replies)
        return
    dialog = dialogs.dialogs.get(then)
    if dialog is None or kind not in dialog.consents():
        replies.add(query.answer(_("This button no longer works."), show_alert=True))
        return
    if kind in await people.consents(session, person.id):
        replies.add(
            query.answer(
                _("You have answered this already; /settings lets you change it."),
                show_alert=True,
            )
        )
        return
    await people.set_consent(session, person.id, kind, given)
    replies.add(query.answer(_("Saved. /settings lets you change it at any time.")))
    if query.message is not None:
        replies.add(EditMessageReplyMarkup(chat_id=person.id, message_id=query.message.message_id))
    turn = await dialogs.start(session, person.id, dialog.id)
    view = DialogView(replies, person.id, i18n.current_locale, renderer, dialogs, session)
    await view.begin(turn)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(settings, Command("settings"))
    router.message.register(set_zone, Command("timezone"))
    router.callback_query.register(change, Setting.filter())
    router.callback_query.register(consent_choice, ConsentChoice.filter())
    return router
