"""/broadcast and /groups for coordinators, and the bot being added to or removed from
Telegram groups."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import BaseFilter, Command
from aiogram.methods import SendDocument, SendMessage, SendPhoto, TelegramMethod
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import broadcast as b
from bot.domain.engine import parse_moment
from bot.services.broadcasts import BroadcastService, payload
from bot.services.cohorts import CohortService
from bot.storage import broadcasts as store
from bot.storage.models import Broadcast, Person
from bot.telegram.broadcasts import cancel_button
from bot.telegram.filters import IN_GROUP, PRIVATE, Magic, data_prefix
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer
from bot.telegram.routers.coordinator import IsCoordinator

# What a draft waits for when the coordinator writes (and not a button).
WRITING = ("content", "content_en", "time")
# Entities Telegram finds in plain text by itself: they are no sign of formatting.
DETECTED = frozenset(
    {"mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number"}
)
SEND_METHODS: dict[str, type[TelegramMethod[Any]]] = {
    "sendMessage": SendMessage,
    "sendPhoto": SendPhoto,
    "sendDocument": SendDocument,
}


class IsWritingBroadcast(BaseFilter):
    """A coordinator whose broadcast draft waits for their message."""

    async def __call__(
        self,
        event: Any,
        session: AsyncSession,
        broadcasts: BroadcastService,
        cohort_service: CohortService,
        person: Person | None = None,
    ) -> bool | dict[str, Any]:
        if not cohort_service.is_operator(person) or person is None:
            return False
        if isinstance(event, Message) and (event.text or "").startswith("/"):
            return False
        draft = await store.draft_of(session, person.id)
        if draft is None or draft.stage not in WRITING:
            return False
        return {"draft": draft}


def buttons(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data) for label, data in row]
            for row in rows
        ]
    )


def audience_picker(draft_id: int) -> InlineKeyboardMarkup:
    prefix = f"bc:{draft_id}:k"
    return buttons(
        [
            [(_("Everyone"), f"{prefix}:everyone")],
            [(_("Mentees"), f"{prefix}:mentee"), (_("Mentors"), f"{prefix}:mentor")],
            [(_("A cohort…"), f"{prefix}:cohort")],
            [(_("Mentees without a mentor"), f"{prefix}:unmatched")],
            [(_("Pairs without contact for a while…"), f"{prefix}:quiet")],
            [(_("Telegram groups"), f"{prefix}:groups")],
            [(_("✖ Cancel"), f"bcx:{draft_id}")],
        ]
    )


async def broadcast_command(
    message: Message,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    broadcasts: BroadcastService,
) -> None:
    if not await cohort_service.coordinated(session, person):
        await session.commit()
        await message.answer(_("You run no cohort yet. /cohort_new creates one."))
        return
    draft = await broadcasts.start(session, person)
    await session.commit()
    await message.answer(
        _("<b>New broadcast.</b> Who should get it? Only people of your cohorts can be chosen."),
        reply_markup=audience_picker(draft.id),
    )


async def stale(query: CallbackQuery) -> None:
    await query.answer(
        _("This broadcast has changed; /broadcast starts a new one."), show_alert=True
    )


async def audience_step(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    broadcasts: BroadcastService,
) -> None:
    """bc:<draft>:<step>:<value>[:<value>] — one button of the audience at a time."""
    parts = (query.data or "").split(":")
    draft = await broadcasts.draft(session, person, int(parts[1]))
    if draft is None or draft.stage not in ("audience", "content"):
        await session.commit()
        await stale(query)
        return
    step, values = parts[2], parts[3:]
    prefix = f"bc:{draft.id}"
    cohorts = await cohort_service.coordinated(session, person)
    audience: dict[str, Any] | None = None
    if step == "k" and values[0] == "cohort":
        await query.answer()
        await session.commit()
        await bot.send_message(
            person.id,
            _("Which cohort?"),
            reply_markup=buttons([[(c.name, f"{prefix}:c:{c.id}")] for c in cohorts]),
        )
        return
    if step == "k" and values[0] == "quiet":
        await query.answer()
        await session.commit()
        await bot.send_message(
            person.id,
            _("Pairs with no contact for how long? Both sides get the message."),
            reply_markup=buttons(
                [
                    [(_("{days} days").format(days=d), f"{prefix}:q:{d}") for d in b.QUIET_DAYS],
                ]
            ),
        )
        return
    if step == "c" and any(c.id == int(values[0]) for c in cohorts):
        await query.answer()
        await session.commit()
        cohort = values[0]
        await bot.send_message(
            person.id,
            _("Who in this cohort?"),
            reply_markup=buttons(
                [
                    [(_("Everyone in it"), f"{prefix}:r:{cohort}:all")],
                    [
                        (_("Mentees"), f"{prefix}:r:{cohort}:mentee"),
                        (_("Mentors"), f"{prefix}:r:{cohort}:mentor"),
                    ],
                    [(_("Its Telegram groups"), f"{prefix}:r:{cohort}:groups")],
                ]
            ),
        )
        return
    if step == "k" and values[0] in (b.EVERYONE, b.UNMATCHED, b.GROUPS):
        audience = {"kind": values[0]}
    elif step == "k" and values[0] in b.ROLES:
        audience = {"kind": b.ROLE, "role": values[0]}
    elif step == "q" and values[0].isdigit() and int(values[0]) in b.QUIET_DAYS:
        audience = {"kind": b.QUIET_PAIRS, "days": int(values[0])}
    elif step == "r" and len(values) == 2 and any(c.id == int(values[0]) for c in cohorts):
        cohort_id, role = int(values[0]), values[1]
        if role == "groups":
            audience = {"kind": b.GROUPS, "cohort": cohort_id}
        elif role in b.ROLES:
            audience = {"kind": b.COHORT, "cohort": cohort_id, "role": role}
        elif role == "all":
            audience = {"kind": b.COHORT, "cohort": cohort_id}
    if audience is None:
        await session.commit()
        await stale(query)
        return
    await query.answer()
    found = await broadcasts.audience(session, person, audience)
    if found.total == 0:
        await session.commit()
        await bot.send_message(
            person.id,
            _("Nobody is in this audience. Choose another:"),
            reply_markup=audience_picker(draft.id),
        )
        return
    draft.audience = audience
    draft.stage = "content"
    await session.commit()
    await bot.send_message(
        person.id,
        _(
            "{count} recipients: {people} people ({unreachable} of them cannot be reached) "
            "and {groups} Telegram groups.\n\n"
            "Now write the message. Format it in Telegram, or write HTML yourself "
            "(&lt;b&gt;bold&lt;/b&gt;, &lt;i&gt;italic&lt;/i&gt;, "
            '&lt;a href="…"&gt;link&lt;/a&gt;). '
            "A photo or a document with a caption works too."
        ).format(
            count=found.total,
            people=len(found.people),
            unreachable=found.unreachable,
            groups=len(found.groups),
        ),
    )


def content_of(message: Message) -> tuple[dict[str, Any], str] | None:
    """One version of the broadcast from the coordinator's message, and its HTML source.
    Text formatted in Telegram arrives as entities and is turned into HTML; text without
    any is taken as the coordinator's own HTML, to be checked."""
    entities = message.entities or message.caption_entities or []
    formatted = any(e.type not in DETECTED for e in entities)
    source = message.html_text if formatted else (message.text or message.caption or "")
    if message.text is not None:
        return {"method": "sendMessage", "text": source}, source
    if message.photo:
        return {"method": "sendPhoto", "file": message.photo[-1].file_id, "text": source}, source
    if message.document is not None:
        return {"method": "sendDocument", "file": message.document.file_id, "text": source}, source
    return None


