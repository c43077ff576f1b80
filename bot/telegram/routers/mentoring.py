"""Mentors and mentees talking through the bot."""

from __future__ import annotations

from collections.abc import Iterable

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.methods import EditMessageReplyMarkup, SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.guidance import guide_of
from bot.domain.texts import N_, Msg
from bot.i18n import locale_for
from bot.services import pair_context
from bot.services.conversation import Relayed, SummaryOffer
from bot.services.pair_context import Found, Naming
from bot.services.pairs import CLOSING_FORM, END_FORM, REPORT_FORM
from bot.services.profiles import display_name, partner_name
from bot.services.programme import Programme
from bot.storage import pair_context as pair_store
from bot.storage.models import Pair, Person
from bot.telegram.buttons import (
    AskMentor,
    RequestAnswer,
    ShareMode,
    SummaryChoice,
    Talk,
    WhichMentee,
)
from bot.telegram.filters import PRIVATE
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer, split_html
from bot.telegram.replies import Replies
from bot.telegram.views import begin_dialog

# What a mentor does about one pair, and the pairs it can be about.
CONTACT, END, REPORT = "contact", "end", "report"
PAIR_ACTIONS = {
    CONTACT: pair_context.ACTIVE,
    END: pair_context.OPEN,
    REPORT: pair_context.OPEN,
}
FORMS = {END: END_FORM, REPORT: REPORT_FORM}


def keyboard(buttons: Iterable[tuple[str, CallbackData]], width: int = 1) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for text, data in buttons:
        builder.button(text=text, callback_data=data)
    builder.adjust(width)
    return builder.as_markup()


def drop_keyboard(query: CallbackQuery, person: Person) -> EditMessageReplyMarkup | None:
    """The pressed message without its buttons (pressed once is enough)."""
    if query.message is None:
        return None
    return EditMessageReplyMarkup(chat_id=person.id, message_id=query.message.message_id)


def replied_to(message: Message) -> int | None:
    return message.reply_to_message.message_id if message.reply_to_message else None


async def mentees(
    message: Message,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    programme: Programme,
    renderer: Renderer,
    replies: Replies,
) -> None:
    pairs = await programme.pairs.pairs_of_mentor(session, person.id)
    if not pairs:
        replies.add(message.answer(_("You have no mentees yet. This command is for mentors.")))
        return
    rows = []
    for pair in pairs:
        last = (
            renderer.value(pair.last_contact_at.date(), i18n.current_locale)
            if pair.last_contact_at
            else _("no messages yet")
        )
        name = await partner_name(session, pair, person)
        rows.append((f"{name} · {last}", Talk(pair=pair.id)))
    replies.add(
        message.answer(
            _(
                "Your mentees. Choose whom your next messages go to (or reply to one of their "
                "messages):"
            ),
            reply_markup=keyboard(rows),
        )
    )


async def talk_to(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    programme: Programme,
    callback_data: Talk,
    replies: Replies,
) -> None:
    pair = await programme.conversation.talk_to(session, person, callback_data.pair)
    if pair is None:
        replies.add(query.answer(_("This pair is no longer active."), show_alert=True))
        return
    replies.add(query.answer(_("Your messages now go to this mentee."), show_alert=True))


async def relay(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    programme: Programme,
    outbox: OutboxSender,
    replies: Replies,
) -> bool:
    """Pass the message on if the person has a pair; False when there is nobody to pass
    it to."""
    result = await programme.conversation.relay(
        session, person, message.message_id, message.text, replied_to(message)
    )
    return answer_relayed(message, outbox, replies, result)


