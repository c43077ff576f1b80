"""A Bot API server over HTTP with simulated people: the playground's Telegram and the
end-to-end tests'.

The real bot talks to it through ``TelegramAPIServer.from_base(server.base_url)``; the
playground's page and the tests act as Telegram users (``send_text``, ``press``, ``block``,
...) and read what the bot sent (``messages``, ``requests``). It answers with Telegram's
envelope and refuses a request where Telegram would, and it is stricter than Telegram on
purpose where that catches bugs:

* an unknown parameter is refused (Telegram silently ignores it);
* with ``parse_mode="HTML"`` every ``<``, ``>`` and ``&`` outside a tag or an entity is refused;
* a Bot API method it does not implement answers 501, so a test notices.

The facts it checks (method names, parameters, limits) are those of Bot API 10.1, written out
below (checked against Telegram's published description of the API); it reads no file at run
time, so an installed bot has all it needs.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import copy
import dataclasses
import itertools
import json
import math
import mimetypes
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

JsonDict = dict[str, Any]
Params = dict[str, Any]

DEFAULT_TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
BOT_USERNAME = "mentor_test_bot"
BOT_FIRST_NAME = "Mentor Test Bot"

# --------------------------------------------------------------------------------------------
# Bot API 10.1 facts
# --------------------------------------------------------------------------------------------

BOT_API_METHODS = frozenset({
    "addStickerToSet", "answerCallbackQuery", "answerChatJoinRequestQuery", "answerGuestQuery",
    "answerInlineQuery", "answerPreCheckoutQuery", "answerShippingQuery", "answerWebAppQuery",
    "approveChatJoinRequest", "approveSuggestedPost", "banChatMember", "banChatSenderChat",
    "close", "closeForumTopic", "closeGeneralForumTopic", "convertGiftToStars", "copyMessage",
    "copyMessages", "createChatInviteLink", "createChatSubscriptionInviteLink",
    "createForumTopic", "createInvoiceLink", "createNewStickerSet", "declineChatJoinRequest",
    "declineSuggestedPost", "deleteAllMessageReactions", "deleteBusinessMessages",
    "deleteChatPhoto", "deleteChatStickerSet", "deleteForumTopic", "deleteMessage",
    "deleteMessageReaction", "deleteMessages", "deleteMyCommands", "deleteStickerFromSet",
    "deleteStickerSet", "deleteStory", "deleteWebhook", "editChatInviteLink",
    "editChatSubscriptionInviteLink", "editForumTopic", "editGeneralForumTopic",
    "editMessageCaption", "editMessageChecklist", "editMessageLiveLocation",
    "editMessageMedia", "editMessageReplyMarkup", "editMessageText", "editStory",
    "editUserStarSubscription", "exportChatInviteLink", "forwardMessage", "forwardMessages",
    "getAvailableGifts", "getBusinessAccountGifts", "getBusinessAccountStarBalance",
    "getBusinessConnection", "getChat", "getChatAdministrators", "getChatGifts",
    "getChatMember", "getChatMemberCount", "getChatMenuButton", "getCustomEmojiStickers",
    "getFile", "getForumTopicIconStickers", "getGameHighScores", "getManagedBotAccessSettings",
    "getManagedBotToken", "getMe", "getMyCommands", "getMyDefaultAdministratorRights",
    "getMyDescription", "getMyName", "getMyShortDescription", "getMyStarBalance",
    "getStarTransactions", "getStickerSet", "getUpdates", "getUserChatBoosts", "getUserGifts",
    "getUserPersonalChatMessages", "getUserProfileAudios", "getUserProfilePhotos",
    "getWebhookInfo", "giftPremiumSubscription", "hideGeneralForumTopic", "leaveChat",
    "logOut", "pinChatMessage", "postStory", "promoteChatMember", "readBusinessMessage",
    "refundStarPayment", "removeBusinessAccountProfilePhoto", "removeChatVerification",
    "removeMyProfilePhoto", "removeUserVerification", "reopenForumTopic",
    "reopenGeneralForumTopic", "replaceManagedBotToken", "replaceStickerInSet", "repostStory",
    "restrictChatMember", "revokeChatInviteLink", "savePreparedInlineMessage",
    "savePreparedKeyboardButton", "sendAnimation", "sendAudio", "sendChatAction",
    "sendChatJoinRequestWebApp", "sendChecklist", "sendContact", "sendDice", "sendDocument",
    "sendGame", "sendGift", "sendInvoice", "sendLivePhoto", "sendLocation", "sendMediaGroup",
    "sendMessage", "sendMessageDraft", "sendPaidMedia", "sendPhoto", "sendPoll",
    "sendRichMessage", "sendRichMessageDraft", "sendSticker", "sendVenue", "sendVideo",
    "sendVideoNote", "sendVoice", "setBusinessAccountBio", "setBusinessAccountGiftSettings",
    "setBusinessAccountName", "setBusinessAccountProfilePhoto", "setBusinessAccountUsername",
    "setChatAdministratorCustomTitle", "setChatDescription", "setChatMemberTag",
    "setChatMenuButton", "setChatPermissions", "setChatPhoto", "setChatStickerSet",
    "setChatTitle", "setCustomEmojiStickerSetThumbnail", "setGameScore",
    "setManagedBotAccessSettings", "setMessageReaction", "setMyCommands",
    "setMyDefaultAdministratorRights", "setMyDescription", "setMyName", "setMyProfilePhoto",
    "setMyShortDescription", "setPassportDataErrors", "setStickerEmojiList",
    "setStickerKeywords", "setStickerMaskPosition", "setStickerPositionInSet",
    "setStickerSetThumbnail", "setStickerSetTitle", "setUserEmojiStatus", "setWebhook",
    "stopMessageLiveLocation", "stopPoll", "transferBusinessAccountStars", "transferGift",
    "unbanChatMember", "unbanChatSenderChat", "unhideGeneralForumTopic",
    "unpinAllChatMessages", "unpinAllForumTopicMessages", "unpinAllGeneralForumTopicMessages",
    "unpinChatMessage", "upgradeGift", "uploadStickerFile", "verifyChat", "verifyUser",
})  # fmt: skip
# Telegram matches method names case-insensitively.
_CANONICAL_METHODS = {name.lower(): name for name in BOT_API_METHODS}

MAX_TEXT_LENGTH = 4096  # characters after entity parsing
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_POLL_QUESTION_LENGTH = 300
MAX_POLL_OPTION_LENGTH = 100
MIN_POLL_OPTIONS, MAX_POLL_OPTIONS = 1, 12
MAX_POLL_EXPLANATION_LENGTH = 200
MAX_POLL_DESCRIPTION_LENGTH = 1024
MAX_POLL_OPEN_PERIOD = 2_628_000
MAX_COMMANDS = 100
MAX_COMMAND_DESCRIPTION_LENGTH = 256
MAX_DESCRIPTION_LENGTH = 512
MAX_SHORT_DESCRIPTION_LENGTH = 120
MAX_UPDATES_LIMIT = 100
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})  # fmt: skip
COMMAND_SCOPES = frozenset({
    "default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
    "chat_administrators", "chat_member",
})  # fmt: skip
# Update types delivered only when asked for explicitly in allowed_updates.
UPDATE_TYPES_OFF_BY_DEFAULT = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)
INLINE_BUTTON_ACTIONS = frozenset({
    "callback_data", "url", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
})  # fmt: skip
INLINE_BUTTON_FIELDS = INLINE_BUTTON_ACTIONS | {"text", "icon_custom_emoji_id", "style"}
# Message fields that carry media, copied by copyMessage.
_MEDIA_FIELDS = frozenset({"photo", "document", "sticker", "voice", "poll"})

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the"
    " same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


@dataclass(frozen=True)
class _Spec:
    """Parameters of one method: which are required, and the kind of value of each."""

    required: tuple[str, ...]
    kinds: dict[str, str]  # "str" | "int" | "bool" | "chat" (int or @username) | "json" | "file"


def _spec(required: str = "", optional: str = "") -> _Spec:
    """Build a spec from space-separated ``name`` or ``name:kind`` words (kind defaults to str)."""
    kinds: dict[str, str] = {}
    for word in f"{required} {optional}".split():
        name, _, kind = word.partition(":")
        kinds[name] = kind or "str"
    return _Spec(tuple(word.partition(":")[0] for word in required.split()), kinds)


_SEND_OPTIONS = (
    "business_connection_id message_thread_id:int disable_notification:bool"
    " protect_content:bool allow_paid_broadcast:bool message_effect_id reply_parameters:json"
    " reply_markup:json"
    # No longer documented but still accepted by Telegram; aiogram sends them from bot defaults.
    " reply_to_message_id:int allow_sending_without_reply:bool"
)
_SEND_TO_TOPIC_OPTIONS = (
    f"{_SEND_OPTIONS} direct_messages_topic_id:int suggested_post_parameters:json"
)

_SPECS: dict[str, _Spec] = {
    "getUpdates": _spec("", "offset:int limit:int timeout:int allowed_updates:json"),
    "deleteWebhook": _spec("", "drop_pending_updates:bool"),
    "setWebhook": _spec(
        "url",
        "certificate ip_address max_connections:int allowed_updates:json"
        " drop_pending_updates:bool secret_token",
    ),
    "getMe": _spec(),
    "setMyCommands": _spec("commands:json", "scope:json language_code"),
    "getMyCommands": _spec("", "scope:json language_code"),
    "setMyDescription": _spec("", "description language_code"),
    "setMyShortDescription": _spec("", "short_description language_code"),
    "setChatMenuButton": _spec("", "chat_id:int menu_button:json"),
    "sendMessage": _spec(
        "chat_id:chat text",
        "parse_mode entities:json link_preview_options:json disable_web_page_preview:bool "
        + _SEND_TO_TOPIC_OPTIONS,
    ),
    "editMessageText": _spec(
        "",
        "business_connection_id chat_id:chat message_id:int inline_message_id text parse_mode"
        " entities:json link_preview_options:json disable_web_page_preview:bool"
        " rich_message:json reply_markup:json",
    ),
    "editMessageReplyMarkup": _spec(
        "", "business_connection_id chat_id:chat message_id:int inline_message_id reply_markup:json"
    ),
    "deleteMessage": _spec("chat_id:chat message_id:int"),
    "answerCallbackQuery": _spec("callback_query_id", "text show_alert:bool url cache_time:int"),
    "sendPhoto": _spec(
        "chat_id:chat photo:file",
        "caption parse_mode caption_entities:json show_caption_above_media:bool has_spoiler:bool "
        + _SEND_TO_TOPIC_OPTIONS,
    ),
    "sendDocument": _spec(
        "chat_id:chat document:file",
        "thumbnail:file caption parse_mode caption_entities:json"
        " disable_content_type_detection:bool " + _SEND_TO_TOPIC_OPTIONS,
    ),
    "sendChatAction": _spec("chat_id:chat action", "business_connection_id message_thread_id:int"),
    "copyMessage": _spec(
        "chat_id:chat from_chat_id:chat message_id:int",
        "video_start_timestamp:int caption parse_mode caption_entities:json"
        " show_caption_above_media:bool " + _SEND_TO_TOPIC_OPTIONS,
    ),
    "sendPoll": _spec(
        "chat_id:chat question options:json",
        "question_parse_mode question_entities:json is_anonymous:bool type"
        " allows_multiple_answers:bool allows_revoting:bool shuffle_options:bool"
        " allow_adding_options:bool hide_results_until_closes:bool members_only:bool"
        " country_codes:json correct_option_ids:json explanation explanation_parse_mode"
        " explanation_entities:json explanation_media:json open_period:int close_date:int"
        " is_closed:bool description description_parse_mode description_entities:json"
        " media:json " + _SEND_OPTIONS,
    ),
}
# Methods that send a message: they count toward the global and the per-chat limit.
SENDING_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "copyMessage", "sendPoll"})
# Methods subject to rate limits (edits count toward the per-chat limit only).
THROTTLED_METHODS = SENDING_METHODS | {"editMessageText"}
_MISSING = {"text": "message text is empty"}


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class _ApiError(Exception):
    """An error answer of the API: HTTP status == error_code."""

    def __init__(
        self,
        status: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def body(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        parameters: JsonDict = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        if parameters:
            body["parameters"] = parameters
        return body


def _bad(reason: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {reason}")


def _not_supported(what: str) -> _ApiError:
    return _ApiError(501, f"Not Implemented: {what} is not supported by the stand-in")


def _too_many(retry_after: int) -> _ApiError:
    return _ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


# --------------------------------------------------------------------------------------------
# Formatting: Telegram's HTML, parsed strictly
# --------------------------------------------------------------------------------------------


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; the API answers "can't parse entities: <reason>"."""


