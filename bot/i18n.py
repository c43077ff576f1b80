"""Languages: the gettext catalogs in locales/ and the person's locale per update."""

from __future__ import annotations

from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel import Locale

from bot.config import LOCALES
from bot.errors import OperatorError
from bot.storage.models import Person


def language_name(code: str) -> str:
    """A language's name in that language, as a person looks for it: "Latviešu", "Русский"."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


LANGUAGE_NAMES = {code: language_name(code) for code in LOCALES}


def create_i18n(path: str, default_locale: str) -> I18n:
    i18n = I18n(path=path, default_locale=default_locale, domain="messages")
    missing = set(LOCALES) - set(i18n.available_locales)
    if missing:
        raise OperatorError(
            f"no compiled catalog for {', '.join(sorted(missing))} in {path}: in a source "
            "checkout run `make`, else set LOCALES_DIR or reinstall mentorbot"
        )
    return i18n


def locale_for(person: Person | None, telegram_language: str | None, default: str) -> str:
    """The person's chosen language, else Telegram's if we speak it, else the default."""
    if person is not None and person.language in LOCALES:
        return person.language
    code = (telegram_language or "").split("-")[0].lower()
    return code if code in LOCALES else default


class PersonLocaleMiddleware(I18nMiddleware):
    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user = data.get("event_from_user")
        return locale_for(
            data.get("person"), user.language_code if user else None, self.i18n.default_locale
        )
