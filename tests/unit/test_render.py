"""HTML for Telegram: the person's words escaped, long texts split."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.texts import Msg, msg_from_json, msg_to_json, plural_msg
from bot.i18n import create_i18n
from bot.playground.botapi import EntityParseError, parse_html
from bot.telegram.buttons import DialogButton
from bot.telegram.render import Renderer, split_html

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(create_i18n(str(ROOT / "locales"), "en"))


def test_persons_text_is_escaped_and_translated_text_is_not(renderer: Renderer) -> None:
    text = renderer.text(Msg("Your answer so far: {answer}", {"answer": "<b>me</b> & <3"}), "en")
    assert text == "Your answer so far: &lt;b&gt;me&lt;/b&gt; &amp; &lt;3"
    plain, _ = parse_html(text)
    assert plain == "Your answer so far: <b>me</b> & <3"


def test_a_stored_count_keeps_its_plural_and_older_rows_still_read(renderer: Renderer) -> None:
    quiet = plural_msg(
        "⚠️ no contact for {days} day", "⚠️ no contact for {days} days", "days", {"days": 21}
    )
    stored = msg_to_json(Msg("{n}. {text}", {"n": 1, "text": quiet}))
    again = msg_from_json(stored)
    assert renderer.text(again, "lv") == "1. ⚠️ bez saziņas 21 dienu"
    older = {"id": "{n}. {text}", "values": {"n": 2, "text": {"msg": {"id": "Yes", "values": {}}}}}
    assert renderer.text(msg_from_json(older), "en") == "2. Yes"


def test_dates_follow_the_language(renderer: Renderer) -> None:
    assert renderer.value(date(2026, 12, 1), "en") == "December 1, 2026"
    assert renderer.value(date(2026, 12, 1), "lv") == "2026. gada 1. decembris"


def test_callback_data_stays_within_64_bytes() -> None:
    data = DialogButton(session=2**31 - 1, seq=99999, action="t:abcdefghijklmnop").pack()
    assert len(data.encode()) <= 64


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["", "b", "i", "u"]), st.text(min_size=1, max_size=900)),
        min_size=1,
        max_size=40,
    )
)
def test_split_parts_are_valid_and_within_the_limit(pieces: list[tuple[str, str]]) -> None:
    import html

    source = "\n".join(
        f"<{tag}>{html.escape(text, quote=False)}</{tag}>"
        if tag
        else html.escape(text, quote=False)
        for tag, text in pieces
    )
    parts = split_html(source, limit=1000)
    visible = ""
    for part in parts:
        assert len(part) <= 1000
        try:
            plain, _ = parse_html(part)
        except EntityParseError as error:  # pragma: no cover - the failure message
            raise AssertionError(f"invalid HTML part: {error}: {part!r}") from None
        visible += plain
    expected, _ = parse_html(source)
    assert re.sub(r"\s", "", visible) == re.sub(r"\s", "", expected)
