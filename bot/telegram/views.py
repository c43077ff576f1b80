"""Showing a dialog's turn in a chat: questions, charts, summaries.

A view sends nothing itself: it adds what the turn means to the update's replies, which
are sent once the update's unit of work is committed."""

from __future__ import annotations

import asyncio
from datetime import date

from aiogram import Bot
from aiogram.methods import SendMessage, SendPhoto
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts import render_wheel
from bot.domain import consent, engine
from bot.domain.engine import ShowWheel
from bot.domain.texts import N_, Msg, Value
from bot.services.dialogs import DialogService, DialogTurn, Turn
from bot.telegram.buttons import ConsentChoice, Restart
from bot.telegram.render import Renderer, split_html
from bot.telegram.replies import Replies


class DialogView:
    """What a dialog turn means for one chat, in the person's language, as replies."""

    def __init__(
        self,
        replies: Replies,
        chat_id: int,
        locale: str,
        renderer: Renderer,
        service: DialogService,
        session: AsyncSession,
    ) -> None:
        self.replies = replies
        self.chat_id = chat_id
        self.locale = locale
        self.renderer = renderer
        self.service = service
        self.session = session

    def t(self, message: str, **values: Value) -> str:
        return self.renderer.text(Msg(message, dict(values)), self.locale)

    def say(self, html_text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        parts = split_html(html_text)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            self.replies.add(
                SendMessage(chat_id=self.chat_id, text=part, reply_markup=markup if last else None)
            )

    def ask(self, turn: DialogTurn) -> None:
        assert turn.dialog and turn.progress and turn.record
        question = engine.question(turn.dialog, turn.progress)
        self.replies.add(
            SendMessage(
                chat_id=self.chat_id,
                text=self.renderer.question(question, self.locale),
                reply_markup=self.renderer.keyboard(
                    question, turn.record.id, turn.progress.seq, self.locale
                ),
            )
        )

    def ask_consent(self, turn: DialogTurn) -> None:
        """The question a dialog asks before it begins; either answer begins it."""
        assert turn.dialog and turn.consent
        kind, then = turn.consent, turn.dialog.id
        buttons = InlineKeyboardBuilder()
        buttons.button(
            text=self.renderer.plain(Msg(consent.AGREE[kind]), self.locale),
            callback_data=ConsentChoice(kind=kind, given=True, then=then),
        )
        buttons.button(
            text=self.renderer.plain(Msg(consent.DECLINE[kind]), self.locale),
            callback_data=ConsentChoice(kind=kind, given=False, then=then),
        )
        buttons.adjust(1)
        self.say(self.t(consent.QUESTIONS[kind]), buttons.as_markup())

    async def begin(self, turn: DialogTurn) -> None:
        """A dialog started or resumed, or the consent it asks for first."""
        if turn.kind is Turn.CONSENT:
            self.ask_consent(turn)
            return
        assert turn.dialog and turn.record
        for dialog_id in turn.paused:
            self.say(
                self.t(
                    N_("{title} is paused; /continue picks it up later."),
                    title=Msg(self.service.dialogs[dialog_id].title),
                )
            )
        if turn.kind is Turn.STARTED:
            self.say(f"<b>{self.t(turn.dialog.title)}</b>\n\n{self.t(turn.dialog.intro)}")
        elif turn.dialog.kind == "coaching":
            # Only a coaching dialog starts afresh from a button; a form or an intake is
            # started by what it is for.
            again = InlineKeyboardBuilder()
            again.button(
                text=self.renderer.plain(Msg(N_("Start again from the beginning")), self.locale),
                callback_data=Restart(dialog=turn.dialog.id, session=turn.record.id),
            )
            self.say(self.welcome_back(turn), again.as_markup())
        else:
            self.say(self.welcome_back(turn))
        await self.progress(turn)

    def welcome_back(self, turn: DialogTurn) -> str:
        assert turn.dialog
        return self.t(
            N_("Welcome back to {title}. Here is where you stopped."), title=Msg(turn.dialog.title)
        )

    async def progress(self, turn: DialogTurn) -> None:
        """After an accepted answer (or a repeat of one): the recap of a stage just
        finished, charts, then the next question or the end."""
        for recap in turn.recaps:
            self.say(self.renderer.text(recap, self.locale))
        for show in turn.shows:
            await self.wheel(turn, show)
        if turn.finished:
            self.finish(turn)
        else:
            self.ask(turn)

    async def wheel(self, turn: DialogTurn, show: ShowWheel) -> None:
        assert turn.record
        history = await self.service.wheel_history(self.session, turn.record.person_id)
        previous = history[-1] if history else None
        labels = [self.renderer.plain(label, self.locale) for label in show.labels]
        picture = await asyncio.to_thread(
            render_wheel,
            labels,
            list(show.ratings),
            [previous[1][area] for area in show.area_ids] if previous else None,
            self.renderer.plain(Msg(N_("Wheel of Life")), self.locale),
            self.renderer.plain(Msg(N_("Now")), self.locale),
            self.renderer.plain(Msg(N_("Last time")), self.locale),
        )
        caption = (
            self.t(
                N_("Your wheel today. The dashed line is your rating of {date}."),
                date=previous[0].date(),
            )
            if previous
            else self.t(N_("Your wheel today."))
        )
        if show.reading is not None:
            caption += "\n\n" + self.renderer.text(show.reading, self.locale)
        self.replies.add(
            SendPhoto(
                chat_id=self.chat_id,
                photo=BufferedInputFile(picture, "wheel.png"),
                caption=caption,
            )
        )

    def finish(self, turn: DialogTurn) -> None:
        assert turn.dialog and turn.progress and turn.record
        finished = turn.record.finished_at.date() if turn.record.finished_at else date.today()
        self.say(
            self.renderer.summary(
                Msg(turn.dialog.title),
                finished,
                engine.summary(turn.dialog, turn.progress),
                self.locale,
            )
        )
        self.say(self.t(turn.dialog.outro))


async def begin_dialog(
    bot: Bot,
    chat_id: int,
    i18n: I18n,
    renderer: Renderer,
    service: DialogService,
    session: AsyncSession,
    turn: DialogTurn,
    replies: Replies,
) -> None:
    """Show a started or resumed dialog in the person's current language, as ``replies``."""
    view = DialogView(
        replies,
        chat_id,
        i18n.current_locale,
        renderer,
        service,
        session,
    )
    await view.begin(turn)
