"""The check of a coordinator's HTML agrees with what Telegram (the stand-in's strict
parser) accepts, and says why it would not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiogram.types import Chat, Message, MessageEntity
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.broadcast import Progress, check_html, progress_bar, seconds_left
from bot.playground.botapi import EntityParseError, parse_html
from bot.telegram.routers.broadcast import content_of


def ids(source: str, limit: int = 4096) -> list[str]:
    return [p.id for p in check_html(source, limit).problems]


@pytest.mark.parametrize(
    "source",
    [
        "<b>bold</b> <i>it</i> <u>u</u> <s>s</s> <code>x &lt; y</code>",
        '<a href="https://example.org/?a=1&amp;b=2">link</a>',
        '<span class="tg-spoiler">secret</span> <tg-spoiler>too</tg-spoiler>',
        '<pre><code class="language-python">print(1)</code></pre>',
        "<blockquote expandable>quote</blockquote> &#128075; &#x1F44B; &quot;",
    ],
)
def test_what_telegram_takes_passes(source: str) -> None:
    assert ids(source) == []
    assert check_html(source).shown == parse_html(source)[0]


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("<blink>hi</blink>", "Telegram does not know the tag {tag}."),
        ("<b>hi", "The tag {tag} is never closed."),
        ("hi</b>", "{tag} closes nothing."),
        ("<b><i>hi</b></i>", "{tag} closes a tag that is not the last one opened ({open})."),
        ("Tom & Jerry", "Write “{char}” as {escaped}."),
        ("1 < 2", "Write “{char}” as {escaped}."),
        ("<span>x</span>", 'A span needs class="tg-spoiler": {tag}'),
        ("&#0;", "“{ref}” is not a character."),
        ("<b> </b>", "The message has no text."),
    ],
)
def test_what_telegram_refuses_is_named(source: str, problem: str) -> None:
    assert problem in ids(source)
    with pytest.raises(EntityParseError):
        parse_html(source) if problem != "The message has no text." else _empty(source)


def _empty(source: str) -> None:
    if not parse_html(source)[0]:
        raise EntityParseError("message text is empty")


def test_length_is_counted_after_the_tags() -> None:
    assert ids("<b>" + "x" * 4096 + "</b>") == []
    assert ids("x" * 4097) == ["It is {length} character long; Telegram takes at most {limit}."]
    assert ids("x" * 1025, limit=1024) != []


@given(st.text(alphabet='<>&/abiu ;#x1"=', max_size=40))
def test_it_agrees_with_the_strict_parser(source: str) -> None:
    try:
        shown = parse_html(source)[0]
        accepted = bool(shown)
    except EntityParseError:
        accepted = False
    if not check_html(source).problems:
        assert accepted, source


def test_progress() -> None:
    p = Progress(total=10, sent=4, failed=1, unreachable=1, cancelled=0)
    assert p.left == 4 and p.done == 6
    assert progress_bar(p.done, p.total) == "▓▓▓▓▓▓░░░░ 60%"
    assert progress_bar(0, 0) == "▓▓▓▓▓▓▓▓▓▓ 100%"
    assert seconds_left(50, 25.0) == 2 and seconds_left(0, 0.0) == 0
    assert seconds_left(5, 0.0) is None


def _message(text: str, entities: list[MessageEntity]) -> Message:
    return Message(
        message_id=1,
        date=datetime(2026, 11, 25, tzinfo=UTC),
        chat=Chat(id=42, type="private"),
        text=text,
        entities=entities,
    )


def test_html_written_by_hand_is_kept_and_formatting_becomes_html() -> None:
    typed = "<b>Meet</b> at https://x.lv"
    link = MessageEntity(type="url", offset=14, length=12)
    found = content_of(_message(typed, [link]))
    assert found is not None and found[1] == typed
    bold = MessageEntity(type="bold", offset=0, length=4)
    found = content_of(_message("Meet <now>", [bold]))
    assert found is not None and found[1] == "<b>Meet</b> &lt;now&gt;"