async def draft_message(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    renderer: Renderer,
    broadcasts: BroadcastService,
    draft: Broadcast,
    outbox: OutboxSender,
) -> None:
    if draft.stage == "time":
        await typed_time(message, bot, session, person, broadcasts, draft, outbox)
        return
    found = content_of(message)
    if found is None:
        await session.commit()
        await message.answer(
            _("Send the message as text, or a photo or a document with a caption.")
        )
        return
    item, source = found
    limit = b.TEXT_LIMIT if item["method"] == "sendMessage" else b.CAPTION_LIMIT
    checked = b.check_html(source, limit)
    problems = checked.problems
    if item["method"] != "sendMessage" and not checked.shown:
        problems = [p for p in problems if p.id != "The message has no text."]
    if problems:
        await session.commit()
        locale = broadcasts.locale(person)
        listed = "\n".join(f"• {renderer.text(p, locale)}" for p in problems)
        await message.answer(
            _(
                "Telegram would refuse this message:\n{problems}\n\nSend it again, corrected."
            ).format(problems=listed)
        )
        return
    content = dict(draft.content)
    if draft.stage == "content_en":
        content["en"] = item
    else:
        content = {"all": item}
    draft.content = content
    draft.stage = "ready"
    await session.commit()
    await preview(bot, session, person, broadcasts, draft)