_TAG_ENTITIES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "span": "spoiler", "tg-spoiler": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}  # fmt: skip
_NAME = re.compile(r"[A-Za-z0-9-]*")
_CHAR_REF = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_NAMED_CHAR_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of entity offsets and lengths."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[JsonDict]]:
    """Return the text Telegram shows for ``source`` in HTML parse mode, and its entities.

    Raises EntityParseError where Telegram (or, for stray ``<``, ``>``, ``&``, its documented
    rules) refuses the text. Leading and trailing whitespace is trimmed, as Telegram does.
    """
    text, entities = _HtmlParser(source).parse()
    return _strip(text, entities)


def _strip(text: str, entities: list[JsonDict]) -> tuple[str, list[JsonDict]]:
    """Trim surrounding whitespace like Telegram, shifting and clipping the entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    end = lead + utf16_len(stripped)
    kept = []
    for entity in entities:
        start, stop = max(entity["offset"], lead), min(entity["offset"] + entity["length"], end)
        if stop > start:
            kept.append({**entity, "offset": start - lead, "length": stop - start})
    return stripped, kept


@dataclass
class _OpenTag:
    name: str
    entity: JsonDict | None  # None: the tag makes no entity of its own


class _HtmlParser:
    """A small state machine over the source: text, character references, start and end tags."""

    def __init__(self, source: str) -> None:
        self._src = source
        self._pos = 0
        self._out: list[str] = []
        self._offset = 0  # UTF-16 length of the output so far
        self._stack: list[_OpenTag] = []
        self._entities: list[JsonDict] = []

    def parse(self) -> tuple[str, list[JsonDict]]:
        while self._pos < len(self._src):
            char = self._src[self._pos]
            if char == "<":
                self._tag()
            elif char == "&":
                self._emit(self._char_ref())
            elif char == ">":
                raise self._error("Character '>' must be escaped as &gt;")
            else:
                self._emit(char)
                self._pos += 1
        if self._stack:
            name = self._stack[-1].name
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{name}"')
        return "".join(self._out), [e for e in self._entities if e["length"] > 0]

    def _error(self, reason: str, at: int | None = None, details: str = "") -> EntityParseError:
        position = self._pos if at is None else at
        offset = len(self._src[:position].encode())
        return EntityParseError(f"{reason} at byte offset {offset}{details}")

    def _peek(self) -> str:
        return self._src[self._pos] if self._pos < len(self._src) else ""

    def _emit(self, text: str) -> None:
        self._out.append(text)
        self._offset += utf16_len(text)

    def _name(self) -> str:
        match = _NAME.match(self._src, self._pos)
        assert match is not None  # the pattern matches the empty string
        self._pos = match.end()
        return match.group().lower()

    def _skip_spaces(self) -> None:
        while self._peek() and self._peek() in " \t\r\n":
            self._pos += 1

    def _char_ref(self) -> str:
        match = _CHAR_REF.match(self._src, self._pos)
        if match is None:
            raise self._error("Character '&' must be escaped as &amp;")
        decimal, hexadecimal, named = match.groups()
        if named:
            char = _NAMED_CHAR_REFS[named]
        else:
            code = int(decimal) if decimal else int(hexadecimal, 16)
            if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise self._error("Invalid numeric character reference")
            char = chr(code)
        self._pos = match.end()
        return char

    def _tag(self) -> None:
        start = self._pos
        self._pos += 1
        if self._peek() == "/":
            self._pos += 1
            self._close(self._name(), start)
            return
        name = self._name()
        if not name:
            raise self._error("Character '<' must be escaped as &lt;", start)
        if name not in _TAG_ENTITIES:
            raise self._error(f'Unsupported start tag "{name}"', start)
        self._open(name, self._attributes(name, start), start)

    def _attributes(self, tag: str, start: int) -> dict[str, str]:
        attributes: dict[str, str] = {}
        while True:
            self._skip_spaces()
            char = self._peek()
            if not char:
                raise self._error("Unclosed start tag", start)
            if char == ">":
                self._pos += 1
                return attributes
            name = self._name()
            if not name:
                raise self._error(f'Empty attribute name in the tag "{tag}"')
            self._skip_spaces()
            if self._peek() == "=":
                self._pos += 1
                self._skip_spaces()
                attributes[name] = self._attribute_value(start)
            else:
                attributes[name] = ""

    def _attribute_value(self, start: int) -> str:
        quote = self._peek()
        if quote not in ("'", '"'):
            begin = self._pos
            while self._peek() and self._peek() not in " \t\r\n>":
                self._pos += 1
            return self._src[begin : self._pos]
        self._pos += 1
        value: list[str] = []
        while (char := self._peek()) != quote:
            if not char:
                raise self._error("Unclosed start tag", start)
            if char == "&":
                value.append(self._char_ref())
            else:
                value.append(char)
                self._pos += 1
        self._pos += 1
        return "".join(value)

    def _open(self, name: str, attributes: dict[str, str], start: int) -> None:
        entity: JsonDict = {"type": _TAG_ENTITIES[name], "offset": self._offset, "length": 0}
        makes_entity = True
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise self._error('Tag "span" must have class "tg-spoiler"', start)
        if name == "a":
            entity["url"] = attributes.get("href", "")
            makes_entity = bool(entity["url"])
        elif name == "tg-emoji":
            if not attributes.get("emoji-id"):
                raise self._error('Tag "tg-emoji" must have attribute "emoji-id"', start)
            entity["custom_emoji_id"] = attributes["emoji-id"]
        elif name == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif name == "code" and self._stack and self._stack[-1].name == "pre":
            # <pre><code class="language-x">: one "pre" entity with a language.
            pre, css_class = self._stack[-1].entity, attributes.get("class", "")
            if pre is not None and css_class.startswith("language-"):
                pre["language"] = css_class.removeprefix("language-")
            makes_entity = False
        if makes_entity:
            self._entities.append(entity)
        self._stack.append(_OpenTag(name, entity if makes_entity else None))

    def _close(self, name: str, start: int) -> None:
        self._skip_spaces()
        if self._peek() != ">":
            raise self._error("Unclosed end tag", start)
        self._pos += 1
        if not self._stack:
            raise self._error("Unexpected end tag", start)
        tag = self._stack.pop()
        if tag.name != name:
            expected = f', expected "</{tag.name}>", found "</{name}>"'
            raise self._error("Unmatched end tag", start, expected)
        if tag.entity is not None:
            tag.entity["length"] = self._offset - tag.entity["offset"]


def _parse_text(source: str, parse_mode: str | None) -> tuple[str, list[JsonDict]]:
    if parse_mode is None:
        return _strip(source, [])
    mode = parse_mode.lower()
    if mode == "html":
        try:
            return parse_html(source)
        except EntityParseError as error:
            raise _bad(f"can't parse entities: {error}") from None
    if mode in ("markdown", "markdownv2"):
        raise _not_supported(f"parse_mode {parse_mode}")
    raise _bad("unsupported parse_mode")


def _formatted(
    params: Params, key: str, entities_key: str, mode_key: str, limit: int, too_long: str
) -> tuple[str, list[JsonDict]]:
    """The text of ``params[key]`` after entity parsing, checked against ``limit`` characters."""
    source = params.get(key, "")
    if entities_key in params:
        if not isinstance(params[entities_key], list):
            raise _bad(f"can't parse {entities_key} JSON object")
        text, entities = _strip(source, params[entities_key])
    else:
        text, entities = _parse_text(source, params.get(mode_key))
    if len(text) > limit:
        raise _bad(too_long)
    return text, entities


# --------------------------------------------------------------------------------------------
# Request parameters and reply markup
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A file uploaded in a multipart request."""

    filename: str
    content: bytes
    content_type: str


