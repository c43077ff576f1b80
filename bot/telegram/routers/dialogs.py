"""The coaching dialogs: /grow, /wheel, /dilts, /cancel, /continue, and every answer."""

from __future__ import annotations

from functools import partial

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message, Update
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import engine
from bot.domain.engine import Input, OtherInput, Press, TextInput
from bot.domain.intake import MENTEE_INTAKE
from bot.services.cohorts import COHORT_FORM, CohortService
from bot.services.conversation import ConversationService
from bot.services.dialogs import DialogService, DialogTurn, Turn
from bot.services.matching import MatchingService
from bot.storage.group_commit import GroupWork, Work
from bot.storage.models import Person
from bot.telegram.filters import PRIVATE, Magic, data_prefix
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import DialogButton, Renderer
from bot.telegram.routers.coordinator import send_cohorts
from bot.telegram.routers.mentoring import offer_summary, relay, send_suggestions
from bot.telegram.views import DialogView


def view(
    bot: Bot,
    chat_id: int,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    session: AsyncSession,
) -> DialogView:
    return DialogView(bot, chat_id, i18n.current_locale, renderer, dialogs, session)


async def start_dialog(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
) -> None:
    command = (message.text or "").split()[0].lstrip("/").split("@")[0]
    dialog = dialogs.by_command(command)
    assert dialog is not None
    turn = await dialogs.start(session, person.id, dialog.id)
    await view(bot, message.chat.id, i18n, renderer, dialogs, session).begin(turn)


async def restart_dialog(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
) -> None:
    dialog_id = (query.data or "").split(":", 1)[1]
    await query.answer()
    if dialog_id not in dialogs.dialogs:
        return
    turn = await dialogs.start(session, person.id, dialog_id, restart=True)
    await view(bot, person.id, i18n, renderer, dialogs, session).begin(turn)


async def pause_dialog(
    message: Message, session: AsyncSession, person: Person, dialogs: DialogService
) -> None:
    turn = await dialogs.pause(session, person.id)
    if turn.kind is Turn.NONE:
        await message.answer(_("There is nothing to pause right now. /help lists what I can do."))
        return
    await message.answer(
        _("Paused. Your answers are saved; /continue picks up at the same question.")
    )


async def resume_dialog(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
) -> None:
    turn = await dialogs.resume(session, person.id)
    if turn.kind is Turn.NONE:
        await message.answer(
            _("You have no unfinished session. Start one with /grow, /wheel or /dilts.")
        )
        return
    await view(bot, message.chat.id, i18n, renderer, dialogs, session).begin(turn)


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
    cohort_service: CohortService,
    matching: MatchingService,
    conversation: ConversationService,
    outbox: OutboxSender,
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
    screen = view(bot, person.id, i18n, renderer, dialogs, session)
    if turn.kind is Turn.NONE:
        await query.answer(_("This session no longer exists."), show_alert=True)
    elif turn.kind is Turn.STALE:
        await query.answer(stale_notice(turn), show_alert=True)
    elif turn.kind is Turn.REFUSED:
        assert turn.error is not None
        await query.answer(renderer.plain(turn.error, screen.locale), show_alert=True)
    elif turn.kind is Turn.REPEATED:
        await query.answer()
        await screen.progress(turn)
    else:
        await query.answer()
        assert turn.progress is not None and turn.answered_question is not None
        message_id = query.message.message_id if query.message else None
        if turn.progress.seq == callback_data.seq:
            # A tap on a multiple choice: the same question with the new selection.
            if message_id is not None:
                await bot.edit_message_reply_markup(
                    chat_id=person.id,
                    message_id=message_id,
                    reply_markup=renderer.keyboard(
                        _question(turn), callback_data.session, turn.progress.seq, screen.locale
                    ),
                )
            return
        if message_id is not None:
            await close_question(bot, person.id, message_id, renderer, turn, screen.locale)
        await screen.progress(turn)
        await after_finish(
            turn,
            bot,
            person,
            session,
            cohort_service,
            matching,
            conversation,
            renderer,
            outbox,
            i18n.current_locale,
        )