def answer_relayed(
    message: Message, outbox: OutboxSender, replies: Replies, result: Relayed
) -> bool:
    if result is Relayed.QUEUED:
        outbox.wake()
        return True
    if result is Relayed.PAUSED:
        replies.add(
            message.answer(
                _(
                    "Your mentoring pair is paused by the programme coordinator; "
                    "messages are not passed on until it resumes."
                )
            )
        )
        return True
    if result is Relayed.CHOOSE:
        replies.add(
            message.answer(
                _(
                    "You have several mentees: reply to a message of the one you "
                    "mean, or choose with /mentees."
                )
            )
        )
        return True
    if result is Relayed.ENDED:
        replies.add(
            message.answer(
                _(
                    "The message you replied to belongs to a mentoring that is over, so yours "
                    "was not passed on."
                )
            )
        )
        return True
    if result is Relayed.LEFT:
        replies.add(
            message.answer(
                _(
                    "One of your mentees has left the programme, so this message was not passed "
                    "on. Reply to a message of the mentee you mean, or choose with /mentees."
                )
            )
        )
        return True
    if result is Relayed.UNREACHABLE:
        replies.add(
            message.answer(
                _(
                    "Your message could not be delivered: the other side of your "
                    "pair cannot be reached by the bot. Your programme coordinator "
                    "has been told."
                )
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
    message: Message,
    session: AsyncSession,
    person: Person,
    programme: Programme,
    replies: Replies,
) -> None:
    mode = await programme.conversation.share_mode(session, person.id)
    replies.add(
        message.answer(
            _(
                "When you finish a GROW, Wheel of Life or Dilts session, may its summary go to "
                "your mentor? Now: {mode}."
            ).format(mode=_(SHARE_LABELS[mode])),
            reply_markup=keyboard(
                (_(label), ShareMode(mode=value)) for value, label in SHARE_LABELS.items()
            ),
        )
    )


async def set_share(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    programme: Programme,
    callback_data: ShareMode,
    replies: Replies,
) -> None:
    mode = callback_data.mode
    if mode not in SHARE_LABELS:
        replies.add(query.answer(_("This button no longer works."), show_alert=True))
        return
    if not await programme.conversation.set_share_mode(session, person.id, mode):
        replies.add(query.answer(_("This is for mentees in a programme."), show_alert=True))
        return
    replies.add(
        query.answer(_("Saved: {mode}.").format(mode=_(SHARE_LABELS[mode])), show_alert=True)
    )


async def offer_summary(
    bot: Bot,
    session: AsyncSession,
    person: Person,
    record_id: int,
    programme: Programme,
    renderer: Renderer,
    outbox: OutboxSender,
    replies: Replies,
) -> None:
    """After a finished coaching session: share it with the mentor as the mentee chose."""
    offer = await programme.conversation.summary_offer(session, person, record_id)
    if offer is SummaryOffer.KEEP:
        return
    if offer is SummaryOffer.SEND:
        await send_summary(session, person, record_id, programme, renderer, outbox)
        replies.add(SendMessage(chat_id=person.id, text=_("The summary went to your mentor.")))
        return
    replies.add(
        SendMessage(
            chat_id=person.id,
            text=_("Send this summary to your mentor?"),
            reply_markup=keyboard(
                [
                    (_("Yes, send it"), SummaryChoice(session=record_id, send=True)),
                    (_("No, keep it to myself"), SummaryChoice(session=record_id, send=False)),
                ],
                width=2,
            ),
        )
    )


async def send_summary(
    session: AsyncSession,
    person: Person,
    record_id: int,
    programme: Programme,
    renderer: Renderer,
    outbox: OutboxSender,
) -> bool:
    found = await programme.pairs.dialogs.summary(session, person.id, record_id, for_others=True)
    mentor = await programme.conversation.mentor_of(session, person.id)
    pair = await pair_context.mentee_pair(session, person.id)
    if found is None or mentor is None or pair is None:
        return False
    record, dialog, lines = found
    assert record.finished_at is not None
    locale = locale_for(mentor, mentor.telegram_language, programme.conversation.default_locale)
    profile = await programme.profiles.profile(session, person.id)
    header = renderer.text(
        Msg(N_("{name} shared a summary with you:"), {"name": display_name(person, profile, pair)}),
        locale,
    )
    text = (
        header
        + "\n\n"
        + renderer.summary(Msg(dialog.title), record.finished_at.date(), lines, locale)
    )
    guide = guide_of(dialog.id)
    if guide is not None:
        # The kit's questions for the mentor's next conversation about this tool.
        questions = "\n".join(f"• {renderer.text(Msg(q), locale)}" for q in guide.follow_up)
        heading = N_("<b>For your next conversation</b>, questions the kit suggests:")
        more = N_("/guide: how to use this tool with your mentee.")
        text += "\n\n".join(
            (
                "",
                f"{renderer.text(Msg(heading), locale)}\n{questions}",
                renderer.text(Msg(more), locale),
            )
        )
    await programme.conversation.share_summary(session, person, record_id, split_html(text))
    outbox.wake()
    return True


async def summary_choice(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    programme: Programme,
    renderer: Renderer,
    outbox: OutboxSender,
    callback_data: SummaryChoice,
    replies: Replies,
) -> None:
    dropped = drop_keyboard(query, person)
    if dropped is not None:
        replies.add(dropped)
    if not callback_data.send:
        replies.add(query.answer(_("Not sent: the summary stays with you.")))
        return
    if await pair_store.summary_shared(session, callback_data.session):
        # Pressed again: it went the first time.
        replies.add(query.answer(_("The summary went to your mentor.")))
        return
    sent = await send_summary(session, person, callback_data.session, programme, renderer, outbox)
    replies.add(
        query.answer(
            _("The summary went to your mentor.")
            if sent
            else _("You have no mentor to send it to."),
            show_alert=not sent,
        )
    )


# One pair's actions: /contact, /end, /report -----------------------------------------


CHOOSE_PROMPTS = {
    CONTACT: N_("Swap contacts with whom?"),
    END: N_("End the mentoring with whom?"),
    REPORT: N_("Which of your mentorings is the problem in?"),
}


async def pair_for(
    message: Message,
    session: AsyncSession,
    person: Person,
    programme: Programme,
    replies: Replies,
    action: str,
) -> pair_context.PairContext | None:
    """The pair a command is about: the one the message names, or the only one. When a
    mentor has several and nothing names one, they are asked which (None: answered)."""
    context = await pair_context.resolve(
        session, person.id, Naming(reply_to=replied_to(message)), PAIR_ACTIONS[action]
    )
    if context.pair is not None:
        return context
    if context.found in (Found.CHOOSE, Found.LEFT):
        choices = [
            (
                await partner_name(session, pair, person),
                WhichMentee(action=action, pair=pair.id),
            )
            for pair in context.pairs
        ]
        replies.add(
            message.answer(
                _(CHOOSE_PROMPTS[action])
                + "\n"
                + _("Next time you can also send the command as a reply to one of their messages."),
                reply_markup=keyboard(choices),
            )
        )
    elif context.found is Found.GONE:
        replies.add(
            message.answer(_("The message you replied to belongs to a mentoring that is over."))
        )
    else:
        replies.add(message.answer(_("You are not in a mentoring pair.")))
    return None


async def start_form(
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    programme: Programme,
    form: str,
    replies: Replies,
    context: pair_context.PairContext,
    restart: bool = True,
) -> None:
    """Ending or reporting about the pair ``context`` found."""
    pair = context.pair
    assert pair is not None
    if len(context.pairs) > 1:
        name = await partner_name(session, pair, person)
        replies.add(
            SendMessage(
                chat_id=person.id,
                text=_("This is about your mentoring with {name}.").format(
                    name=Renderer.escape(name)
                ),
            )
        )
    turn = await programme.pairs.start_form(session, person, form, pair, restart=restart)
    await begin_dialog(
        bot, person.id, i18n, renderer, programme.pairs.dialogs, session, turn, replies
    )


async def share_contact(
    session: AsyncSession,
    person: Person,
    programme: Programme,
    outbox: OutboxSender,
    replies: Replies,
    pair: Pair,
) -> None:
    state = await programme.conversation.share_contact(session, person, pair)
    outbox.wake()
    replies.add(
        SendMessage(
            chat_id=person.id,
            text=_("Noted. Contacts are swapped once the other side agrees too.")
            if state == "waiting"
            else _("You both agreed: each of you gets the other's contact now."),
        )
    )


async def which_mentee(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    programme: Programme,
    outbox: OutboxSender,
    callback_data: WhichMentee,
    replies: Replies,
) -> None:
    """The mentor chose which mentee their /contact, /end or /report is about."""
    action = callback_data.action
    if action not in PAIR_ACTIONS:
        replies.add(query.answer(_("This button no longer works."), show_alert=True))
        return
    context = await pair_context.resolve(
        session, person.id, Naming(pair=callback_data.pair), PAIR_ACTIONS[action]
    )
    if context.pair is None:
        replies.add(query.answer(_("This pair is no longer active."), show_alert=True))
        return
    dropped = drop_keyboard(query, person)
    if dropped is not None:
        replies.add(dropped)
    replies.add(query.answer())
    if action == CONTACT:
        await share_contact(session, person, programme, outbox, replies, context.pair)
        return
    form = FORMS[action]
    # Pressed again while its form is under way: that form goes on, it does not restart.
    started = await pair_context.form_started_for(session, person.id, form)
    await start_form(
        bot,
        session,
        person,
        i18n,
        renderer,
        programme,
        form,
        replies,
        context,
        restart=started != context.pair.id,
    )


async def end(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    programme: Programme,
    replies: Replies,
) -> None:
    context = await pair_for(message, session, person, programme, replies, END)
    if context is not None:
        await start_form(
            bot, session, person, i18n, renderer, programme, END_FORM, replies, context
        )


async def report(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    programme: Programme,
    replies: Replies,
) -> None:
    context = await pair_for(message, session, person, programme, replies, REPORT)
    if context is not None:
        await start_form(
            bot, session, person, i18n, renderer, programme, REPORT_FORM, replies, context
        )


async def feedback(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    programme: Programme,
    replies: Replies,
) -> None:
    if await programme.pairs.feedback_pending(session, person.id) is None:
        replies.add(message.answer(_("No finished mentoring is waiting for your feedback.")))
        return
    turn = await programme.pairs.dialogs.start(session, person.id, CLOSING_FORM, restart=True)
    await begin_dialog(
        bot, person.id, i18n, renderer, programme.pairs.dialogs, session, turn, replies
    )


async def pause_mentoring(
    message: Message,
    session: AsyncSession,
    person: Person,
    programme: Programme,
    replies: Replies,
) -> None:
    accepting = await programme.profiles.toggle_accepting(session, person)
    if accepting is None:
        replies.add(message.answer(_("This command is for mentors.")))
    elif accepting:
        replies.add(
            message.answer(_("You are taking new mentees again. /pause_mentoring pauses that."))
        )
    else:
        replies.add(
            message.answer(
                _(
                    "You are not taking new mentees for now; your current mentees stay. "
                    "Send /pause_mentoring again to take new ones."
                )
            )
        )


async def send_suggestions(
    bot: Bot,
    session: AsyncSession,
    person: Person,
    programme: Programme,
    renderer: Renderer,
    locale: str,
    replies: Replies,
) -> bool:
    """Show a mentee the mentors they may ask; False when there is nothing to choose."""
    suggestions = await programme.matching.suggestions(session, person.id)
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
    replies.add(
        SendMessage(
            chat_id=person.id,
            text="\n\n".join(blocks),
            reply_markup=keyboard(
                (
                    _("Ask {name}").format(name=s.mentor.first_name),
                    AskMentor(mentor=s.mentor.id),
                )
                for s in suggestions
            ),
        )
    )
    return True


async def mentors(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    programme: Programme,
    renderer: Renderer,
    replies: Replies,
) -> None:
    if not await send_suggestions(
        bot, session, person, programme, renderer, i18n.current_locale, replies
    ):
        replies.add(
            message.answer(
                _(
                    "There are no mentors to choose from right now: you may "
                    "already have a mentor or a request waiting, or your "
                    "coordinator matches mentees in your cohort."
                )
            )
        )


async def ask_mentor(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    programme: Programme,
    outbox: OutboxSender,
    callback_data: AskMentor,
    replies: Replies,
) -> None:
    pair = await programme.matching.request(session, person, callback_data.mentor)
    if pair is None:
        replies.add(
            query.answer(
                _("This suggestion is no longer open. /mentors shows the current ones."),
                show_alert=True,
            )
        )
        return
    outbox.wake()
    replies.add(
        query.answer(
            _("Your request has been sent. You will hear as soon as the mentor answers."),
            show_alert=True,
        )
    )


async def answer_request(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    programme: Programme,
    outbox: OutboxSender,
    callback_data: RequestAnswer,
    replies: Replies,
) -> None:
    accept = callback_data.answer == "yes"
    pair = await programme.matching.answer_request(session, person, callback_data.pair, accept)
    if pair is None:
        replies.add(query.answer(_("This request is no longer open."), show_alert=True))
        return
    outbox.wake()
    dropped = drop_keyboard(query, person)
    if dropped is not None:
        replies.add(dropped)
    replies.add(
        query.answer(
            _("Accepted: you are introduced to each other.")
            if accept
            else _("Declined; the mentee will choose someone else."),
            show_alert=True,
        )
    )


async def contact(
    message: Message,
    session: AsyncSession,
    person: Person,
    programme: Programme,
    outbox: OutboxSender,
    replies: Replies,
) -> None:
    context = await pair_for(message, session, person, programme, replies, CONTACT)
    if context is not None and context.pair is not None:
        await share_contact(session, person, programme, outbox, replies, context.pair)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(mentees, Command("mentees"))
    router.callback_query.register(talk_to, Talk.filter())
    router.message.register(share, Command("share"))
    router.callback_query.register(set_share, ShareMode.filter())
    router.callback_query.register(summary_choice, SummaryChoice.filter())
    router.message.register(end, Command("end"))
    router.message.register(report, Command("report"))
    router.message.register(feedback, Command("feedback"))
    router.message.register(pause_mentoring, Command("pause_mentoring"))
    router.message.register(mentors, Command("mentors"))
    router.message.register(contact, Command("contact"))
    router.callback_query.register(which_mentee, WhichMentee.filter())
    router.callback_query.register(ask_mentor, AskMentor.filter())
    router.callback_query.register(answer_request, RequestAnswer.filter())
    return router
