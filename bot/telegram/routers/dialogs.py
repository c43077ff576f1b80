"""The coaching dialogs: /grow, /wheel, /dilts, /cancel, /continue, and every answer."""

from __future__ import annotations

from functools import partial

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.methods import EditMessageReplyMarkup, EditMessageText
from aiogram.types import CallbackQuery, Message, Update
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import engine
from bot.domain.engine import Input, OtherInput, Press, TextInput
from bot.domain.intake import MENTEE_INTAKE
from bot.services.cohorts import COHORT_FORM
from bot.services.dialogs import DialogService, DialogTurn, Turn
from bot.services.programme import Programme
from bot.storage import repositories as repo
from bot.storage.group_commit import GroupWork, Work
from bot.storage.models import Person
from bot.telegram.buttons import DialogButton, Restart
from bot.telegram.filters import PRIVATE, Magic
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer
from bot.telegram.replies import Replies
from bot.telegram.routers.coordinator import send_cohorts
from bot.telegram.routers.mentoring import offer_summary, relay, send_suggestions
from bot.telegram.views import DialogView


def view(
    replies: Replies,
    chat_id: int,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    session: AsyncSession,
) -> DialogView:
    return DialogView(replies, chat_id, i18n.current_locale, renderer, dialogs, session)


async def start_dialog(
    message: Message,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    replies: Replies,
) -> None:
    command = (message.text or "").split()[0].lstrip("/").split("@")[0]
    dialog = dialogs.by_command(command)
    assert dialog is not None
    turn = await dialogs.start(session, person.id, dialog.id)
    await view(replies, message.chat.id, i18n, renderer, dialogs, session).begin(turn)


async def restart_dialog(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    replies: Replies,
    callback_data: Restart,
) -> None:
    """The button under a resumed coaching session that starts it again from the
    beginning: it works only while that session is still the one to pick up."""
    dialog = dialogs.dialogs.get(callback_data.dialog)
    if dialog is None or dialog.kind != "coaching":
        replies.add(query.answer(_("This button no longer works."), show_alert=True))
        return
    current = await repo.resumable_session(session, person.id, dialog.id)
    if current is None or current.id != callback_data.session:
        replies.add(
            query.answer(
                _("This button is for an earlier session. Please use the newest message."),
                show_alert=True,
            )
        )
        return
    replies.add(query.answer())
    turn = await dialogs.start(session, person.id, dialog.id, restart=True)
    await view(replies, person.id, i18n, renderer, dialogs, session).begin(turn)


async def pause_dialog(
    message: Message,
    session: AsyncSession,
    person: Person,
    dialogs: DialogService,
    replies: Replies,
) -> None:
    turn = await dialogs.pause(session, person.id)
    if turn.kind is Turn.NONE:
        replies.add(
            message.answer(_("There is nothing to pause right now. /help lists what I can do."))
        )
        return
    replies.add(
        message.answer(
            _("Paused. Your answers are saved; /continue picks up at the same question.")
        )
    )


async def resume_dialog(
    message: Message,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    replies: Replies,
) -> None:
    turn = await dialogs.resume(session, person.id)
    if turn.kind is Turn.NONE:
        replies.add(
            message.answer(
                _("You have no unfinished session. Start one with /grow, /wheel or /dilts.")
            )
        )
        return
    await view(replies, message.chat.id, i18n, renderer, dialogs, session).begin(turn)


async def dialog_button(
    query: CallbackQuery,
    callback_data: DialogButton,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    answers: GroupWork,
    event_update: Update,
    programme: Programme,
    outbox: OutboxSender,
    replies: Replies,
) -> None:
    turn = await take_answer(
        answers,
        session,
        partial(
            dialogs.answer,
            person_id=person.id,
            event=Press(callback_data.action),
            update_id=event_update.update_id,
            session_id=callback_data.session,
            seq=callback_data.seq,
        ),
    )
    screen = view(replies, person.id, i18n, renderer, dialogs, session)
    if turn.kind is Turn.NONE:
        replies.add(query.answer(_("This session no longer exists."), show_alert=True))
    elif turn.kind is Turn.STALE:
        replies.add(query.answer(stale_notice(turn), show_alert=True))
    elif turn.kind is Turn.REFUSED:
        assert turn.error is not None
        replies.add(query.answer(renderer.plain(turn.error, screen.locale), show_alert=True))
    elif turn.kind is Turn.REPEATED:
        replies.add(query.answer())
        await screen.progress(turn)
    else:
        replies.add(query.answer())
        assert turn.progress is not None and turn.answered_question is not None
        message_id = query.message.message_id if query.message else None
        if turn.progress.seq == callback_data.seq:
            # A tap on a multiple choice: the same question with the new selection.
            if message_id is not None:
                replies.add(
                    EditMessageReplyMarkup(
                        chat_id=person.id,
                        message_id=message_id,
                        reply_markup=renderer.keyboard(
                            _question(turn), callback_data.session, turn.progress.seq, screen.locale
                        ),
                    )
                )
            return
        if message_id is not None:
            close_question(replies, person.id, message_id, renderer, turn, screen.locale)
        await screen.progress(turn)
        await after_finish(
            turn, bot, person, session, programme, renderer, outbox, i18n.current_locale, replies
        )