async def preview(
    bot: Bot,
    session: AsyncSession,
    person: Person,
    broadcasts: BroadcastService,
    draft: Broadcast,
) -> None:
    """The message as its recipients will see it (each version), then the count and the
    choices. Should Telegram still refuse it, that is said here."""
    for locale, item in draft.content.items():
        if locale != "all":
            await bot.send_message(
                person.id, _("Version for {language}:").format(language=locale.upper())
            )
        method = SEND_METHODS[item["method"]].model_validate(
            {"chat_id": person.id, **payload(item)}
        )
        try:
            await bot(method)
        except TelegramBadRequest as exc:
            draft.stage = "content"
            draft.content = {}
            await session.commit()
            await bot.send_message(
                person.id,
                _("Telegram refused this message ({reason}). Send it again, corrected.").format(
                    reason=Renderer.escape(exc.message)
                ),
            )
            return
    found = await broadcasts.audience(session, person, draft.audience)
    await session.commit()
    rows = [
        [(_("✅ Send now"), f"bcs:{draft.id}:now")],
        [(_("🕘 Send later…"), f"bcs:{draft.id}:later")],
    ]
    if "all" in draft.content:
        rows.append([(_("🌐 Separate Latvian and English versions"), f"bcs:{draft.id}:two")])
    rows.append([(_("✖ Cancel"), f"bcx:{draft.id}")])
    await bot.send_message(
        person.id,
        _(
            "This is the preview. It goes to {count} recipients ({unreachable} cannot be reached)."
        ).format(count=found.total, unreachable=found.unreachable),
        reply_markup=buttons(rows),
    )


async def send_step(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    broadcasts: BroadcastService,
    outbox: OutboxSender,
) -> None:
    """bcs:<draft>:<now | later | two | at:<when>>"""
    parts = (query.data or "").split(":")
    draft = await broadcasts.draft(session, person, int(parts[1]))
    action = parts[2]
    if draft is None or draft.stage not in ("ready", "time"):
        await session.commit()
        await stale(query)
        return
    await query.answer()
    if action == "two" and "all" in draft.content:
        draft.content = {"lv": draft.content["all"]}
        draft.stage = "content_en"
        await session.commit()
        await bot.send_message(
            person.id,
            _(
                "The message you wrote goes to those who use the bot in Latvian. "
                "Now write the English version."
            ),
        )
        return
    if action == "later":
        draft.stage = "time"
        await session.commit()
        await bot.send_message(
            person.id,
            _("When should it go? Choose, or write a date and time like {example}.").format(
                example="28.11.2026 09:30"
            ),
            reply_markup=buttons(
                [
                    [
                        (_("In an hour"), f"bcs:{draft.id}:at:hour"),
                        (_("Tomorrow at 09:00"), f"bcs:{draft.id}:at:tomorrow"),
                    ]
                ]
            ),
        )
        return
    now = broadcasts.clock.now()
    send_at = None
    if action == "at" and len(parts) > 3:
        zone = broadcasts.zone
        if parts[3] == "hour":
            send_at = now + timedelta(hours=1)
        else:
            tomorrow = now.astimezone(zone).date() + timedelta(days=1)
            send_at = datetime.combine(tomorrow, time(9), tzinfo=zone)
    elif action != "now":
        await session.commit()
        await stale(query)
        return
    await go(bot, session, person, broadcasts, outbox, draft, send_at)


async def go(
    bot: Bot,
    session: AsyncSession,
    person: Person,
    broadcasts: BroadcastService,
    outbox: OutboxSender,
    draft: Broadcast,
    send_at: datetime | None,
) -> None:
    """Confirmed: every recipient becomes an outbox row, in one unit of work."""
    total = await broadcasts.confirm(session, person, draft, send_at)
    await session.commit()
    outbox.wake()
    status = await bot.send_message(
        person.id,
        _("📣 Broadcast #{number} to {total} recipients: starting…").format(
            number=draft.id, total=total
        ),
        reply_markup=cancel_button(draft.id, _("✖ Cancel the broadcast")),
    )
    draft.status_message_id = status.message_id
    await session.commit()


async def typed_time(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    broadcasts: BroadcastService,
    draft: Broadcast,
    outbox: OutboxSender,
) -> None:
    zone = broadcasts.zone
    now = broadcasts.clock.now()
    moment = parse_moment(message.text or "", now.astimezone(zone).date())
    when = moment.replace(tzinfo=zone) if moment is not None else None
    if when is None or when <= now:
        await session.commit()
        await message.answer(
            _("Please write a future date and time like {example}.").format(
                example="28.11.2026 09:30"
            )
        )
        return
    await go(bot, session, person, broadcasts, outbox, draft, when)


