"""The access policy, applied before any handler runs.

An outer middleware on messages and button presses finds the action (a command, a dialog
start, a button kind), asks the pure policy (bot/domain/access.py) and, if it refuses,
answers with a short clear line and lets no handler run. A press whose data does not parse
as one of our buttons (bot/telegram/buttons.py) is answered the same way. What a person
may do reaches handlers as ``standing``, what they pressed as ``button``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import access
from bot.domain.access import Refusal, Role, Rule, Standing
from bot.domain.dialogs import Dialog
from bot.storage import access as store
from bot.telegram import buttons
from bot.telegram.replies import Replies

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def command_of(text: str | None) -> str | None:
    """The command a message starts with, without the slash and the bot's name."""
    if not text or not text.startswith("/"):
        return None
    return text.split(maxsplit=1)[0][1:].split("@", 1)[0].lower() or None


def refusal_text(rule: Rule, refusal: Refusal) -> str:
    if refusal is Refusal.GONE:
        return _("This button no longer works.")
    if refusal is Refusal.NOT_YOURS:
        return _("This button is not meant for you, so it does nothing.")
    roles = rule.roles
    if roles <= access.COORDINATION:
        if Role.COORDINATOR not in roles:
            return _("This is for the operators of this bot.")
        return _("This command is for programme coordinators.")
    if roles == access.MENTORS:
        return _("This command is for mentors.")
    if roles == access.GUIDED:
        return _("This is for mentors and programme coordinators.")
    if roles == access.MENTEES:
        return _(
            "This is for mentees in a programme. An invite link from your coordinator "
            "brings you in."
        )
    return _(
        "This is for mentees and mentors in a programme. An invite link from your coordinator "
        "brings you in."
    )


class AccessMiddleware(BaseMiddleware):
    def __init__(self, dialogs: dict[str, Dialog], operators: Collection[int]) -> None:
        self.operators = frozenset(operators)
        self.learn(dialogs)

    def learn(self, dialogs: dict[str, Dialog]) -> None:
        """Who may start each dialog, from its definition (again when the dialogs change)."""
        self.dialog_rules = {d.id: access.dialog_rule(d.roles) for d in dialogs.values()}
        self.command_rules = dict(access.COMMANDS)
        for dialog in dialogs.values():
            if dialog.command:
                self.command_rules[dialog.command] = self.dialog_rules[dialog.id]

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return await handler(event, data)
        if isinstance(event, CallbackQuery):
            return await self._press(handler, event, data, user)
        if isinstance(event, Message):
            command = command_of(event.text)
            chat = data.get("event_chat")
            rule = self.command_rules.get(command) if command else None
            if rule is None or chat is None or chat.type != "private":
                # Not a command (an answer, a relayed message), or one no handler knows:
                # the fallback answers that.
                return await handler(event, data)
            refusal = await self._decide(data, user.id, rule)
            if refusal is not None:
                replies: Replies = data["replies"]
                replies.add(event.answer(refusal_text(rule, refusal)))
                return None
        return await handler(event, data)

    async def _press(
        self, handler: Handler, query: CallbackQuery, data: dict[str, Any], user: User
    ) -> Any:
        replies: Replies = data["replies"]
        button = buttons.parse(query.data or "")
        if button is None:
            replies.add(query.answer(_("This button no longer works."), show_alert=True))
            return None
        rule = access.BUTTONS[button.__prefix__]
        refusal = await self._decide(data, user.id, rule, button.subject())
        if refusal is None and isinstance(button, buttons.Menu | buttons.Restart):
            dialog = button.choice if isinstance(button, buttons.Menu) else button.dialog
            if dialog in self.dialog_rules:
                rule = self.dialog_rules[dialog]
                refusal = await self._decide(data, user.id, rule)
        if refusal is not None:
            replies.add(query.answer(refusal_text(rule, refusal), show_alert=True))
            return None
        data["button"] = button
        return await handler(query, data)

    async def standing(self, session: AsyncSession, person_id: int) -> Standing:
        """What the policy knows of a person, for a handler that shows each role its own
        (the help, the menu)."""
        return await store.standing_of(session, person_id, self.operators)

    async def _decide(
        self,
        data: dict[str, Any],
        person_id: int,
        rule: Rule,
        named: access.Named | None = None,
    ) -> Refusal | None:
        if rule.roles == access.EVERYONE and rule.scope is access.Scope.ANY:
            return None
        session: AsyncSession = data["session"]
        who: Standing | None = data.get("standing")
        if who is None:
            who = await self.standing(session, person_id)
            data["standing"] = who
        subject = None
        if rule.scope is not access.Scope.ANY and named is not None:
            subject = await store.subject_of(session, named)
        return access.decide(rule, who, subject)
