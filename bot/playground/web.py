"""The playground's page: Telegram-like chats of the simulated people, served on loopback.

The page (page.html, plain JavaScript) reads a person's chat as JSON and hears of changes
through Server-Sent Events; what a person does (write, press, vote) is posted back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import signal
from collections.abc import Callable
from datetime import timedelta
from importlib import resources
from typing import Any

from aiohttp import web

from bot.config import LOCALES, Settings, parse_listen
from bot.domain.texts import N_
from bot.i18n import LANGUAGE_NAMES
from bot.playground.botapi import BotMessage, JsonDict
from bot.playground.playground import Playground, running_playground
from bot.telegram.health import serving

# How long an event stream waits before it says it is still there.
KEEPALIVE_SECONDS = 15.0

# The page's own words, in the operator's default language.
PAGE_TEXTS = {
    "title": N_("mentorbot playground"),
    "intro": N_(
        "The real bot, without Telegram: be several people at once and see what each of them sees."
    ),
    "people": N_("People"),
    "add": N_("Add a person"),
    "name": N_("The person's name"),
    "demo": N_("Demo programme"),
    "demo_done": N_(
        "The demo programme is ready: as Dana, the coordinator, send /match to pair its "
        "mentees with mentors."
    ),
    "clock": N_("Time"),
    "day": N_("A day later"),
    "week": N_("A week later"),
    "morning": N_("Next morning"),
    "quiet": N_(
        "What the bot starts itself (check-ins, reminders, introductions) waits out each "
        "person's quiet hours, 21:00 to 08:00 by default: the next morning brings it."
    ),
    "write": N_("Write a message or a command such as /grow"),
    "send": N_("Send"),
    "reply": N_("Reply"),
    "replying": N_("Replying to:"),
    "edited": N_("edited"),
    "dialogs_bad": N_("The dialog files have a problem, the bot keeps the last good ones:"),
    "dialogs_reloaded": N_("The dialog files were read again."),
    "empty": N_("Nothing here yet: write /start."),
    "mentee": N_("mentee"),
    "mentor": N_("mentor"),
    "coordinator": N_("coordinator"),
}


Counted = Callable[[str, str, int], str]


def message_json(
    message: BotMessage | JsonDict, playground: Playground, person: int, ngettext: Counted
) -> JsonDict:
    """A message as the page draws it: text and entities as Telegram parsed them, media by
    a link, keyboards, a poll with this person's vote."""
    if isinstance(message, dict):  # what the person wrote
        replied = message.get("reply_to_message")
        return {
            "id": message["message_id"],
            "mine": True,
            "text": message.get("text") or message.get("caption") or "",
            "entities": message.get("entities", []),
            "reply_to": None if replied is None else replied.get("text") or replied.get("caption"),
        }
    shown: JsonDict = {
        "id": message.message_id,
        "mine": False,
        "text": message.text if message.text is not None else message.caption or "",
        "entities": message.entities if message.text is not None else message.caption_entities,
        "edited": message.edits > 0,
        "inline": [
            [{"text": b["text"], "url": b.get("url")} for b in row]
            for row in (message.inline_markup or {}).get("inline_keyboard", [])
        ],
    }
    markup = message.reply_markup or {}
    if "keyboard" in markup:
        shown["keyboard"] = [
            [b if isinstance(b, str) else b["text"] for b in row] for row in markup["keyboard"]
        ]
    if "remove_keyboard" in markup:
        shown["keyboard"] = []
    if "photo" in message.media:
        shown["photo"] = f"/files/{message.media['photo'][-1]['file_id']}"
    if "document" in message.media:
        document = message.media["document"]
        shown["document"] = {
            "name": document.get("file_name", "file"),
            "url": f"/files/{document['file_id']}?download=1",
        }
    poll = message.poll
    if poll is not None:
        shown["poll"] = {
            "question": poll["question"],
            "quiz": poll["type"] == "quiz",
            "closed": poll["is_closed"],
            "options": [{"text": o["text"], "votes": o["voter_count"]} for o in poll["options"]],
            "total": poll["total_voter_count"],
            "votes": ngettext("{n} vote", "{n} votes", poll["total_voter_count"]),
            "correct": poll.get("correct_option_ids", []),
            "chosen": playground.standin.your_answers(
                str(poll["id"]), playground.person(person).user
            ),
        }
    return shown


def state_json(playground: Playground, person: int | None, locale: str) -> JsonDict:
    def ngettext(singular: str, plural: str, n: int) -> str:
        text = playground.app.i18n.gettext(singular, plural, n, locale=locale)
        return text.format(n=n)

    people = [
        {
            "id": p.user.id,
            "name": p.user.first_name,
            "language": p.user.language_code,
            "role": p.role,
        }
        for p in playground.people.values()
    ]
    chosen = person if person in playground.people else next(iter(playground.people))
    hours = math.ceil(playground.clock.ahead / timedelta(hours=1))
    if hours >= 24:
        ahead: str | None = ngettext(
            "The bot's time is {n} day ahead of yours.",
            "The bot's time is {n} days ahead of yours.",
            round(hours / 24),
        )
    elif hours:
        ahead = ngettext(
            "The bot's time is {n} hour ahead of yours.",
            "The bot's time is {n} hours ahead of yours.",
            hours,
        )
    else:
        ahead = None
    return {
        "version": [playground.standin.changes, playground.version],
        "person": chosen,
        "people": people,
        "chat": [
            message_json(m, playground, chosen, ngettext)
            for m in playground.standin.conversation(playground.person(chosen).user)
        ],
        "now": playground.clock.now().isoformat(timespec="minutes"),
        "ahead": ahead,
        "seeded": playground.seeded,
        "dialog_problem": playground.dialog_problem,
        "dialogs_reloaded": playground.dialogs_reloaded,
    }