async def take_answer(
    answers: GroupWork, session: AsyncSession, work: Work[DialogTurn]
) -> DialogTurn:
    """The answer, taken in a group with others. The update's own session first lets go of
    its connection (what filters and middlewares read or wrote is committed): on SQLite
    there is one, and the group needs it. What is shown of it is collected as replies, sent
    once the update is done."""
    if session.in_transaction():
        await session.commit()
    return await answers.run(work)


def _question(turn: DialogTurn) -> engine.Question:
    assert turn.dialog and turn.progress
    return engine.question(turn.dialog, turn.progress)


def close_question(
    replies: Replies,
    chat_id: int,
    message_id: int,
    renderer: Renderer,
    turn: DialogTurn,
    locale: str,
) -> None:
    """Leave the answered question in the chat with the answer under it and no buttons."""
    assert turn.answered_question is not None
    if turn.answered_value is None:
        replies.add(EditMessageReplyMarkup(chat_id=chat_id, message_id=message_id))
        return
    replies.add(
        EditMessageText(
            chat_id=chat_id,
            message_id=message_id,
            text=renderer.answered(turn.answered_question, turn.answered_value, locale),
        )
    )


def stale_notice(turn: DialogTurn) -> str:
    assert turn.record is not None
    if turn.record.status == "paused":
        return _("This session is paused. Send /continue to pick it up.")
    if turn.record.status == "abandoned":
        return _("This session has expired: a newer one has taken its place.")
    if turn.record.status != "active":
        return _("This session is over, so this button no longer works.")
    return _("This question has already been answered. Please use the newest message.")


async def answer_with(
    message: Message,
    event: Input,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    answers: GroupWork,
    update_id: int,
    programme: Programme,
    outbox: OutboxSender,
    replies: Replies,
) -> None:
    turn = await take_answer(
        answers,
        session,
        partial(dialogs.answer, person_id=person.id, event=event, update_id=update_id),
    )
    screen = view(replies, message.chat.id, i18n, renderer, dialogs, session)
    if turn.kind is Turn.NONE:
        # Not in a session: the message is for the person's mentor or mentee, if any.
        # (It sends on its own, until it collects replies too.)
        if await relay(message, bot, session, person, programme, outbox, replies):
            return
        replies.add(
            message.answer(
                _(
                    "I am not asking you anything right now. Start with /grow, /wheel or "
                    "/dilts, or see /help."
                )
            )
        )
    elif turn.kind is Turn.REFUSED:
        assert turn.error is not None
        replies.add(message.answer(renderer.text(turn.error, screen.locale)))
    else:
        await screen.progress(turn)
        await after_finish(
            turn, bot, person, session, programme, renderer, outbox, i18n.current_locale, replies
        )


async def after_finish(
    turn: DialogTurn,
    bot: Bot,
    person: Person,
    session: AsyncSession,
    programme: Programme,
    renderer: Renderer,
    outbox: OutboxSender,
    locale: str,
    replies: Replies,
) -> None:
    """What follows a finished dialog: a coaching session's summary may go to the mentor;
    a new cohort is shown with its invite links."""
    if turn.kind is not Turn.ACCEPTED or not turn.finished or turn.dialog is None:
        return
    assert turn.record is not None
    if turn.dialog.kind == "coaching":
        await offer_summary(
            bot, session, person, turn.record.id, programme, renderer, outbox, replies
        )
    elif turn.dialog.id == MENTEE_INTAKE:
        await send_suggestions(bot, session, person, programme, renderer, locale, replies)
    elif turn.dialog.id == COHORT_FORM:
        await send_cohorts(bot, person, session, programme.cohorts, replies)


async def text_answer(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    answers: GroupWork,
    event_update: Update,
    programme: Programme,
    outbox: OutboxSender,
    replies: Replies,
) -> None:
    await answer_with(
        message,
        TextInput(message.text or ""),
        bot,
        session,
        person,
        i18n,
        renderer,
        dialogs,
        answers,
        event_update.update_id,
        programme,
        outbox,
        replies,
    )


async def other_answer(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    answers: GroupWork,
    event_update: Update,
    programme: Programme,
    outbox: OutboxSender,
    replies: Replies,
) -> None:
    kind = message.content_type.value if hasattr(message.content_type, "value") else "other"
    await answer_with(
        message,
        OtherInput(str(kind)),
        bot,
        session,
        person,
        i18n,
        renderer,
        dialogs,
        answers,
        event_update.update_id,
        programme,
        outbox,
        replies,
    )


def create_router(commands: list[str]) -> Router:
    """``commands``: those of the coaching dialogs, as their YAML names them."""
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    # Answers first: they are most of the traffic, and no command is an answer.
    router.message.register(text_answer, Magic(F.text & ~F.text.startswith("/")))
    router.callback_query.register(dialog_button, DialogButton.filter())
    router.message.register(start_dialog, Command(*commands))
    router.callback_query.register(restart_dialog, Restart.filter())
    router.message.register(pause_dialog, Command("cancel"))
    router.message.register(resume_dialog, Command("continue"))
    router.message.register(other_answer, Magic(~F.text))
    return router