async def take_answer(
    answers: GroupWork, session: AsyncSession, work: Work[DialogTurn]
) -> DialogTurn:
    """The answer, taken in a group with others. The update's own session first lets go of
    its connection (what filters and middlewares read or wrote is committed): on SQLite
    there is one, and the group needs it."""
    if session.in_transaction():
        await session.commit()
    return await answers.run(work)


def _question(turn: DialogTurn) -> engine.Question:
    assert turn.dialog and turn.progress
    return engine.question(turn.dialog, turn.progress)


async def close_question(
    bot: Bot, chat_id: int, message_id: int, renderer: Renderer, turn: DialogTurn, locale: str
) -> None:
    """Leave the answered question in the chat with the answer under it and no buttons."""
    assert turn.answered_question is not None
    if turn.answered_value is None:
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)
        return
    await bot.edit_message_text(
        chat_id=chat_id,
        message_id=message_id,
        text=renderer.answered(turn.answered_question, turn.answered_value, locale),
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
    cohort_service: CohortService,
    matching: MatchingService,
    conversation: ConversationService,
    outbox: OutboxSender,
) -> None:
    turn = await take_answer(
        answers,
        session,
        partial(dialogs.answer, person_id=person.id, event=event, update_id=update_id),
    )
    screen = view(bot, message.chat.id, i18n, renderer, dialogs, session)
    if turn.kind is Turn.NONE:
        # Not in a session: the message is for the person's mentor or mentee, if any.
        if await relay(message, bot, session, person, conversation, outbox):
            return
        await message.answer(
            _(
                "I am not asking you anything right now. Start with /grow, /wheel or /dilts, "
                "or see /help."
            )
        )
    elif turn.kind is Turn.REFUSED:
        assert turn.error is not None
        await message.answer(renderer.text(turn.error, screen.locale))
    else:
        await screen.progress(turn)
        await after_finish(
            turn,
            bot,
            person,
            session,
            cohort_service,
            matching,
            conversation,
            renderer,
            outbox,
            i18n.current_locale,
        )


async def after_finish(
    turn: DialogTurn,
    bot: Bot,
    person: Person,
    session: AsyncSession,
    cohort_service: CohortService,
    matching: MatchingService,
    conversation: ConversationService,
    renderer: Renderer,
    outbox: OutboxSender,
    locale: str,
) -> None:
    """What follows a finished dialog: a coaching session's summary may go to the mentor;
    a new cohort is shown with its invite links."""
    if turn.kind is not Turn.ACCEPTED or not turn.finished or turn.dialog is None:
        return
    assert turn.record is not None
    if turn.dialog.kind == "coaching":
        await offer_summary(bot, session, person, turn.record.id, conversation, renderer, outbox)
    elif turn.dialog.id == MENTEE_INTAKE:
        await send_suggestions(bot, session, person, matching, renderer, locale)
    elif turn.dialog.id == COHORT_FORM:
        await send_cohorts(bot, person, session, cohort_service)


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
    cohort_service: CohortService,
    matching: MatchingService,
    conversation: ConversationService,
    outbox: OutboxSender,
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
        cohort_service,
        matching,
        conversation,
        outbox,
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
    cohort_service: CohortService,
    matching: MatchingService,
    conversation: ConversationService,
    outbox: OutboxSender,
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
        cohort_service,
        matching,
        conversation,
        outbox,
    )


def create_router(commands: list[str]) -> Router:
    """``commands``: those of the coaching dialogs, as their YAML names them."""
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    # Answers first: they are most of the traffic, and no command is an answer.
    router.message.register(text_answer, Magic(F.text & ~F.text.startswith("/")))
    router.callback_query.register(dialog_button, DialogButton.filter())
    router.message.register(start_dialog, Command(*commands))
    router.callback_query.register(restart_dialog, data_prefix("restart:"))
    router.message.register(pause_dialog, Command("cancel"))
    router.message.register(resume_dialog, Command("continue"))
    router.message.register(other_answer, Magic(~F.text))
    return router
