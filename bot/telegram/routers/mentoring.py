"""Mentors and mentees talking through the bot."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.texts import N_, Msg
from bot.i18n import locale_for
from bot.services.conversation import ConversationService, Relayed
from bot.services.matching import MatchingService
from bot.services.pairs import CLOSING_FORM, END_FORM, REPORT_FORM, PairService
from bot.services.profiles import ProfileService, display_name
from bot.storage.models import Person
from bot.telegram.filters import PRIVATE, data_prefix
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer, split_html
from bot.telegram.views import begin_dialog


async def mentees(
    message: Message,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    pair_service: PairService,
    profiles: ProfileService,
    renderer: Renderer,
) -> None:
    pairs = await pair_service.pairs_of_mentor(session, person.id)
    if not pairs:
        await session.commit()
        await message.answer(_("You have no mentees yet. This command is for mentors."))
        return
    rows = []
    for pair in pairs:
        mentee = await session.get(Person, pair.mentee_id)
        profile = await profiles.profile(session, pair.mentee_id)
        assert mentee is not None
        last = (
            renderer.value(pair.last_contact_at.date(), i18n.current_locale)
            if pair.last_contact_at
            else _("no messages yet")
        )
        rows.append(
            [
                InlineKeyboardButton(
                    text=f"{display_name(mentee, profile, pair)} · {last}",
                    callback_data=f"talk:{pair.id}",
                )
            ]
        )
    await session.commit()
    await message.answer(
        _(
            "Your mentees. Choose whom your next messages go to (or reply to one of their "
            "messages):"
        ),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def talk_to(
    query: CallbackQuery, session: AsyncSession, person: Person, conversation: ConversationService
) -> None:
    pair = await conversation.talk_to(session, person, int((query.data or "").split(":")[1]))
    if pair is None:
        await query.answer(_("This pair is no longer active."), show_alert=True)
        return
    await query.answer(_("Your messages now go to this mentee."), show_alert=True)


async def relay(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    conversation: ConversationService,
    outbox: OutboxSender,
) -> bool:
    """Pass the message on if the person has a pair; False when there is nobody to pass
    it to."""
    reply_to = message.reply_to_message.message_id if message.reply_to_message else None
    result = await conversation.relay(session, person, message.message_id, message.text, reply_to)
    if result is Relayed.QUEUED:
        outbox.wake()
        return True
    if result is Relayed.PAUSED:
        await message.answer(
            _(
                "Your mentoring pair is paused by the programme coordinator; "
                "messages are not passed on until it resumes."
            )
        )
        return True
    if result is Relayed.CHOOSE:
        await message.answer(
            _(
                "You have several mentees: reply to a message of the one you "
                "mean, or choose with /mentees."
            )
        )
        return True
    if result is Relayed.UNREACHABLE:
        await message.answer(
            _(
                "Your message could not be delivered: the other side of your "
                "pair cannot be reached by the bot. Your programme coordinator "
                "has been told."
            )
        )
        return True
    return False


SHARE_LABELS = {
    "ask": N_("Ask me each time"),
    "always": N_("Always share"),
    "never": N_("Never share"),
}


async def share(
    message: Message, session: AsyncSession, person: Person, conversation: ConversationService
) -> None:
    mode = await conversation.share_mode(session, person.id)
    await session.commit()
    await message.answer(
        _(
            "When you finish a GROW, Wheel of Life or Dilts session, may its summary go to your "
            "mentor? Now: {mode}."
        ).format(mode=_(SHARE_LABELS[mode])),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=_(label), callback_data=f"share:{value}")]
                for value, label in SHARE_LABELS.items()
            ]
        ),
    )


async def set_share(
    query: CallbackQuery, session: AsyncSession, person: Person, conversation: ConversationService
) -> None:
    mode = (query.data or "").split(":")[1]
    if not await conversation.set_share_mode(session, person.id, mode):
        await query.answer(_("This is for mentees in a programme."), show_alert=True)
        return
    await query.answer(_("Saved: {mode}.").format(mode=_(SHARE_LABELS[mode])), show_alert=True)


async def offer_summary(
    bot: Bot,
    session: AsyncSession,
    person: Person,
    record_id: int,
    conversation: ConversationService,
    renderer: Renderer,
    outbox: OutboxSender,
) -> None:
    """After a finished coaching session: share it with the mentor as the mentee chose."""
    mode = await conversation.share_mode(session, person.id)
    mentor = await conversation.mentor_of(session, person.id)
    await session.commit()
    if mentor is None or mode == "never":
        return
    if mode == "always":
        await send_summary(session, person, record_id, conversation, renderer, outbox)
        await bot.send_message(person.id, _("The summary went to your mentor."))
        return
    await bot.send_message(
        person.id,
        _("Send this summary to your mentor?"),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text=_("Yes, send it"), callback_data=f"sum:{record_id}"),
                    InlineKeyboardButton(text=_("No, keep it to myself"), callback_data="sum:no"),
                ]
            ]
        ),
    )


async def send_summary(
    session: AsyncSession,
    person: Person,
    record_id: int,
    conversation: ConversationService,
    renderer: Renderer,
    outbox: OutboxSender,
) -> bool:
    found = await conversation.dialogs.summary(session, person.id, record_id)
    mentor = await conversation.mentor_of(session, person.id)
    if found is None or mentor is None:
        await session.commit()
        return False
    record, dialog, lines = found
    assert record.finished_at is not None
    locale = locale_for(mentor, mentor.telegram_language, conversation.default_locale)
    name = await conversation.name_for_mentor(session, person)
    assert name is not None
    header = renderer.text(
        Msg(N_("{name} shared a summary with you:"), {"name": name}),
        locale,
    )
    text = (
        header
        + "\n\n"
        + renderer.summary(Msg(dialog.title), record.finished_at.date(), lines, locale)
    )
    await conversation.share_summary(session, person, record_id, split_html(text))
    outbox.wake()
    return True


async def summary_choice(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    conversation: ConversationService,
    renderer: Renderer,
    outbox: OutboxSender,
) -> None:
    target = (query.data or "").split(":")[1]
    if query.message is not None:
        await bot.edit_message_reply_markup(chat_id=person.id, message_id=query.message.message_id)
    if target == "no":
        await query.answer(_("Not sent: the summary stays with you."))
        return
    sent = target.isdigit() and await send_summary(
        session, person, int(target), conversation, renderer, outbox
    )
    await query.answer(
        _("The summary went to your mentor.") if sent else _("You have no mentor to send it to."),
        show_alert=not sent,
    )


async def start_form(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    pair_service: PairService,
    form: str,
) -> None:
    turn = await pair_service.start_form(session, person, form)
    if turn is None:
        await message.answer(_("You are not in a mentoring pair."))
        return
    await begin_dialog(bot, person.id, i18n, renderer, pair_service.dialogs, session, turn)


async def end(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    pair_service: PairService,
) -> None:
    await start_form(message, bot, session, person, i18n, renderer, pair_service, END_FORM)


async def report(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    pair_service: PairService,
) -> None:
    await start_form(message, bot, session, person, i18n, renderer, pair_service, REPORT_FORM)


async def feedback(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    pair_service: PairService,
) -> None:
    if await pair_service.feedback_pending(session, person.id) is None:
        await session.commit()
        await message.answer(_("No finished mentoring is waiting for your feedback."))
        return
    turn = await pair_service.dialogs.start(session, person.id, CLOSING_FORM, restart=True)
    await begin_dialog(bot, person.id, i18n, renderer, pair_service.dialogs, session, turn)


async def pause_mentoring(
    message: Message, session: AsyncSession, person: Person, profiles: ProfileService
) -> None:
    accepting = await profiles.toggle_accepting(session, person)
    if accepting is None:
        await message.answer(_("This command is for mentors."))
    elif accepting:
        await message.answer(_("You take new mentees again. /pause_mentoring stops that."))
    else:
        await message.answer(
            _(
                "You take no new mentees for now; your current mentees stay. "
                "Send /pause_mentoring again to take new ones."
            )
        )


async def send_suggestions(
    bot: Bot,
    session: AsyncSession,
    person: Person,
    matching: MatchingService,
    renderer: Renderer,
    locale: str,
) -> bool:
    """Show a mentee the mentors they may ask; False when there is nothing to choose."""
    suggestions = await matching.suggestions(session, person.id)
    await session.commit()
    if not suggestions:
        return False
    blocks = [_("Mentors who fit you best. Ask one of them; they have a few days to answer.")]
    for suggestion in suggestions:
        reasons = "; ".join(renderer.text(r, locale) for r in suggestion.score.reasons)
        blocks.append(
            f"<b>{Renderer.escape(suggestion.mentor.first_name)}</b> · "
            f"{suggestion.score.value}\n{Renderer.escape(suggestion.bio)}\n"
            f"<i>{reasons}</i>"
        )
    await bot.send_message(
        person.id,
        "\n\n".join(blocks),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=_("Ask {name}").format(name=s.mentor.first_name),
                        callback_data=f"ask:{s.mentor.id}",
                    )
                ]
                for s in suggestions
            ]
        ),
    )
    return True


async def mentors(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    matching: MatchingService,
    renderer: Renderer,
) -> None:
    if not await send_suggestions(bot, session, person, matching, renderer, i18n.current_locale):
        await message.answer(
            _(
                "There are no mentors to choose from right now: you may "
                "already have a mentor or a request waiting, or your "
                "coordinator matches mentees in your cohort."
            )
        )


async def ask_mentor(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    matching: MatchingService,
    outbox: OutboxSender,
) -> None:
    pair = await matching.request(session, person, int((query.data or "").split(":")[1]))
    if pair is None:
        await query.answer(
            _("This suggestion is no longer open. /mentors shows the current ones."),
            show_alert=True,
        )
        return
    outbox.wake()
    await query.answer(
        _("Your request has been sent. You will hear as soon as the mentor answers."),
        show_alert=True,
    )


async def answer_request(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    matching: MatchingService,
    outbox: OutboxSender,
) -> None:
    _prefix, pair_id, answer = (query.data or "").split(":")
    pair = await matching.answer_request(session, person, int(pair_id), answer == "yes")
    if pair is None:
        await query.answer(_("This request is no longer open."), show_alert=True)
        return
    outbox.wake()
    if query.message is not None:
        await bot.edit_message_reply_markup(chat_id=person.id, message_id=query.message.message_id)
    await query.answer(
        _("Accepted: you are introduced to each other.")
        if answer == "yes"
        else _("Declined; the mentee will choose someone else."),
        show_alert=True,
    )


async def contact(
    message: Message,
    session: AsyncSession,
    person: Person,
    conversation: ConversationService,
    outbox: OutboxSender,
) -> None:
    state = await conversation.share_contact(session, person)
    outbox.wake()
    if state == "none":
        await message.answer(_("You are not in a mentoring pair."))
    elif state == "waiting":
        await message.answer(_("Noted. Contacts are swapped once the other side agrees too."))
    else:
        await message.answer(_("You both agreed: each of you gets the other's contact now."))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(mentees, Command("mentees"))
    router.callback_query.register(talk_to, data_prefix("talk:"))
    router.message.register(share, Command("share"))
    router.callback_query.register(set_share, data_prefix("share:"))
    router.callback_query.register(summary_choice, data_prefix("sum:"))
    router.message.register(end, Command("end"))
    router.message.register(report, Command("report"))
    router.message.register(feedback, Command("feedback"))
    router.message.register(pause_mentoring, Command("pause_mentoring"))
    router.message.register(mentors, Command("mentors"))
    router.message.register(contact, Command("contact"))
    router.callback_query.register(ask_mentor, data_prefix("ask:"))
    router.callback_query.register(answer_request, data_prefix("req:"))
    return router