async def _read_params(request: web.Request) -> dict[str, Any]:
    """The query string and the body: a form, a multipart form with files, or a JSON object
    (whose values come typed)."""
    raw: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise _bad("can't parse JSON request body") from None
        if not isinstance(body, dict):
            raise _bad("the JSON request body must be an object")
        raw.update(body)
        return raw
    for name, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            raw[name] = Upload(value.filename, value.file.read(), value.content_type)
        elif isinstance(value, str):
            raw[name] = value
        else:
            raw[name] = bytes(value).decode()
    return raw


def _convert_params(spec: _Spec, raw: dict[str, Any]) -> Params:
    """Check names against the spec and turn the form values into Python values."""
    attachments = {
        value.removeprefix("attach://")
        for value in raw.values()
        if isinstance(value, str) and value.startswith("attach://")
    }
    params: Params = {}
    for name, value in raw.items():
        if name in attachments:
            continue
        kind = spec.kinds.get(name)
        if kind is None:
            raise _bad(f"unknown parameter {name}")
        if isinstance(value, str) and value.startswith("attach://"):
            attached = raw.get(value.removeprefix("attach://"))
            if attached is None:
                raise _bad(f"can't find the file attached as {name}")
            value = attached
        params[name] = _convert_value(name, kind, value)
    for name in spec.required:
        if name not in params:
            raise _bad(_MISSING.get(name, f"{name} is required"))
    return params


def _convert_value(name: str, kind: str, value: Any) -> Any:
    if isinstance(value, Upload):
        if kind != "file":
            raise _bad(f"{name} can't be a file")
        return value
    if not isinstance(value, str):
        return _typed_value(name, kind, value)
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            raise _bad(f"{name} must be an integer") from None
    if kind == "bool":
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
        raise _bad(f"{name} must be a boolean")
    if kind == "chat":
        return int(value) if re.fullmatch(r"-?\d+", value) else value
    if kind == "json":
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {name} JSON object") from None
    return value


def _typed_value(name: str, kind: str, value: Any) -> Any:
    """A value of a JSON request body, which comes typed."""
    if kind == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
        raise _bad(f"{name} must be an integer")
    if kind == "bool" and not isinstance(value, bool):
        raise _bad(f"{name} must be a boolean")
    if kind == "chat" and not (isinstance(value, int) and not isinstance(value, bool)):
        raise _bad(f"{name} must be an integer or a string")
    if kind not in ("int", "bool", "chat", "json"):
        raise _bad(f"{name} must be a string")
    return value


