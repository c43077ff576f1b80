"""The Bot API stand-in, driven by a real aiogram Bot over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputPollOption,
    Message,
)

from bot.playground.botapi import (
    MAX_TEXT_LENGTH,
    NOT_MODIFIED,
    BotAPIStandin,
    EntityParseError,
    RateLimit,
    parse_html,
)

PNG = b"\x89PNG\r\n\x1a\n fake chart"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SendHologram(TelegramMethod[bool]):
    """A method that does not exist in the Bot API."""

    __returning__: ClassVar[Any] = bool
    __api_method__: ClassVar[str] = "sendHologram"

    chat_id: int


def make_bot(standin: BotAPIStandin, token: str | None = None) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(standin.base_url))
    return Bot(
        token or standin.token,
        session=session,
        default=DefaultBotProperties(parse_mode="HTML"),
    )


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data)] for text, data in buttons
        ]
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def standin(clock: FakeClock) -> AsyncIterator[BotAPIStandin]:
    async with BotAPIStandin(clock=clock) as running:
        yield running


@pytest.fixture
async def bot(standin: BotAPIStandin) -> AsyncIterator[Bot]:
    bot = make_bot(standin)
    yield bot
    await bot.session.close()


# -- HTML parsing -----------------------------------------------------------------------------


def test_parse_html_gives_plain_text_and_utf16_entities() -> None:
    text, entities = parse_html("😀 <b>Hi</b> &amp; <i>x<u>y</u></i>&#33;")
    assert text == "😀 Hi & xy!"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 2},
        {"type": "italic", "offset": 8, "length": 2},
        {"type": "underline", "offset": 9, "length": 1},
    ]


def test_parse_html_special_tags() -> None:
    source = (
        '<a href="https://x.org/?a=1&amp;b=2">link</a> <tg-spoiler>s</tg-spoiler>'
        ' <span class="tg-spoiler">t</span> <pre><code class="language-py">x = 1</code></pre>'
        ' <blockquote expandable>q</blockquote> <tg-emoji emoji-id="42">👍</tg-emoji>'
    )
    _, entities = parse_html(source)
    assert [entity["type"] for entity in entities] == [
        "text_link", "spoiler", "spoiler", "pre", "expandable_blockquote", "custom_emoji",
    ]  # fmt: skip
    assert entities[0]["url"] == "https://x.org/?a=1&b=2"
    assert entities[3]["language"] == "py"
    assert entities[5]["custom_emoji_id"] == "42"


def test_parse_html_trims_whitespace_like_telegram() -> None:
    assert parse_html("\n  <b> hi </b> \n") == ("hi", [{"type": "bold", "offset": 0, "length": 2}])


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("<b>x", "Can't find end tag"),
        ("x</b>", "Unexpected end tag"),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("a < b", "'<' must be escaped"),
        ("a > b", "'>' must be escaped"),
        ("Tom & Jerry", "'&' must be escaped"),
        ("&nbsp;", "'&' must be escaped"),
        ("<br>", 'Unsupported start tag "br"'),
        ('<span class="x">y</span>', "tg-spoiler"),
        ('<a href="x', "Unclosed start tag"),
    ],
)
def test_parse_html_refuses_what_telegram_refuses(source: str, reason: str) -> None:
    with pytest.raises(EntityParseError, match=reason):
        parse_html(source)


# -- sending and validation -------------------------------------------------------------------


async def test_sent_message_is_stored_and_parsed_by_aiogram(
    standin: BotAPIStandin, bot: Bot
) -> None:
    ann = standin.user(42)
    sent = await bot.send_message(
        ann.id, "<b>Hi</b> &amp; welcome", reply_markup=keyboard(("Go", "go"))
    )
    assert isinstance(sent, Message)
    assert sent.text == "Hi & welcome"
    assert sent.from_user is not None and sent.from_user.username == "mentor_test_bot"
    stored = standin.last_message(ann)
    assert stored.message_id == sent.message_id
    assert stored.text == "Hi & welcome"
    assert stored.entities == [{"type": "bold", "offset": 0, "length": 2}]
    assert stored.buttons == [[("Go", "go")]]
    assert standin.calls("sendMessage", status=200)[0].params["chat_id"] == ann.id


async def test_a_json_body_is_read_with_its_types(standin: BotAPIStandin) -> None:
    ann = standin.user(42)
    url = f"{standin.base_url}/bot{standin.token}/sendMessage"
    body = {
        "chat_id": ann.id,
        "text": "<b>Hi</b>",
        "parse_mode": "HTML",
        "disable_notification": True,
        "reply_markup": {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]},
    }
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
        answer = await response.json()
    assert response.status == 200 and answer["ok"]
    stored = standin.last_message(ann)
    assert stored.text == "Hi" and stored.buttons == [[("Go", "go")]]


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ({"chat_id": "42", "text": 5}, "text must be a string"),
        ({"chat_id": True, "text": "hi"}, "chat_id must be an integer"),
        ({"chat_id": 42, "text": "hi", "disable_notification": "yes"}, "must be a boolean"),
        (["not", "an", "object"], "must be an object"),
    ],
)
async def test_a_json_body_with_wrong_types_is_refused(
    standin: BotAPIStandin, body: Any, description: str
) -> None:
    standin.user(42)
    url = f"{standin.base_url}/bot{standin.token}/sendMessage"
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
        answer = await response.json()
    assert response.status == 400 and description in answer["description"]


async def test_get_me(standin: BotAPIStandin, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.username == "mentor_test_bot"
    assert me.is_bot


async def test_unknown_chat_is_not_found(standin: BotAPIStandin, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999, "hello")


async def test_bad_html_is_refused(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(ann.id, "Tom & <Jerry>")
    assert standin.messages(ann) == []


async def test_text_length_counts_after_entity_parsing(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ann.id, "a" * (MAX_TEXT_LENGTH + 1))
    await bot.send_message(ann.id, "a" * MAX_TEXT_LENGTH)
    formatted = "<b>" + "a" * (MAX_TEXT_LENGTH - 1) + "</b>&amp;"
    assert len(formatted) > MAX_TEXT_LENGTH
    await bot.send_message(ann.id, formatted)
    assert [len(m.text or "") for m in standin.messages(ann)] == [MAX_TEXT_LENGTH] * 2


@pytest.mark.parametrize("text", ["   \n ", "<b> </b>"])
async def test_blank_text_is_empty(standin: BotAPIStandin, bot: Bot, text: str) -> None:
    ann = standin.user(42)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(ann.id, text)


async def test_missing_required_parameter(standin: BotAPIStandin, bot: Bot) -> None:
    class SendMessageWithoutText(TelegramMethod[Message]):
        __returning__: ClassVar[Any] = Message
        __api_method__: ClassVar[str] = "sendMessage"

        chat_id: int

    class DeleteMessageWithoutId(TelegramMethod[bool]):
        __returning__: ClassVar[Any] = bool
        __api_method__: ClassVar[str] = "deleteMessage"

        chat_id: int

    ann = standin.user(42)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot(SendMessageWithoutText(chat_id=ann.id))
    with pytest.raises(TelegramBadRequest, match="message_id is required"):
        await bot(DeleteMessageWithoutId(chat_id=ann.id))


async def test_unknown_parameter_is_refused(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    with pytest.raises(TelegramBadRequest, match="unknown parameter reply_murkup"):
        await bot(SendMessage(chat_id=ann.id, text="hi", reply_murkup="{}"))


async def test_unknown_method_is_404(standin: BotAPIStandin, bot: Bot) -> None:
    with pytest.raises(TelegramNotFound, match="method not found"):
        await bot(SendHologram(chat_id=1))
    assert standin.calls("sendHologram", status=404)


async def test_unimplemented_api_method_is_501(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    with pytest.raises(TelegramServerError, match="sendDice is not supported"):
        await bot.send_dice(ann.id)
    with pytest.raises(TelegramServerError, match="parse_mode MarkdownV2 is not supported"):
        await bot.send_message(ann.id, "*hi*", parse_mode="MarkdownV2")


async def test_wrong_token_is_unauthorized(standin: BotAPIStandin) -> None:
    stranger = make_bot(standin, token="654321:another-token")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await stranger.session.close()


async def test_callback_data_is_limited_to_64_bytes(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    await bot.send_message(ann.id, "ok", reply_markup=keyboard(("A", "é" * 32)))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(ann.id, "too long", reply_markup=keyboard(("A", "x" * 65)))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(ann.id, "too many bytes", reply_markup=keyboard(("A", "é" * 33)))


async def test_inline_button_needs_one_action(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Nothing")]])
    with pytest.raises(TelegramBadRequest, match="text buttons are unallowed"):
        await bot.send_message(ann.id, "x", reply_markup=markup)


# -- editing and deleting ---------------------------------------------------------------------


async def test_edit_message_text(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    sent = await bot.send_message(ann.id, "<b>Question</b>", reply_markup=keyboard(("Yes", "y")))
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "<b>Question</b>",
            chat_id=ann.id,
            message_id=sent.message_id,
            reply_markup=keyboard(("Yes", "y")),
        )
    # The same text without the keyboard is a change: the keyboard goes away.
    edited = await bot.edit_message_text(
        "<b>Question</b>", chat_id=ann.id, message_id=sent.message_id
    )
    assert isinstance(edited, Message) and edited.reply_markup is None
    stored = standin.last_message(ann)
    assert (stored.edits, stored.buttons) == (1, [])
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=ann.id, message_id=999)


async def test_edit_reply_markup_not_modified(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    sent = await bot.send_message(ann.id, "Pick", reply_markup=keyboard(("A", "a")))
    await bot.edit_message_reply_markup(
        chat_id=ann.id, message_id=sent.message_id, reply_markup=keyboard(("B", "b"))
    )
    assert standin.last_message(ann).buttons == [[("B", "b")]]
    with pytest.raises(TelegramBadRequest) as error:
        await bot.edit_message_reply_markup(
            chat_id=ann.id, message_id=sent.message_id, reply_markup=keyboard(("B", "b"))
        )
    assert NOT_MODIFIED in error.value.message


async def test_delete_message(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    sent = await bot.send_message(ann.id, "bye")
    assert await bot.delete_message(ann.id, sent.message_id)
    assert standin.last_message(ann).deleted
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ann.id, sent.message_id)


# -- rate limits ------------------------------------------------------------------------------


async def test_per_chat_limit_answers_429(
    standin: BotAPIStandin, bot: Bot, clock: FakeClock
) -> None:
    ann = standin.user(42)
    for number in range(3):  # the burst
        await bot.send_message(ann.id, f"message {number}")
    with pytest.raises(TelegramRetryAfter) as error:
        await bot.send_message(ann.id, "one too many")
    assert error.value.retry_after == 1
    assert len(standin.messages(ann)) == 3
    assert len(standin.calls("sendMessage", status=429)) == 1
    clock.advance(1)
    await bot.send_message(ann.id, "after a second")
    assert len(standin.messages(ann)) == 4


async def test_edits_count_toward_the_chat_limit(
    standin: BotAPIStandin, bot: Bot, clock: FakeClock
) -> None:
    ann = standin.user(42)
    sent = await bot.send_message(ann.id, "v0")
    await bot.edit_message_text("v1", chat_id=ann.id, message_id=sent.message_id)
    await bot.edit_message_text("v2", chat_id=ann.id, message_id=sent.message_id)
    with pytest.raises(TelegramRetryAfter):
        await bot.edit_message_text("v3", chat_id=ann.id, message_id=sent.message_id)
    assert standin.last_message(ann).text == "v2"


async def test_group_limit(standin: BotAPIStandin, bot: Bot, clock: FakeClock) -> None:
    mentors = standin.group(-100)
    for number in range(20):
        await bot.send_message(mentors.id, f"news {number}")
    with pytest.raises(TelegramRetryAfter) as error:
        await bot.send_message(mentors.id, "one too many")
    assert error.value.retry_after == 3  # 20 per minute: a token every 3 seconds
    clock.advance(3)
    await bot.send_message(mentors.id, "later")


async def test_global_limit() -> None:
    clock = FakeClock()
    limits: dict[str, Any] = {"global_limit": RateLimit(2, 1.0), "chat_limit": None}
    async with BotAPIStandin(clock=clock, **limits) as standin:
        bot = make_bot(standin)
        try:
            users = [standin.user(user_id) for user_id in (1, 2, 3)]
            await bot.send_message(users[0].id, "a")
            await bot.send_message(users[1].id, "b")
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(users[2].id, "c")
            clock.advance(0.5)
            await bot.send_message(users[2].id, "c")
        finally:
            await bot.session.close()


async def test_inject_429(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    standin.inject_429(retry_after=5, count=2, method="sendMessage")
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as error:
            await bot.send_message(ann.id, "hi")
        assert error.value.retry_after == 5
    await bot.send_chat_action(ann.id, "typing")  # other methods are not affected
    await bot.send_message(ann.id, "hi")
    assert [m.text for m in standin.messages(ann)] == ["hi"]


# -- users ------------------------------------------------------------------------------------


async def test_blocked_user(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    standin.block(ann)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ann.id, "hello?")
    [update] = await bot.get_updates()
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"
    standin.unblock(ann)
    await bot.send_message(ann.id, "welcome back")


async def test_get_updates_offset_semantics(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    first = await standin.send_command(ann, "/start")
    second = await standin.send_text(ann, "hello")
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [first, second]
    assert updates[0].message is not None and updates[0].message.entities is not None
    assert updates[0].message.entities[0].type == "bot_command"
    # Unconfirmed updates come again.
    assert [u.update_id for u in await bot.get_updates()] == [first, second]
    # An offset confirms everything below it.
    assert [u.update_id for u in await bot.get_updates(offset=second)] == [second]
    assert standin.unconfirmed_update_ids == [second]
    assert await bot.get_updates(offset=second + 1) == []
    assert standin.unconfirmed_update_ids == []
    # Confirmed updates are gone for good.
    assert await bot.get_updates(offset=first) == []
    # A redelivery brings the very same update back once.
    standin.redeliver(first)
    [again] = await bot.get_updates(offset=second + 1)
    assert again.update_id == first
    assert again.message is not None and again.message.text == "/start"
    assert await bot.get_updates(offset=first + 1) == []


async def test_long_polling_wakes_up_on_a_new_update(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.1)  # let the request reach the stand-in
    assert not poll.done()
    sent = await standin.send_text(ann, "hello")
    updates = await asyncio.wait_for(poll, timeout=5)
    assert [u.update_id for u in updates] == [sent]


async def test_allowed_updates_filter_new_updates(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    await bot.send_message(ann.id, "Pick", reply_markup=keyboard(("A", "a")))
    assert await bot.get_updates(allowed_updates=["callback_query"]) == []
    await standin.send_text(ann, "ignored")
    pressed = await standin.press(ann, "A")
    [update] = await bot.get_updates()
    assert update.update_id == pressed
    assert update.callback_query is not None
    assert await bot.answer_callback_query(update.callback_query.id)
    assert not standin.unanswered_callbacks


async def test_press_queues_a_callback_query(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    sent = await bot.send_message(ann.id, "Ready?", reply_markup=keyboard(("Yes", "ready:yes")))
    await bot.send_message(ann.id, "No buttons here")
    update_id = await standin.press(ann, "Yes")
    [update] = await bot.get_updates()
    query = update.callback_query
    assert update.update_id == update_id and query is not None
    assert query.data == "ready:yes"
    assert query.from_user.id == ann.id
    assert isinstance(query.message, Message) and query.message.message_id == sent.message_id
    assert standin.unanswered_callbacks == [(update_id, "ready:yes")]
    assert await bot.answer_callback_query(query.id, text="Noted")
    assert standin.answered_callbacks[0].data == "ready:yes"
    assert standin.unanswered_callbacks == []
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(AssertionError, match="'Yes'"):
        await standin.press(ann, "Maybe")


async def test_wait_for_message(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)

    async def reply_later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(ann.id, "Welcome, Ann!")

    task = asyncio.create_task(reply_later())
    message = await standin.wait_for_message(ann, contains="Welcome")
    assert message.text == "Welcome, Ann!"
    await task
    with pytest.raises(AssertionError, match="Welcome, Ann!"):
        await standin.wait_for_message(ann, count=2, timeout=0.1)


# -- files, copies, polls, commands -----------------------------------------------------------


async def test_send_photo_upload_is_stored(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    sent = await bot.send_photo(
        ann.id, BufferedInputFile(PNG, "wheel.png"), caption="<i>Your wheel</i>"
    )
    assert sent.photo is not None and sent.caption == "Your wheel"
    stored = standin.last_message(ann)
    assert (stored.photo, stored.caption) == (PNG, "Your wheel")
    await bot.send_photo(ann.id, sent.photo[-1].file_id)  # resent by file_id
    assert standin.last_message(ann).photo == PNG
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(ann.id, BufferedInputFile(PNG, "x.png"), caption="c" * 1025)
    with pytest.raises(TelegramBadRequest, match="file must be non-empty"):
        await bot.send_photo(ann.id, BufferedInputFile(b"", "empty.png"))


async def test_send_document(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    sent = await bot.send_document(ann.id, BufferedInputFile(b"a,b\n1,2\n", "report.csv"))
    assert sent.document is not None and sent.document.file_name == "report.csv"
    stored = standin.last_message(ann)
    assert (stored.document, stored.document_name) == (b"a,b\n1,2\n", "report.csv")


async def test_copy_message_of_a_user_photo(standin: BotAPIStandin, bot: Bot) -> None:
    ann, bob = standin.user(42), standin.user(43, "Bob")
    await standin.send_photo(ann, caption="my notes")
    [update] = await bot.get_updates()
    assert update.message is not None
    copied = await bot.copy_message(bob.id, ann.id, update.message.message_id)
    stored = standin.last_message(bob)
    assert stored.message_id == copied.message_id
    assert stored.caption == "my notes" and "photo" in stored.media


async def test_send_poll(standin: BotAPIStandin, bot: Bot) -> None:
    ann = standin.user(42)
    sent = await bot.send_poll(
        ann.id,
        "How was the <b>session</b>?",
        [InputPollOption(text="Great"), InputPollOption(text="Meh")],
        is_anonymous=False,
    )
    assert sent.poll is not None and sent.poll.question == "How was the session?"
    poll = standin.last_message(ann).poll
    assert poll is not None and [o["text"] for o in poll["options"]] == ["Great", "Meh"]


async def test_a_quiz_needs_its_right_answer_and_answers_come_as_updates(
    standin: BotAPIStandin, bot: Bot
) -> None:
    ann = standin.user(42)
    options = [InputPollOption(text="Goal"), InputPollOption(text="Growth")]
    with pytest.raises(TelegramBadRequest, match="correct option"):
        await bot.send_poll(ann.id, "G?", options, type="quiz", is_anonymous=False)
    with pytest.raises(TelegramBadRequest, match="correct option"):
        await bot.send_poll(
            ann.id, "G?", options, type="quiz", correct_option_ids=[2], is_anonymous=False
        )
    await bot.send_poll(
        ann.id, "G?", options, type="quiz", correct_option_ids=[0], is_anonymous=False
    )
    quiz = standin.last_message(ann)
    assert quiz.poll is not None and quiz.poll["correct_option_ids"] == [0]
    await standin.answer_poll(ann, quiz, [1])
    with pytest.raises(AssertionError, match="changing the answer"):
        await standin.answer_poll(ann, quiz, [0])
    answered, state = await bot.get_updates(allowed_updates=["poll_answer", "poll"])
    assert answered.poll_answer is not None and answered.poll_answer.option_ids == [1]
    assert answered.poll_answer.user is not None and answered.poll_answer.user.id == ann.id
    # Of every poll it sent, the bot is told the totals as they change.
    assert state.poll is not None and [o.voter_count for o in state.poll.options] == [0, 1]
    assert quiz.poll["options"][1]["voter_count"] == 1

    # A regular poll may be answered again; an anonymous one tells the bot only the totals.
    await bot.send_poll(ann.id, "When?", options, is_anonymous=False)
    poll = standin.last_message(ann)
    await standin.answer_poll(ann, poll, [0])
    await standin.answer_poll(ann, poll, [])
    await bot.send_poll(ann.id, "Secret?", options)
    assert await standin.answer_poll(ann, standin.last_message(ann), [1]) is None
    updates = await bot.get_updates(offset=state.update_id + 1)
    assert [u.poll_answer.option_ids for u in updates if u.poll_answer] == [[0], []]
    totals = [(u.poll.question, u.poll.total_voter_count) for u in updates if u.poll]
    assert totals == [("When?", 1), ("When?", 0), ("Secret?", 1)]


async def test_a_poll_with_an_open_period_closes_and_the_bot_is_told(
    standin: BotAPIStandin, bot: Bot
) -> None:
    ann = standin.user(42)
    options = [InputPollOption(text="Goal"), InputPollOption(text="Growth")]
    with pytest.raises(TelegramBadRequest, match="open period"):
        await bot.send_poll(ann.id, "G?", options, open_period=4)
    with pytest.raises(TelegramBadRequest, match="together"):
        await bot.send_poll(ann.id, "G?", options, open_period=10, close_date=int(time.time()) + 60)
    sent = await bot.send_poll(ann.id, "G?", options, open_period=10)
    assert sent.poll is not None and sent.poll.open_period == 10 and sent.poll.close_date
    message = standin.last_message(ann)
    standin.close_poll(message)
    with pytest.raises(AssertionError, match="closed"):
        await standin.answer_poll(ann, message, [0])
    [update] = await bot.get_updates()
    assert update.poll is not None and update.poll.is_closed


async def test_commands_are_stored_by_language_and_scope(standin: BotAPIStandin, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands(
        [BotCommand(command="start", description="Начать")], language_code="ru"
    )
    await bot.set_my_commands(
        [BotCommand(command="help", description="Help")], scope=BotCommandScopeAllPrivateChats()
    )
    assert standin.commands == {"": [("start", "Start")], "ru": [("start", "Начать")]}
    assert standin.command_sets[("all_private_chats", "")] == [("help", "Help")]
    [command] = await bot.get_my_commands(language_code="ru")
    assert command.description == "Начать"
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start!", description="x")])
    assert await bot.set_my_description("A mentoring bot")
    assert await bot.set_my_short_description("Mentoring")
    assert standin.descriptions == {"": "A mentoring bot"}