def create_web(playground: Playground) -> web.Application:
    i18n = playground.app.i18n
    locale = playground.settings.default_locale
    texts = {key: i18n.gettext(text, locale=locale) for key, text in PAGE_TEXTS.items()}
    page = resources.files("bot.playground").joinpath("page.html").read_text(encoding="utf-8")
    page = page.replace("/*TEXTS*/{}", json.dumps(texts, ensure_ascii=False))
    page = page.replace("/*LANGUAGES*/{}", json.dumps(LANGUAGE_NAMES, ensure_ascii=False))
    page = page.replace("<!--LANG-->", locale)
    server = web.Application()
    # Open event streams end when the server stops, rather than holding its stop up.
    closing = asyncio.Event()

    async def close_streams(_: web.Application) -> None:
        closing.set()

    server.on_shutdown.append(close_streams)

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    async def state(request: web.Request) -> web.Response:
        person = request.query.get("person", "")
        chosen = int(person) if person.isdigit() else None
        return web.json_response(state_json(playground, chosen, locale))

    async def events(request: web.Request) -> web.StreamResponse:
        """A line for every change, so that the page reads its chat again."""
        stream = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await stream.prepare(request)
        seen: tuple[int, int] | None = None
        quiet = 0.0
        while not closing.is_set():
            now = (playground.standin.changes, playground.version)
            if now != seen:
                seen, quiet = now, 0.0
                await stream.write(f"data: {now[0]}.{now[1]}\n\n".encode())
            elif quiet >= KEEPALIVE_SECONDS:
                quiet = 0.0
                await stream.write(b": still here\n\n")
            # The playground's own changes (a person added, the clock) are heard within a
            # second; the Bot API server's at once.
            await playground.standin.changed(now[0], 1.0)
            quiet += 1.0
        return stream

    async def act(request: web.Request) -> web.Response:
        try:
            body: dict[str, Any] = await request.json()
            what = request.match_info["what"]
            if what == "write":
                reply_to = body.get("reply_to")
                await playground.write(
                    int(body["person"]),
                    str(body["text"]),
                    None if reply_to is None else int(reply_to),
                )
            elif what == "press":
                await playground.press(
                    int(body["person"]), int(body["message"]), str(body["label"])
                )
            elif what == "vote":
                await playground.vote(
                    int(body["person"]), int(body["message"]), int(body["option"])
                )
            elif what == "person":
                language = str(body.get("language", locale))
                if language not in LOCALES:
                    raise ValueError("unknown language")
                added = playground.add_person(str(body["name"]), language)
                return web.json_response({"person": added.user.id})
            elif what == "demo":
                await playground.seed_demo()
            elif what == "morning":
                await playground.next_morning()
            elif what == "clock":
                days = int(body["days"])
                if not 1 <= days <= 366:
                    raise ValueError("a day to a year at a time")
                await playground.advance(timedelta(days=days))
            else:
                raise web.HTTPNotFound()
        except (KeyError, TypeError, ValueError, LookupError, AssertionError) as exc:
            return web.json_response({"problem": str(exc)}, status=400)
        return web.json_response({"ok": True})

    async def file(request: web.Request) -> web.Response:
        upload = playground.standin.file(request.match_info["file_id"])
        if upload is None:
            raise web.HTTPNotFound()
        disposition = "attachment" if request.query.get("download") else "inline"
        filename = "".join(c for c in upload.filename if c.isprintable() and c not in '"\\')
        return web.Response(
            body=upload.content,
            content_type=upload.content_type or "application/octet-stream",
            headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
        )

    server.router.add_get("/", index)
    server.router.add_get("/api/state", state)
    server.router.add_get("/api/events", events)
    server.router.add_post("/api/{what}", act)
    server.router.add_get("/files/{file_id}", file)
    return server


def announcement(settings: Settings) -> str:
    where = f"http://{settings.playground_listen}"
    if settings.bot_token.get_secret_value():
        return f"mentorbot playground: open {where} (the real bot, with no Telegram)"
    return (
        f"BOT_TOKEN is not set, so this is the playground: open {where} to try the bot "
        "without Telegram (to run it on Telegram, set BOT_TOKEN in .env)"
    )


async def run_playground(settings: Settings) -> None:
    """Until cancelled (Ctrl+C, SIGTERM)."""
    current = asyncio.current_task()
    if current is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, current.cancel)
    async with running_playground(settings) as playground:
        host, port = parse_listen(settings.playground_listen)
        async with serving(create_web(playground), host, port):
            print(announcement(settings), flush=True)
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.Event().wait()