def _reply_markup(markup: Any, *, inline_only: bool = False) -> JsonDict | None:
    """Validate a reply_markup; an empty inline keyboard means none."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = _keyboard_rows(markup["inline_keyboard"])
        for row in rows:
            for button in row:
                _check_inline_button(button)
        return markup if any(rows) else None
    if inline_only:
        raise _bad("inline keyboard expected")
    if "keyboard" in markup:
        for row in _keyboard_rows(markup["keyboard"]):
            for button in row:
                text = button.get("text") if isinstance(button, dict) else button
                if not isinstance(text, str) or not text:
                    raise _bad("keyboard button text must be non-empty")
        return markup
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return markup
    raise _bad("can't parse reply keyboard markup JSON object")


def _keyboard_rows(rows: Any) -> list[list[Any]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad("can't parse reply keyboard markup JSON object")
    return rows


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise _bad("can't parse inline keyboard button JSON object")
    unknown = sorted(set(button) - INLINE_BUTTON_FIELDS)
    if unknown:
        raise _bad(f"unknown inline keyboard button field {unknown[0]}")
    if not isinstance(button.get("text"), str) or not button["text"]:
        raise _bad("inline keyboard button text must be non-empty")
    actions = sorted(INLINE_BUTTON_ACTIONS & set(button))
    if not actions:
        raise _bad("text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise _bad(f"inline keyboard button must have exactly one action, got {actions}")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise _bad("BUTTON_DATA_INVALID")


def _scope_key(scope: Any) -> str:
    """A key for a BotCommandScope: its type, plus chat_id and user_id when present."""
    if scope is None:
        return "default"
    if not isinstance(scope, dict) or scope.get("type") not in COMMAND_SCOPES:
        raise _bad("wrong bot command scope")
    return ":".join(str(scope[key]) for key in ("type", "chat_id", "user_id") if key in scope)


# --------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimUser:
    """A simulated Telegram user; their private chat with the bot has the same id."""

    id: int
    first_name: str = "Ann"
    language_code: str | None = "en"
    last_name: str | None = None
    username: str | None = None

    def to_api(self) -> JsonDict:
        user: JsonDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        optional = {
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
        }
        user.update({key: value for key, value in optional.items() if value is not None})
        return user

    def chat_api(self) -> JsonDict:
        chat: JsonDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        optional = {"last_name": self.last_name, "username": self.username}
        chat.update({key: value for key, value in optional.items() if value is not None})
        return chat


@dataclass(frozen=True)
class SimGroup:
    """A simulated group chat the bot is a member of (negative id)."""

    id: int
    title: str = "Mentors"

    def chat_api(self) -> JsonDict:
        kind = "supergroup" if self.id <= -1_000_000_000_000 else "group"
        return {"id": self.id, "type": kind, "title": self.title}


ChatRef = SimUser | SimGroup | int


@dataclass
class BotMessage:
    """A message the bot sent, kept up to date by edits and deletions."""

    message_id: int
    chat: JsonDict
    date: int
    text: str | None = None
    entities: list[JsonDict] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JsonDict] = field(default_factory=list)
    reply_markup: JsonDict | None = None  # as sent: inline keyboard, reply keyboard, ...
    photo: bytes | None = None  # uploaded bytes (None for a copy of a user's photo)
    document: bytes | None = None
    document_name: str | None = None
    media: JsonDict = field(default_factory=dict)  # API fields: photo sizes, document, poll, ...
    edits: int = 0
    edit_date: int | None = None
    deleted: bool = False

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    @property
    def inline_markup(self) -> JsonDict | None:
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            return self.reply_markup
        return None

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard rows as (text, callback_data) pairs."""
        rows = self.inline_markup["inline_keyboard"] if self.inline_markup else []
        return [[(button["text"], button.get("callback_data")) for button in row] for row in rows]

    @property
    def poll(self) -> JsonDict | None:
        return self.media.get("poll")

    def to_api(self, sender: JsonDict) -> JsonDict:
        message: JsonDict = {
            "message_id": self.message_id,
            "from": sender,
            "chat": self.chat,
            "date": self.date,
            **self.media,
        }
        if self.text is not None:
            message["text"] = self.text
            if self.entities:
                message["entities"] = self.entities
        if self.caption is not None:
            message["caption"] = self.caption
            if self.caption_entities:
                message["caption_entities"] = self.caption_entities
        if self.inline_markup:
            message["reply_markup"] = self.inline_markup
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        return message


@dataclass(frozen=True)
class ApiCall:
    """One request the bot made, with its answer's HTTP status."""

    method: str
    params: Params
    status: int
    description: str | None = None
    at: float = 0.0  # the stand-in's clock when it answered


@dataclass(frozen=True)
class AnsweredCallback:
    query_id: str
    data: str  # callback_data of the pressed button
    text: str | None
    show_alert: bool
    url: str | None


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``burst`` requests at once (default ``count``), ``count`` per ``per`` s."""

    count: int
    per: float
    burst: int | None = None


DEFAULT_GLOBAL_LIMIT = RateLimit(30, 1.0)
DEFAULT_CHAT_LIMIT = RateLimit(1, 1.0, burst=3)
DEFAULT_GROUP_LIMIT = RateLimit(20, 60.0)


class _TokenBucket:
    def __init__(self, limit: RateLimit, now: float) -> None:
        self._rate = limit.count / limit.per
        self._capacity = float(limit.burst or limit.count)
        self._tokens = self._capacity
        self._updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until a token is available (0 if one is)."""
        elapsed = now - self._updated
        self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
        self._updated = now
        return 0.0 if self._tokens >= 1 - 1e-9 else (1 - self._tokens) / self._rate

    def take(self) -> None:
        self._tokens -= 1


@dataclass
class _Injected429:
    retry_after: int
    remaining: int
    method: str | None
    chat: int | None = None


@dataclass
class _Pending:
    update: JsonDict
    exempt: bool = False  # a redelivery not yet delivered: survives confirmation by offset

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


