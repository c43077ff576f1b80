"""Broadcasts, the pure part: who may be addressed, whether a coordinator's HTML is what
Telegram takes, and how progress is shown."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.cohorts import MEMBER_ROLES
from bot.domain.texts import N_, Msg, plural_msg

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

# Audiences: (kind, what it needs). A role is a member's: a mentee or a mentor.
EVERYONE, ROLE, COHORT, UNMATCHED, QUIET_PAIRS, GROUPS = (
    "everyone",
    "role",
    "cohort",
    "unmatched",
    "quiet",
    "groups",
)
ROLES = MEMBER_ROLES
QUIET_DAYS = (7, 14, 21, 30)

# Telegram's HTML: the tags it knows, and which attributes they need.
_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
})  # fmt: skip
_TOKEN = re.compile(
    r"<(/?)([A-Za-z0-9-]*)([^<>]*)>|&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);|[<>&]"
)
_REF = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass(frozen=True)
class Checked:
    """What Telegram would show (the text without tags) and what it would refuse."""

    shown: str
    problems: list[Msg]


def check_html(source: str, limit: int = TEXT_LIMIT) -> Checked:
    """Check a coordinator's HTML as Telegram would: known tags only, each closed in order,
    ``<``, ``>`` and ``&`` escaped, and at most ``limit`` characters once parsed."""
    problems: list[Msg] = []
    shown: list[str] = []
    stack: list[str] = []
    position = 0
    for match in _TOKEN.finditer(source):
        shown.append(source[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("<", ">", "&"):
            escaped = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}[token]
            problems.append(
                Msg(N_("Write “{char}” as {escaped}."), {"char": token, "escaped": escaped})
            )
            continue
        if token.startswith("&"):
            ref = match.group(4)
            if ref in _REF:
                shown.append(_REF[ref])
            else:
                code = int(ref[2:], 16) if ref[1:2] in "xX" else int(ref[1:])
                if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    problems.append(Msg(N_("“{ref}” is not a character."), {"ref": token}))
                else:
                    shown.append(chr(code))
            continue
        closing, name, attributes = match.group(1), match.group(2).lower(), match.group(3)
        if name not in _TAGS:
            problems.append(Msg(N_("Telegram does not know the tag {tag}."), {"tag": token}))
            continue
        if closing:
            if not stack:
                problems.append(Msg(N_("{tag} closes nothing."), {"tag": token}))
            elif stack[-1] != name:
                problems.append(
                    Msg(
                        N_("{tag} closes a tag that is not the last one opened ({open})."),
                        {"tag": token, "open": f"<{stack[-1]}>"},
                    )
                )
                if name in stack:
                    del stack[len(stack) - 1 - stack[::-1].index(name) :]
            else:
                stack.pop()
            continue
        if name == "span" and "tg-spoiler" not in attributes:
            problems.append(Msg(N_('A span needs class="tg-spoiler": {tag}'), {"tag": token}))
        if name == "a" and "href" not in attributes:
            problems.append(Msg(N_("A link needs an address (href): {tag}"), {"tag": token}))
        if name == "tg-emoji" and "emoji-id" not in attributes:
            problems.append(Msg(N_("tg-emoji needs an emoji-id: {tag}"), {"tag": token}))
        stack.append(name)
    shown.append(source[position:])
    for name in reversed(stack):
        problems.append(Msg(N_("The tag {tag} is never closed."), {"tag": f"<{name}>"}))
    text = "".join(shown).strip()
    if not text:
        problems.append(Msg(N_("The message has no text.")))
    if len(text) > limit:
        problems.append(
            plural_msg(
                "It is {length} character long; Telegram takes at most {limit}.",
                "It is {length} characters long; Telegram takes at most {limit}.",
                "length",
                {"length": len(text), "limit": limit},
            )
        )
    return Checked(text, problems)


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int = 0
    failed: int = 0
    unreachable: int = 0
    cancelled: int = 0

    @property
    def left(self) -> int:
        return max(0, self.total - self.sent - self.failed - self.unreachable - self.cancelled)

    @property
    def done(self) -> int:
        return self.total - self.left


def progress_bar(done: int, total: int, width: int = 10) -> str:
    """▓▓▓░░░░░░░ 30%"""
    share = done / total if total else 1.0
    filled = min(width, int(share * width + 1e-9))
    return "▓" * filled + "░" * (width - filled) + f" {int(share * 100)}%"


def seconds_left(left: int, rate: float) -> int | None:
    """At the current rate, the seconds the rest takes (None before there is a rate)."""
    if left == 0:
        return 0
    return None if rate <= 0 else int(left / rate + 0.999)
