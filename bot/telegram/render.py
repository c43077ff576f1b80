"""Turning messenger-neutral texts into Telegram HTML and keyboards."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import date

from aiogram.methods import EditMessageReplyMarkup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from babel.dates import format_date

from bot.domain import engine
from bot.domain.engine import Question, SummaryLine
from bot.domain.texts import N_, Msg, Value
from bot.telegram.buttons import DialogButton

TELEGRAM_TEXT_LIMIT = 4096

# Latvian writes a date's month in the case its place in the sentence needs: "līdz
# 2. decembrim" (dative), "uz 2. decembri" (accusative), "no 2. decembra" (genitive),
# "2. decembrī" (locative, "on"). Babel gives the nominative "2. decembris".
LATVIAN_CASES = ("gen", "dat", "acc", "loc")
LATVIAN_MONTHS = {
    "janvāris": ("janvāra", "janvārim", "janvāri", "janvārī"),
    "februāris": ("februāra", "februārim", "februāri", "februārī"),
    "marts": ("marta", "martam", "martu", "martā"),
    "aprīlis": ("aprīļa", "aprīlim", "aprīli", "aprīlī"),
    "maijs": ("maija", "maijam", "maiju", "maijā"),
    "jūnijs": ("jūnija", "jūnijam", "jūniju", "jūnijā"),
    "jūlijs": ("jūlija", "jūlijam", "jūliju", "jūlijā"),
    "augusts": ("augusta", "augustam", "augustu", "augustā"),
    "septembris": ("septembra", "septembrim", "septembri", "septembrī"),
    "oktobris": ("oktobra", "oktobrim", "oktobri", "oktobrī"),
    "novembris": ("novembra", "novembrim", "novembri", "novembrī"),
    "decembris": ("decembra", "decembrim", "decembri", "decembrī"),
}


class DateText(str):
    """A date as the reader's language writes it. A Latvian template asks for the case its
    slot needs with a format spec, {date:dat}; other languages' dates ignore the spec."""

    def __new__(cls, day: date, locale: str) -> DateText:
        text = super().__new__(cls, format_date(day, format="long", locale=locale))
        text.latvian = locale.startswith("lv")
        return text

    latvian: bool

    def __format__(self, spec: str) -> str:
        if not spec:
            return str(self)
        if spec not in LATVIAN_CASES:
            raise ValueError(f"a date takes one of the cases {LATVIAN_CASES}, not {spec!r}")
        if not self.latvian:
            return str(self)
        before, _, month = str(self).rpartition(" ")
        return f"{before} {LATVIAN_MONTHS[month][LATVIAN_CASES.index(spec)]}"


