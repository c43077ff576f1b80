"""Showing a dialog's turn in a chat: questions, charts, summaries."""

from __future__ import annotations

import asyncio
from datetime import date

from aiogram import Bot
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts import render_wheel
from bot.domain import engine
from bot.domain.engine import ShowWheel
from bot.domain.texts import N_, Msg, Value
from bot.services.dialogs import DialogService, DialogTurn, Turn
from bot.telegram.render import Renderer, split_html


class DialogView:
    """Sends what a dialog turn means to one chat, in the person's language."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        locale: str,
        renderer: Renderer,
        service: DialogService,
        session: AsyncSession,
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.locale = locale
        self.renderer = renderer
        self.service = service
        self.session = session

    def t(self, message: str, **values: Value) -> str:
        return self.renderer.text(Msg(message, dict(values)), self.locale)

    async def say(self, html_text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        parts = split_html(html_text)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            await self.bot.send_message(self.chat_id, part, reply_markup=markup if last else None)

    async def ask(self, turn: DialogTurn) -> None:
        assert turn.dialog and turn.progress and turn.record
        question = engine.question(turn.dialog, turn.progress)
        await self.bot.send_message(
            self.chat_id,
            self.renderer.question(question, self.locale),
            reply_markup=self.renderer.keyboard(
                question, turn.record.id, turn.progress.seq, self.locale
            ),
        )

    async def begin(self, turn: DialogTurn) -> None:
        """A dialog started or resumed."""
        assert turn.dialog
        for dialog_id in turn.paused:
            await self.say(
                self.t(
                    N_("{title} is paused; /continue picks it up later."),
                    title=Msg(self.service.dialogs[dialog_id].title),
                )
            )
        if turn.kind is Turn.STARTED:
            await self.say(f"<b>{self.t(turn.dialog.title)}</b>\n\n{self.t(turn.dialog.intro)}")
        else:
            await self.say(
                self.t(
                    N_("Welcome back to {title}. Here is where you stopped."),
                    title=Msg(turn.dialog.title),
                ),
                InlineKeyboardMarkup(
                    inline_keyboard=[
                        [
                            InlineKeyboardButton(
                                text=self.renderer.plain(
                                    Msg(N_("Start again from the beginning")), self.locale
                                ),
                                callback_data=f"restart:{turn.dialog.id}",
                            )
                        ]
                    ]
                ),
            )
        await self.progress(turn)

    async def progress(self, turn: DialogTurn) -> None:
        """After an accepted answer (or a repeat of one): charts, then the next question
        or the end."""
        for show in turn.shows:
            await self.wheel(turn, show)
        if turn.finished:
            await self.finish(turn)
        else:
            await self.ask(turn)

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
        await self.bot.send_photo(
            self.chat_id, BufferedInputFile(picture, "wheel.png"), caption=caption
        )

    async def finish(self, turn: DialogTurn) -> None:
        assert turn.dialog and turn.progress and turn.record
        finished = turn.record.finished_at.date() if turn.record.finished_at else date.today()
        await self.say(
            self.renderer.summary(
                Msg(turn.dialog.title),
                finished,
                engine.summary(turn.dialog, turn.progress),
                self.locale,
            )
        )
        await self.say(self.t(turn.dialog.outro))


async def begin_dialog(
    bot: Bot,
    chat_id: int,
    i18n: I18n,
    renderer: Renderer,
    service: DialogService,
    session: AsyncSession,
    turn: DialogTurn,
) -> None:
    """Show a started or resumed dialog in the person's current language."""
    await DialogView(bot, chat_id, i18n.current_locale, renderer, service, session).begin(turn)