class _Signal:
    """Wakes every current waiter on notify(); waiters then re-check their condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.count = 0  # notifications so far: a reader can tell whether anything happened

    def notify(self) -> None:
        self.count += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], seconds: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._event.wait()
        return True


def _now() -> int:
    return int(time.time())


# --------------------------------------------------------------------------------------------
# The stand-in
# --------------------------------------------------------------------------------------------


class BotAPIStandin:
    """A Bot API server on 127.0.0.1 with simulated users; use ``async with`` or start()/stop().

    Rate limits (each None = off) are token buckets over ``clock`` (monotonic seconds), so tests
    can move time instead of sleeping.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        clock: Callable[[], float] = time.monotonic,
        global_limit: RateLimit | None = DEFAULT_GLOBAL_LIMIT,
        chat_limit: RateLimit | None = DEFAULT_CHAT_LIMIT,
        group_limit: RateLimit | None = DEFAULT_GROUP_LIMIT,
    ) -> None:
        self.token = token
        bot_id = int(token.split(":", 1)[0])
        self.bot_sender: JsonDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }
        self.requests: list[ApiCall] = []
        self.answered_callbacks: list[AnsweredCallback] = []
        self.command_sets: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.descriptions: dict[str, str] = {}
        # The menu button of each private chat (setChatMenuButton), as the bot set it.
        self.menu_buttons: dict[int, JsonDict] = {}
        self.short_descriptions: dict[str, str] = {}

        self._clock = clock
        self._global_bucket = _TokenBucket(global_limit, clock()) if global_limit else None
        self._chat_limit = chat_limit
        self._group_limit = group_limit
        self._chat_buckets: dict[int, _TokenBucket] = {}
        self._injected: list[_Injected429] = []
        self._held_methods: set[str] = set()
        self._release = asyncio.Event()
        self.held_requests: list[str] = []

        self._chats: dict[int, SimUser | SimGroup] = {}
        self._blocked: set[int] = set()
        self._migrated: dict[int, int] = {}  # a group's old id -> its supergroup's
        self._last_message_ids: dict[int, int] = {}
        self._bot_messages: dict[int, dict[int, BotMessage]] = {}
        self._incoming: dict[tuple[int, int], JsonDict] = {}
        self._files: dict[str, tuple[JsonDict, Upload]] = {}  # by file_id
        self._open_queries: dict[str, str] = {}  # callback query id -> callback_data
        # Callback queries handed to the bot by getUpdates: query id -> (update id, data).
        self._delivered_queries: dict[str, tuple[int, str]] = {}
        self._poll_votes: dict[tuple[str, int], list[int]] = {}  # (poll id, user) -> options

        self._updates: dict[int, JsonDict] = {}
        # The webhook set with setWebhook: its url, secret_token and allowed_updates.
        self.webhook: JsonDict | None = None
        self._pending: list[_Pending] = []
        self._allowed_updates: set[str] = set()  # empty: Telegram's default
        self._poll_generation = 0
        self._update_ids = itertools.count(10_001)
        self._ids = itertools.count(1)  # files, callback queries, polls
        self._updates_signal = _Signal()
        self._activity = _Signal()
        self._closing = False

        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._handlers: dict[str, Callable[[Params], Awaitable[Any]]] = {
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getMe": self._get_me,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "setMyDescription": self._set_my_description,
            "setMyShortDescription": self._set_my_short_description,
            "setChatMenuButton": self._set_chat_menu_button,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendChatAction": self._send_chat_action,
            "copyMessage": self._copy_message,
            "sendPoll": self._send_poll,
        }

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self._base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        self._closing = True
        self.release()
        self._updates_signal.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the stand-in is not started")
        return self._base_url

    # -- simulated people --------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Ann",
        language_code: str | None = "en",
        *,
        last_name: str | None = None,
        username: str | None = None,
    ) -> SimUser:
        """Register a user who has started a conversation with the bot."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        person = SimUser(user_id, first_name, language_code, last_name, username)
        self._chats[user_id] = person
        return person

    def group(self, chat_id: int, title: str = "Mentors") -> SimGroup:
        """Register a group chat the bot is a member of."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat = SimGroup(chat_id, title)
        self._chats[chat_id] = chat
        return chat

    async def send_text(self, user: SimUser, text: str, reply_to: BotMessage | None = None) -> int:
        """The user sends a text message (as a reply to one of the bot's messages, if
        ``reply_to``); returns the update id."""
        return self._user_message(user, {"text": text, **self._reply_to(reply_to)})

    async def send_command(
        self, user: SimUser, command: str, reply_to: BotMessage | None = None
    ) -> int:
        """The user sends a command such as "/start" or "/start payload"."""
        if not command.startswith("/"):
            raise ValueError("a command starts with '/'")
        length = utf16_len(command.split(maxsplit=1)[0])
        entity = {"type": "bot_command", "offset": 0, "length": length}
        content = {"text": command, "entities": [entity], **self._reply_to(reply_to)}
        return self._user_message(user, content)

    def _reply_to(self, message: BotMessage | None) -> JsonDict:
        return {} if message is None else {"reply_to_message": message.to_api(self.bot_sender)}

    async def send_sticker(self, user: SimUser, emoji: str = "👍") -> int:
        sticker = {
            **self._fake_file(),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._user_message(user, {"sticker": sticker})

    async def send_photo(self, user: SimUser, caption: str | None = None) -> int:
        ids = self._fake_file()
        # Its file_id can be sent again by the bot, as on Telegram.
        self._files[ids["file_id"]] = (ids, Upload("photo.jpg", b"\xff\xd8photo", "image/jpeg"))
        content: JsonDict = {"photo": [{**ids, "width": 1280, "height": 960}]}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(user, content)

    async def send_document(
        self, user: SimUser, name: str = "programme.pdf", caption: str | None = None
    ) -> int:
        ids = self._fake_file()
        self._files[ids["file_id"]] = (ids, Upload(name, b"%PDF-1.4 document", "application/pdf"))
        document = {**ids, "file_name": name, "mime_type": "application/pdf", "file_size": 17}
        content: JsonDict = {"document": document}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(user, content)

    async def send_voice(self, user: SimUser, duration: int = 3) -> int:
        voice = {**self._fake_file(), "duration": duration, "mime_type": "audio/ogg"}
        return self._user_message(user, {"voice": voice})

    async def press(
        self, user: SimUser, button_text: str, message: BotMessage | int | None = None
    ) -> int:
        """Press the inline button with this text on ``message`` (default: the newest message
        in the user's chat that has such a button); returns the callback_query update id."""
        if message is None:
            candidates = [m for m in reversed(self.messages(user)) if not m.deleted]
        else:
            message_id = message if isinstance(message, int) else message.message_id
            found = self._bot_messages.get(user.id, {}).get(message_id)
            if found is None:
                raise AssertionError(f"the bot sent no message {message_id} to chat {user.id}")
            candidates = [found]
        for candidate in candidates:
            for text, data in itertools.chain.from_iterable(candidate.buttons):
                if text != button_text:
                    continue
                if data is None:
                    raise AssertionError(f"button {button_text!r} has no callback_data")
                query_id = str(next(self._ids))
                self._open_queries[query_id] = data
                query = {
                    "id": query_id,
                    "from": user.to_api(),
                    "message": candidate.to_api(self.bot_sender),
                    "chat_instance": f"instance-{user.id}",
                    "data": data,
                }
                return self._queue({"callback_query": query})
        available = [
            [m.message_id, [text for row in m.buttons for text, _ in row]] for m in candidates
        ]
        raise AssertionError(
            f"no inline button {button_text!r} in chat {user.id}; "
            f"buttons by message id: {available}"
        )

    async def press_data(self, user: SimUser, data: str, message: BotMessage | None = None) -> int:
        """A press with any callback data, as a modified client can send: on ``message``
        (default: the newest message in the user's chat)."""
        if message is None:
            message = self.last_message(user)
        query_id = str(next(self._ids))
        self._open_queries[query_id] = data
        query = {
            "id": query_id,
            "from": user.to_api(),
            "message": message.to_api(self.bot_sender),
            "chat_instance": f"instance-{user.id}",
            "data": data,
        }
        return self._queue({"callback_query": query})

    async def answer_poll(
        self, user: SimUser, message: BotMessage, option_ids: Sequence[int]
    ) -> int | None:
        """The user answers the poll of ``message`` (no options: takes the answer back).
        Telegram tells the bot who answered only in its non-anonymous polls (a poll_answer
        update); of every poll it sent, it tells the new totals (a poll update). Returns the
        poll_answer's update id, None for an anonymous poll."""
        poll = message.poll
        if poll is None:
            raise AssertionError(f"message {message.message_id} has no poll")
        if poll["is_closed"] or ("close_date" in poll and _now() >= poll["close_date"]):
            raise AssertionError("the poll is closed")
        chosen = list(option_ids)
        if any(not 0 <= n < len(poll["options"]) for n in chosen) or len(set(chosen)) != len(
            chosen
        ):
            raise AssertionError(f"no such options {chosen} in the poll")
        if len(chosen) > 1 and not poll["allows_multiple_answers"]:
            raise AssertionError("the poll takes one answer")
        key = (str(poll["id"]), user.id)
        earlier = self._poll_votes.get(key, [])
        if earlier and not poll["allows_revoting"]:
            raise AssertionError("the poll does not allow changing the answer")
        if not chosen and not earlier:
            raise AssertionError("there is no answer to take back")
        for n in earlier:
            poll["options"][n]["voter_count"] -= 1
        for n in chosen:
            poll["options"][n]["voter_count"] += 1
        poll["total_voter_count"] += (1 if chosen else 0) - (1 if earlier else 0)
        self._poll_votes[key] = chosen
        answered = None
        if not poll["is_anonymous"]:
            answer = {
                "poll_id": poll["id"],
                "user": user.to_api(),
                "option_ids": chosen,
                "option_persistent_ids": [poll["options"][n]["persistent_id"] for n in chosen],
            }
            answered = self._queue({"poll_answer": answer})
        self._queue({"poll": copy.deepcopy(poll)})
        return answered

    def close_poll(self, message: BotMessage) -> int:
        """The poll of ``message`` closes (its open_period ran out): Telegram tells the bot
        with a poll update; returns its id."""
        poll = message.poll
        if poll is None or poll["is_closed"]:
            raise AssertionError(f"message {message.message_id} has no open poll")
        poll["is_closed"] = True
        return self._queue({"poll": copy.deepcopy(poll)})

    def block(self, user: SimUser) -> None:
        """The user blocks the bot: sends to the chat answer 403 from now on."""
        self._blocked.add(user.id)
        self._queue_member_change(user, "member", "kicked")

    def unblock(self, user: SimUser) -> None:
        self._blocked.discard(user.id)
        self._queue_member_change(user, "kicked", "member")

    def add_bot_to_group(self, group: SimGroup, by: SimUser) -> int:
        """``by`` adds the bot to the group (registered with group()); returns the update id."""
        return self._queue_group_change(group, by, "left", "member")

    def upgrade_group(self, group: SimGroup, by: SimUser, *, tell: bool = True) -> SimGroup:
        """``by`` turns the group into a supergroup, which has a new id; what is sent to the
        old id is refused, naming the new one. ``tell``: whether the bot gets the service
        message about it (it may miss it, as when it was down)."""
        supergroup = SimGroup(-(1_000_000_000_000 + abs(group.id)), group.title)
        self._chats[supergroup.id] = supergroup
        self._migrated[group.id] = supergroup.id
        if tell:
            message = {
                "message_id": self._new_message_id(group.id),
                "from": by.to_api(),
                "chat": group.chat_api(),
                "date": _now(),
                "migrate_to_chat_id": supergroup.id,
            }
            self._queue({"message": message})
        return supergroup

    def remove_bot_from_group(self, group: SimGroup, by: SimUser) -> int:
        """``by`` removes the bot from the group: sends to it answer 403 from now on."""
        self._blocked.add(group.id)
        return self._queue_group_change(group, by, "member", "left")

    def _queue_group_change(self, group: SimGroup, by: SimUser, old: str, new: str) -> int:
        change = {
            "chat": group.chat_api(),
            "from": by.to_api(),
            "date": _now(),
            "old_chat_member": {"status": old, "user": self.bot_sender},
            "new_chat_member": {"status": new, "user": self.bot_sender},
        }
        return self._queue({"my_chat_member": change})

    def hold(self, method: str) -> None:
        """Leave every request of ``method`` unanswered until release()."""
        self._held_methods.add(method)
        self._release.clear()

    def release(self) -> None:
        self._held_methods.clear()
        self._release.set()

    def redeliver(self, update_id: int) -> None:
        """Queue an update again with the same update_id, even if it was confirmed."""
        if update_id not in self._updates:
            raise ValueError(f"no update {update_id}")
        self._enqueue(_Pending(self._updates[update_id], exempt=True))

    def inject_429(
        self,
        retry_after: int = 2,
        count: int = 1,
        method: str | None = None,
        chat: int | None = None,
    ) -> None:
        """The next ``count`` requests of ``method`` (to ``chat``, if given) answer 429
        whatever the limits; with no method, the next ``count`` rate-limited requests
        (sends and editMessageText)."""
        canonical = None if method is None else _CANONICAL_METHODS.get(method.lower())
        if method is not None and canonical is None:
            raise ValueError(f"{method} is not a Bot API method")
        self._injected.append(_Injected429(retry_after, count, canonical, chat))

    # -- inspection --------------------------------------------------------------------------

    def messages(self, chat: ChatRef) -> list[BotMessage]:
        """Messages the bot sent to the chat, in order, deleted ones included."""
        return list(self._bot_messages.get(_chat_id(chat), {}).values())

    def last_message(self, chat: ChatRef) -> BotMessage:
        sent = self.messages(chat)
        if not sent:
            raise AssertionError(f"the bot sent no message to chat {_chat_id(chat)}")
        return sent[-1]

    def conversation(self, chat: ChatRef) -> list[BotMessage | JsonDict]:
        """The chat as its person sees it, oldest first: the bot's messages (deleted ones
        left out) and what the person wrote (as the API's message objects)."""
        chat_id = _chat_id(chat)
        shown: list[tuple[int, BotMessage | JsonDict]] = [
            (m.message_id, m) for m in self.messages(chat_id) if not m.deleted
        ]
        shown += [(n, m) for (c, n), m in self._incoming.items() if c == chat_id]
        return [message for _, message in sorted(shown, key=lambda entry: entry[0])]

    def file(self, file_id: str) -> Upload | None:
        """The content of a file the bot sent or a person uploaded, by its file_id."""
        known = self._files.get(file_id)
        return None if known is None else known[1]

    def your_answers(self, poll_id: str, user: SimUser) -> list[int]:
        """The options ``user`` chose in the poll (none yet: empty)."""
        return self._poll_votes.get((poll_id, user.id), [])

    @property
    def changes(self) -> int:
        """How many things have happened so far: requests of the bot, acts of people."""
        return self._activity.count

    async def changed(self, since: int, seconds: float) -> int:
        """Wait (at most ``seconds``) until something happens after ``changes`` was
        ``since``; returns ``changes``."""
        await self._activity.wait_until(lambda: self._activity.count != since, seconds)
        return self._activity.count

    def per_second(self, method: str | None = None) -> Counter[int]:
        """How many requests (of ``method``) were carried out in each whole second of the
        stand-in's clock."""
        return Counter(int(call.at) for call in self.calls(method, status=200))

    def calls(self, method: str | None = None, status: int | None = None) -> list[ApiCall]:
        return [
            call
            for call in self.requests
            if (method is None or call.method == method)
            and (status is None or call.status == status)
        ]

    @property
    def unanswered_callbacks(self) -> list[tuple[int, str]]:
        """Callback queries the bot was given but never answered, as (update id, data):
        on Telegram their button keeps spinning."""
        answered = {answer.query_id for answer in self.answered_callbacks}
        return [
            delivered
            for query_id, delivered in self._delivered_queries.items()
            if query_id not in answered
        ]

    def update_json(self, update_id: int) -> JsonDict:
        """An update as Telegram posts it to a webhook."""
        return self._updates[update_id]

    @property
    def unconfirmed_update_ids(self) -> list[int]:
        """Queued updates not yet confirmed by the offset of a getUpdates call."""
        return [entry.update_id for entry in self._pending]

    @property
    def commands(self) -> dict[str, list[tuple[str, str]]]:
        """Commands set for the default scope, by language_code ("" for all languages)."""
        return {
            lang: cmds for (scope, lang), cmds in self.command_sets.items() if scope == "default"
        }

    async def wait_for(
        self,
        predicate: Callable[[], object],
        timeout: float = 5.0,  # noqa: ASYNC109 - the deadline is the point of this helper
        what: str = "the condition",
    ) -> None:
        """Wait until ``predicate()`` is true, re-checking after every request of the bot."""
        if await self._activity.wait_until(lambda: bool(predicate()), timeout):
            return
        recent = "\n".join(
            f"  {call.method} -> {call.status} {call.description or ''}"
            for call in self.requests[-10:]
        )
        raise AssertionError(
            f"timed out after {timeout}s waiting for {what}; last requests:\n{recent or '  none'}"
        )

    async def wait_for_message(
        self,
        chat: ChatRef,
        count: int | None = None,
        contains: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the deadline is the point of this helper
    ) -> BotMessage:
        """Wait until the chat has at least ``count`` (default 1) bot messages and, with
        ``contains``, one whose text or caption contains it; return that (or the last) one."""

        def found() -> BotMessage | None:
            sent = self.messages(chat)
            if len(sent) < (count or 1):
                return None
            if contains is None:
                return sent[-1]
            return next(
                (m for m in reversed(sent) if contains in (m.text or m.caption or "")), None
            )

        what = f"{count or 1} message(s) in chat {_chat_id(chat)}"
        if contains is not None:
            what += f", one containing {contains!r}"
        try:
            await self.wait_for(lambda: found() is not None, timeout, what)
        except AssertionError as error:
            texts = [m.text if m.text is not None else m.caption for m in self.messages(chat)]
            raise AssertionError(f"{error}\nmessages in the chat: {texts!r}") from None
        message = found()
        assert message is not None
        return message

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        method = _CANONICAL_METHODS.get(name.lower(), name)
        params: Params = {}
        try:
            params = await _read_params(request)
            if request.match_info["token"] != self.token:
                raise _ApiError(401, "Unauthorized")
            if method not in BOT_API_METHODS:
                raise _ApiError(404, "Not Found: method not found")
            handler = self._handlers.get(method)
            if handler is None:
                raise _not_supported(f"method {method}")
            params = _convert_params(_SPECS[method], params)
            if method in self._held_methods:
                # The request hangs unanswered, as when the network stalls; the bot can
                # be killed meanwhile.
                self.held_requests.append(method)
                self._activity.notify()
                await self._release.wait()
                if request.transport is None or request.transport.is_closing():
                    # The bot hung up (it was killed): the request never arrived.
                    return web.Response(status=499)
            self._take_injected_429(method, params.get("chat_id"))
            result = await handler(params)
        except _ApiError as error:
            self._log(ApiCall(method, params, error.status, error.description))
            return web.json_response(error.body(), status=error.status)
        self._log(ApiCall(method, params, 200))
        return web.json_response({"ok": True, "result": result})

    def _log(self, call: ApiCall) -> None:
        call = dataclasses.replace(call, at=self._clock())
        self.requests.append(call)
        self._activity.notify()

    def _take_injected_429(self, method: str, chat: object) -> None:
        injected = next(
            (
                item
                for item in self._injected
                if (item.method == method or (item.method is None and method in THROTTLED_METHODS))
                and (item.chat is None or item.chat == chat)
            ),
            None,
        )
        if injected is None:
            return
        injected.remaining -= 1
        if injected.remaining == 0:
            self._injected.remove(injected)
        raise _too_many(injected.retry_after)

    def _throttle(self, chat_id: int, *, sending: bool) -> None:
        """Spend a token of each applicable bucket, or answer 429 and spend none."""
        now = self._clock()
        buckets = [self._global_bucket] if sending and self._global_bucket else []
        limit = self._group_limit if chat_id < 0 else self._chat_limit
        if limit is not None:
            if chat_id not in self._chat_buckets:
                self._chat_buckets[chat_id] = _TokenBucket(limit, now)
            buckets.append(self._chat_buckets[chat_id])
        wait = max((bucket.wait_time(now) for bucket in buckets), default=0.0)
        if wait > 0:
            raise _too_many(max(1, math.ceil(wait)))
        for bucket in buckets:
            bucket.take()

    # -- chats, messages, files, updates -------------------------------------------------------

    def _chat(self, value: int | str | None, *, sending: bool = True) -> int:
        if value is None:
            raise _bad("chat_id is required")
        if not isinstance(value, int) or value not in self._chats:
            raise _bad("chat not found")
        if value in self._migrated:
            raise _ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=self._migrated[value],
            )
        if sending and value in self._blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        return value

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._last_message_ids.get(chat_id, 0) + 1
        self._last_message_ids[chat_id] = message_id
        return message_id

    def _store(self, chat_id: int, **content: Any) -> BotMessage:
        message = BotMessage(
            message_id=self._new_message_id(chat_id),
            chat=self._chats[chat_id].chat_api(),
            date=_now(),
            **content,
        )
        self._bot_messages.setdefault(chat_id, {})[message.message_id] = message
        return message

    def _editable(self, params: Params) -> BotMessage:
        if "inline_message_id" in params:
            raise _not_supported("inline_message_id")
        chat_id = self._chat(params.get("chat_id"))
        if "message_id" not in params:
            raise _bad("message_id is required")
        message = self._bot_messages.get(chat_id, {}).get(params["message_id"])
        if message is None or message.deleted:
            if (chat_id, params["message_id"]) in self._incoming:
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return message

    def _edited(self, message: BotMessage) -> JsonDict:
        message.edits += 1
        message.edit_date = _now()
        return message.to_api(self.bot_sender)

    def _caption(self, params: Params) -> tuple[str | None, list[JsonDict]]:
        if "caption" not in params:
            return None, []
        caption, entities = _formatted(
            params,
            "caption",
            "caption_entities",
            "parse_mode",
            MAX_CAPTION_LENGTH,
            "message caption is too long",
        )
        return caption or None, entities

    def _fake_file(self) -> JsonDict:
        number = next(self._ids)
        return {"file_id": f"standin-file-{number}", "file_unique_id": f"unique-{number}"}

    def _file(self, value: Upload | str) -> tuple[JsonDict, Upload]:
        """An uploaded file (registered under a new file_id) or a known file_id."""
        if isinstance(value, str):
            if value not in self._files:
                raise _bad("wrong file identifier/HTTP URL specified")
            return self._files[value]
        if not value.content:
            raise _bad("file must be non-empty")
        ids = self._fake_file()
        self._files[ids["file_id"]] = (ids, value)
        return ids, value

    def _copyable(self, chat_id: int, message_id: int) -> JsonDict:
        """The content of a message, as keyword arguments for a new BotMessage."""
        sent = self._bot_messages.get(chat_id, {}).get(message_id)
        if sent is not None and not sent.deleted:
            return {
                "text": sent.text,
                "entities": sent.entities,
                "caption": sent.caption,
                "caption_entities": sent.caption_entities,
                "photo": sent.photo,
                "document": sent.document,
                "document_name": sent.document_name,
                "media": sent.media,
            }
        incoming = self._incoming.get((chat_id, message_id))
        if incoming is None:
            raise _bad("message to copy not found")
        return {
            "text": incoming.get("text"),
            "entities": incoming.get("entities", []),
            "caption": incoming.get("caption"),
            "caption_entities": incoming.get("caption_entities", []),
            "media": {key: value for key, value in incoming.items() if key in _MEDIA_FIELDS},
        }

    def _user_message(self, user: SimUser, content: JsonDict) -> int:
        if self._chats.get(user.id) != user:
            raise ValueError(f"{user} is not registered with standin.user()")
        message = {
            "message_id": self._new_message_id(user.id),
            "from": user.to_api(),
            "chat": user.chat_api(),
            "date": _now(),
            **content,
        }
        self._incoming[(user.id, message["message_id"])] = message
        return self._queue({"message": message})

    def _queue_member_change(self, user: SimUser, old: str, new: str) -> None:
        def member(status: str) -> JsonDict:
            if status == "kicked":
                return {"status": status, "user": self.bot_sender, "until_date": 0}
            return {"status": status, "user": self.bot_sender}

        change = {
            "chat": user.chat_api(),
            "from": user.to_api(),
            "date": _now(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        self._queue({"my_chat_member": change})

    def _queue(self, payload: JsonDict) -> int:
        update_id = next(self._update_ids)
        self._updates[update_id] = {"update_id": update_id, **payload}
        self._enqueue(_Pending(self._updates[update_id]))
        self._activity.notify()
        return update_id

    def _enqueue(self, entry: _Pending) -> None:
        kind = next(key for key in entry.update if key != "update_id")
        if self._allowed_updates:
            wanted = kind in self._allowed_updates
        else:
            wanted = kind not in UPDATE_TYPES_OFF_BY_DEFAULT
        if wanted:
            bisect.insort(self._pending, entry, key=lambda pending: pending.update_id)
            self._updates_signal.notify()

    # -- methods -------------------------------------------------------------------------------

    async def _get_updates(self, params: Params) -> list[JsonDict]:
        if self.webhook is not None:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_signal.notify()  # an older long poll is terminated by this one
        if "allowed_updates" in params:
            self._allowed_updates = set(params["allowed_updates"])
        offset = params.get("offset", 0)
        if offset > 0:
            self._pending = [p for p in self._pending if p.update_id >= offset or p.exempt]
        elif offset < 0:
            self._pending = self._pending[offset:]
        await self._updates_signal.wait_until(
            lambda: bool(self._pending) or self._closing or self._poll_generation != generation,
            max(params.get("timeout", 0), 0),
        )
        if self._poll_generation != generation:
            raise _ApiError(
                409,
                "Conflict: terminated by other getUpdates request;"
                " make sure that only one bot instance is running",
            )
        limit = min(max(params.get("limit", MAX_UPDATES_LIMIT), 1), MAX_UPDATES_LIMIT)
        batch = self._pending[:limit]
        for entry in batch:
            entry.exempt = False
            query = entry.update.get("callback_query")
            if query is not None:
                self._delivered_queries.setdefault(query["id"], (entry.update_id, query["data"]))
        return [entry.update for entry in batch]

    async def _delete_webhook(self, params: Params) -> bool:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = None
        return True

    async def _set_webhook(self, params: Params) -> bool:
        url = params["url"]
        if not url:
            return await self._delete_webhook(params)
        if not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _bad("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if "allowed_updates" in params:
            self._allowed_updates = set(params["allowed_updates"])
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": params.get("allowed_updates"),
        }
        return True

    async def _get_me(self, params: Params) -> JsonDict:
        return {
            **self.bot_sender,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _set_my_commands(self, params: Params) -> bool:
        commands = params["commands"]
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise _bad("too many commands")
        parsed = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse commands JSON object")
            name, description = command.get("command", ""), command.get("description", "")
            if not isinstance(name, str) or not _COMMAND.fullmatch(name):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not (
                1 <= len(description) <= MAX_COMMAND_DESCRIPTION_LENGTH
            ):
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            parsed.append((name, description))
        key = (_scope_key(params.get("scope")), params.get("language_code", ""))
        if parsed:
            self.command_sets[key] = parsed
        else:
            self.command_sets.pop(key, None)
        return True

    async def _get_my_commands(self, params: Params) -> list[JsonDict]:
        key = (_scope_key(params.get("scope")), params.get("language_code", ""))
        return [{"command": c, "description": d} for c, d in self.command_sets.get(key, [])]

    async def _set_my_description(self, params: Params) -> bool:
        description = params.get("description", "")
        if len(description) > MAX_DESCRIPTION_LENGTH:
            raise _bad("description is too long")
        self.descriptions[params.get("language_code", "")] = description
        return True

    async def _set_chat_menu_button(self, params: Params) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "commands",
            "web_app",
            "default",
        ):
            raise _bad("can't parse menu button")
        if button["type"] == "web_app":
            web_app = button.get("web_app")
            if not button.get("text") or not isinstance(web_app, dict) or not web_app.get("url"):
                raise _bad(
                    "BUTTON_TEXT_INVALID" if not button.get("text") else "BUTTON_URL_INVALID"
                )
        self.menu_buttons[int(params.get("chat_id", 0))] = button
        return True

    async def _set_my_short_description(self, params: Params) -> bool:
        description = params.get("short_description", "")
        if len(description) > MAX_SHORT_DESCRIPTION_LENGTH:
            raise _bad("short description is too long")
        self.short_descriptions[params.get("language_code", "")] = description
        return True

    async def _send_message(self, params: Params) -> JsonDict:
        chat_id = self._chat(params["chat_id"])
        text, entities = _formatted(
            params, "text", "entities", "parse_mode", MAX_TEXT_LENGTH, "message is too long"
        )
        if not text:
            raise _bad("message text is empty")
        markup = _reply_markup(params.get("reply_markup"))
        self._throttle(chat_id, sending=True)
        message = self._store(chat_id, text=text, entities=entities, reply_markup=markup)
        return message.to_api(self.bot_sender)

    async def _edit_message_text(self, params: Params) -> JsonDict:
        if "rich_message" in params:
            raise _not_supported("rich_message")
        message = self._editable(params)
        if message.text is None:
            raise _bad("there is no text in the message to edit")
        text, entities = _formatted(
            params, "text", "entities", "parse_mode", MAX_TEXT_LENGTH, "message is too long"
        )
        if not text:
            raise _bad("message text is empty")
        markup = _reply_markup(params.get("reply_markup"), inline_only=True)
        if (text, entities, markup) == (message.text, message.entities, message.inline_markup):
            raise _bad(NOT_MODIFIED)
        self._throttle(message.chat_id, sending=False)
        message.text, message.entities, message.reply_markup = text, entities, markup
        return self._edited(message)

    async def _edit_message_reply_markup(self, params: Params) -> JsonDict:
        message = self._editable(params)
        markup = _reply_markup(params.get("reply_markup"), inline_only=True)
        if markup == message.inline_markup:
            raise _bad(NOT_MODIFIED)
        message.reply_markup = markup
        return self._edited(message)

    async def _delete_message(self, params: Params) -> bool:
        chat_id = self._chat(params["chat_id"], sending=False)
        message = self._bot_messages.get(chat_id, {}).get(params["message_id"])
        if message is not None and not message.deleted:
            message.deleted = True
            return True
        if self._incoming.pop((chat_id, params["message_id"]), None) is not None:
            return True
        raise _bad("message to delete not found")

    async def _answer_callback_query(self, params: Params) -> bool:
        query_id = params["callback_query_id"]
        if query_id not in self._open_queries:
            raise _bad(QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad("callback query answer text is too long")
        data = self._open_queries.pop(query_id)
        answer = AnsweredCallback(
            query_id, data, text, params.get("show_alert", False), params.get("url")
        )
        self.answered_callbacks.append(answer)
        return True

    async def _send_photo(self, params: Params) -> JsonDict:
        chat_id = self._chat(params["chat_id"])
        ids, upload = self._file(params["photo"])
        caption, caption_entities = self._caption(params)
        markup = _reply_markup(params.get("reply_markup"))
        self._throttle(chat_id, sending=True)
        size = {**ids, "width": 1280, "height": 960, "file_size": len(upload.content)}
        message = self._store(
            chat_id,
            caption=caption,
            caption_entities=caption_entities,
            reply_markup=markup,
            photo=upload.content,
            media={"photo": [size]},
        )
        return message.to_api(self.bot_sender)

    async def _send_document(self, params: Params) -> JsonDict:
        chat_id = self._chat(params["chat_id"])
        ids, upload = self._file(params["document"])
        caption, caption_entities = self._caption(params)
        markup = _reply_markup(params.get("reply_markup"))
        self._throttle(chat_id, sending=True)
        document = {
            **ids,
            "file_name": upload.filename,
            "mime_type": mimetypes.guess_type(upload.filename)[0] or "application/octet-stream",
            "file_size": len(upload.content),
        }
        message = self._store(
            chat_id,
            caption=caption,
            caption_entities=caption_entities,
            reply_markup=markup,
            document=upload.content,
            document_name=upload.filename,
            media={"document": document},
        )
        return message.to_api(self.bot_sender)

    async def _send_chat_action(self, params: Params) -> bool:
        self._chat(params["chat_id"])
        if params["action"] not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    async def _copy_message(self, params: Params) -> JsonDict:
        chat_id = self._chat(params["chat_id"])
        source_chat_id = self._chat(params["from_chat_id"], sending=False)
        content = self._copyable(source_chat_id, params["message_id"])
        if "caption" in params and content["text"] is None:
            content["caption"], content["caption_entities"] = self._caption(params)
        markup = _reply_markup(params.get("reply_markup"))
        self._throttle(chat_id, sending=True)
        message = self._store(chat_id, reply_markup=markup, **content)
        return {"message_id": message.message_id}

    async def _send_poll(self, params: Params) -> JsonDict:
        chat_id = self._chat(params["chat_id"])
        question, question_entities = _formatted(
            params,
            "question",
            "question_entities",
            "question_parse_mode",
            MAX_POLL_QUESTION_LENGTH,
            "poll question is too long",
        )
        if not question:
            raise _bad("poll question must be non-empty")
        options = params["options"]
        if not isinstance(options, list) or not (
            MIN_POLL_OPTIONS <= len(options) <= MAX_POLL_OPTIONS
        ):
            raise _bad(f"poll must have {MIN_POLL_OPTIONS}-{MAX_POLL_OPTIONS} options")
        if "open_period" in params and "close_date" in params:
            raise _bad("can't use open_period and close_date together")
        if "open_period" in params and not 5 <= params["open_period"] <= MAX_POLL_OPEN_PERIOD:
            raise _bad("wrong open period specified")
        if "close_date" in params and not (
            5 <= params["close_date"] - _now() <= MAX_POLL_OPEN_PERIOD
        ):
            raise _bad("wrong close date specified")
        poll_type = params.get("type", "regular")
        if poll_type not in ("regular", "quiz"):
            raise _bad("wrong poll type")
        correct = params.get("correct_option_ids")
        if poll_type == "quiz":
            if (
                not isinstance(correct, list)
                or not correct
                or any(not isinstance(n, int) or not 0 <= n < len(options) for n in correct)
                or correct != sorted(set(correct))
            ):
                raise _bad("wrong correct option ids specified")
        elif correct is not None:
            raise _bad("correct option ids can be specified only for quizzes")
        poll: JsonDict = {
            "id": str(next(self._ids)),
            "question": question,
            "options": [_poll_option(index, option) for index, option in enumerate(options)],
            "total_voter_count": 0,
            "is_closed": params.get("is_closed", False),
            "is_anonymous": params.get("is_anonymous", True),
            "type": poll_type,
            "allows_multiple_answers": params.get("allows_multiple_answers", False),
            "allows_revoting": params.get("allows_revoting", poll_type == "regular"),
            "members_only": params.get("members_only", False),
        }
        if poll_type == "quiz":
            poll["correct_option_ids"] = correct
        if "open_period" in params:
            poll["open_period"] = params["open_period"]
            poll["close_date"] = _now() + params["open_period"]
        elif "close_date" in params:
            poll["close_date"] = params["close_date"]
        if question_entities:
            poll["question_entities"] = question_entities
        for key, limit in (
            ("explanation", MAX_POLL_EXPLANATION_LENGTH),
            ("description", MAX_POLL_DESCRIPTION_LENGTH),
        ):
            if key in params:
                poll[key], entities = _formatted(
                    params, key, f"{key}_entities", f"{key}_parse_mode", limit, f"{key} too long"
                )
                if entities:
                    poll[f"{key}_entities"] = entities
        markup = _reply_markup(params.get("reply_markup"))
        self._throttle(chat_id, sending=True)
        message = self._store(chat_id, reply_markup=markup, media={"poll": poll})
        return message.to_api(self.bot_sender)


def _poll_option(index: int, option: Any) -> JsonDict:
    if not isinstance(option, dict) or "text" not in option:
        raise _bad("can't parse poll option JSON object")
    text, entities = _formatted(
        option,
        "text",
        "text_entities",
        "text_parse_mode",
        MAX_POLL_OPTION_LENGTH,
        "poll option is too long",
    )
    if not text:
        raise _bad("poll option text must be non-empty")
    result: JsonDict = {"persistent_id": str(index), "text": text, "voter_count": 0}
    # Only custom emoji are kept in poll options.
    custom_emoji = [entity for entity in entities if entity["type"] == "custom_emoji"]
    if custom_emoji:
        result["text_entities"] = custom_emoji
    return result


def _chat_id(chat: ChatRef) -> int:
    return chat if isinstance(chat, int) else chat.id