class Renderer:
    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n

    @staticmethod
    def escape(text: str) -> str:
        """The person's own words inside HTML."""
        return html.escape(text, quote=False)

    def gettext(self, message: str, locale: str) -> str:
        return self.i18n.gettext(message, locale=locale)

    def text(self, msg: Msg, locale: str) -> str:
        """The message in HTML; the person's own words escaped."""
        values = {name: self.value(v, locale) for name, v in msg.values.items()}
        if msg.plural is not None and msg.count is not None:
            count = msg.values[msg.count]
            assert isinstance(count, int), f"{msg.id!r}: {msg.count} is not a number"
            translated = self.i18n.gettext(msg.id, msg.plural, count, locale=locale)
        else:
            translated = self.gettext(msg.id, locale)
        return translated.format(**values) if values else translated

    def plain(self, msg: Msg, locale: str) -> str:
        """For places that take no HTML, such as button labels."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.text(msg, locale)))

    def value(self, value: Value, locale: str) -> str:
        if isinstance(value, Msg):
            return self.text(value, locale)
        if isinstance(value, bool):
            return self.gettext(N_("Yes") if value else N_("No"), locale)
        if isinstance(value, int):
            return str(value)
        if isinstance(value, date):
            return DateText(value, locale)
        if isinstance(value, list):
            return ", ".join(self.value(v, locale) for v in value)
        return html.escape(value, quote=False)

    def question(self, q: Question, locale: str) -> str:
        lines = []
        heading = [self.text(part, locale) for part in (q.stage, q.item) if part is not None]
        if heading:
            lines.append(f"<b>{' · '.join(heading)}</b>")
        lines.append(self.text(q.text, locale))
        if q.hint is not None:
            lines.append(f"<i>{self.text(q.hint, locale)}</i>")
        if q.current is not None:
            lines.append(
                self.text(Msg(N_("Your answer so far: {answer}"), {"answer": q.current}), locale)
            )
        return "\n\n".join(lines)

    def answered(self, q: Question, shown: Value, locale: str) -> str:
        """The question as it stays in the chat once answered with a button."""
        return f"{self.question_without_current(q, locale)}\n\n→ <b>{self.value(shown, locale)}</b>"

    def question_without_current(self, q: Question, locale: str) -> str:
        return self.question(
            Question(q.stage, q.item, q.text, q.hint, None, q.buttons, q.accepts_text), locale
        )

    def keyboard(self, q: Question, session_id: int, seq: int, locale: str) -> InlineKeyboardMarkup:
        """The question's buttons, row by row as the engine lays them out."""
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=self.label(button, locale),
                        callback_data=DialogButton(
                            session=session_id, seq=seq, action=button.action
                        ).pack(),
                    )
                    for button in row
                ]
                for row in q.buttons
            ]
        )

    def label(self, button: engine.Button, locale: str) -> str:
        label = self.plain(button.label, locale) if isinstance(button.label, Msg) else button.label
        if button.action.startswith("t:"):
            label = ("✅ " if button.selected else "▫️ ") + label
        return label

    def summary(self, title: Msg, when: date, lines: Sequence[SummaryLine], locale: str) -> str:
        out = [f"<b>{self.text(title, locale)}</b> · {self.value(when, locale)}"]
        for line in lines:
            label = self.text(line.label, locale)
            if line.heading:
                out.append(f"\n<b>{label}</b>")
            elif line.value is None:
                out.append(f"<u>{label}</u>")
            else:
                out.append(f"• <i>{label}:</i> {self.value(line.value, locale)}")
        return "\n".join(out)


_TOKEN = re.compile(r"<[^>]*>|&[^;\s]{1,10};|[^<&]+|[<&]", re.S)
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z-]+)")


def split_html(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split Telegram HTML into parts of at most ``limit`` characters each, at line
    breaks where possible, closing open tags at a cut and opening them again after."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    open_tags: list[tuple[str, str]] = []  # (name, opening tag)

    def closing() -> str:
        return "".join(f"</{name}>" for name, _ in reversed(open_tags))

    def cut() -> None:
        nonlocal current
        parts.append(current + closing())
        current = "".join(tag for _, tag in open_tags)

    pieces: list[str] = []
    for token in _TOKEN.findall(text):
        if token.startswith("<") or token.startswith("&") or len(token) <= 1:
            pieces.append(token)
        else:
            # Plain text breaks after newlines first, then anywhere.
            for line in re.split(r"(?<=\n)", token):
                pieces.extend(line[i : i + limit // 4] for i in range(0, len(line), limit // 4))
    reserve = 0
    for piece in pieces:
        reserve = len(closing())
        if len(current) + len(piece) + reserve > limit and current.strip():
            cut()
        current += piece
        match = _TAG_NAME.match(piece) if piece.startswith("<") and len(piece) > 1 else None
        if match:
            name = match.group(1).lower()
            if piece.startswith("</"):
                for index in range(len(open_tags) - 1, -1, -1):
                    if open_tags[index][0] == name:
                        del open_tags[index]
                        break
            elif not piece.endswith("/>"):
                open_tags.append((name, piece))
    if current.strip():
        parts.append(current)
    return parts


def without_pressed_row(query: CallbackQuery, chat_id: int) -> EditMessageReplyMarkup | None:
    """The pressed message without the row of the button pressed. A merged message gives
    each item's buttons rows of their own, so the other items can still be answered in it;
    a message of one item loses its buttons."""
    message = query.message
    markup = getattr(message, "reply_markup", None)
    if message is None:
        return None
    rows = markup.inline_keyboard if markup is not None else []
    kept = [row for row in rows if all(b.callback_data != query.data for b in row)]
    if rows and len(kept) == len(rows):
        return None  # the press was not on this message's buttons: nothing to change
    return EditMessageReplyMarkup(
        chat_id=chat_id,
        message_id=message.message_id,
        reply_markup=InlineKeyboardMarkup(inline_keyboard=kept) if kept else None,
    )