async def cancel(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    broadcasts: BroadcastService,
    outbox: OutboxSender,
) -> None:
    broadcast = await session.get(Broadcast, int((query.data or "").split(":")[1]))
    if (
        broadcast is None
        or broadcast.coordinator_id != person.id
        or broadcast.status not in ("draft", "scheduled", "sending")
    ):
        await session.commit()
        await query.answer(_("This broadcast is already over."), show_alert=True)
        return
    was_draft = broadcast.status == "draft"
    stopped = await broadcasts.cancel(session, broadcast)
    await session.commit()
    outbox.cancelled_broadcasts.add(broadcast.id)
    if was_draft:
        await query.answer(_("Cancelled; nothing was sent."), show_alert=True)
    else:
        await query.answer(
            _("Cancelled: {count} will not be sent. What was sent stays sent.").format(
                count=stopped
            ),
            show_alert=True,
        )


# Telegram groups -----------------------------------------------------------


async def groups_command(
    message: Message,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    broadcasts: BroadcastService,
) -> None:
    found = await broadcasts.groups(session, person)
    cohorts = await cohort_service.coordinated(session, person)
    await session.commit()
    if not found:
        await message.answer(
            _(
                "No Telegram group is registered yet. Add the bot to a group: it will ask you "
                "which cohort the group belongs to."
            )
        )
        return
    names = {c.id: c.name for c in cohorts}
    for group in found:
        linked = (
            _("linked to {cohort}").format(cohort=Renderer.escape(names[group.cohort_id]))
            if group.cohort_id in names
            else _("not linked to a cohort")
        )
        rows = [
            [(c.name, f"gl:{group.chat_id}:{c.id}")] for c in cohorts if c.id != group.cohort_id
        ]
        if group.cohort_id is not None:
            rows.append([(_("Unlink"), f"gl:{group.chat_id}:0")])
        await message.answer(
            f"<b>{Renderer.escape(group.title)}</b> · {linked}", reply_markup=buttons(rows)
        )


async def link_group(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    broadcasts: BroadcastService,
    cohort_service: CohortService,
) -> None:
    _prefix, chat_id, cohort_id = (query.data or "").split(":")
    group = await broadcasts.link(session, person, int(chat_id), int(cohort_id))
    if group is None:
        await session.commit()
        await query.answer(_("This group or cohort has changed; see /groups."), show_alert=True)
        return
    cohort = (
        await cohort_service.cohort_of(session, person, int(cohort_id)) if group.cohort_id else None
    )
    await session.commit()
    await query.answer(
        _("“{group}” is linked to {cohort}.").format(group=group.title, cohort=cohort.name)
        if cohort is not None
        else _("“{group}” is no longer linked to a cohort.").format(group=group.title),
        show_alert=True,
    )


async def bot_in_group(
    event: ChatMemberUpdated,
    session: AsyncSession,
    broadcasts: BroadcastService,
    outbox: OutboxSender,
) -> None:
    status = event.new_chat_member.status
    if status in ("member", "administrator", "creator", "restricted"):
        if event.old_chat_member.status in ("left", "kicked"):
            await broadcasts.group_added(
                session, event.chat.id, event.chat.title or "", event.from_user.id
            )
            await session.commit()
            outbox.wake()
    elif status in ("left", "kicked"):
        await broadcasts.group_removed(session, event.chat.id)
        await session.commit()


async def group_upgraded(
    message: Message, session: AsyncSession, broadcasts: BroadcastService
) -> None:
    assert message.migrate_to_chat_id is not None
    await broadcasts.group_moved(session, message.chat.id, message.migrate_to_chat_id)
    await session.commit()


def create_groups_router() -> Router:
    """What happens to the groups the bot is in, whoever does it."""
    router = Router(name=f"{__name__}.groups")
    router.my_chat_member.filter(IN_GROUP)
    router.my_chat_member.register(bot_in_group)
    router.message.register(group_upgraded, IN_GROUP, Magic(F.migrate_to_chat_id))
    return router


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE, IsCoordinator())
    router.callback_query.filter(IsCoordinator())
    router.message.register(broadcast_command, Command("broadcast"))
    router.message.register(groups_command, Command("groups"))
    router.callback_query.register(audience_step, data_prefix("bc:"))
    router.callback_query.register(send_step, data_prefix("bcs:"))
    router.callback_query.register(cancel, data_prefix("bcx:"))
    router.callback_query.register(link_group, data_prefix("gl:"))
    return router


def create_writing_router() -> Router:
    """Before the dialogs: a coordinator writing a broadcast is not answering a dialog."""
    router = Router(name=f"{__name__}.writing")
    router.message.filter(PRIVATE, IsWritingBroadcast())
    router.message.register(draft_message)
    return router
