"""/broadcast and /groups for coordinators, and the bot being added to or removed from
Telegram groups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import BaseFilter, Command
from aiogram.filters.callback_data import CallbackData
from aiogram.methods import (
    AnswerCallbackQuery,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import LOCALES
from bot.domain import broadcast as b
from bot.domain.access import COORDINATION, Standing
from bot.domain.engine import parse_moment
from bot.i18n import LANGUAGE_NAMES
from bot.services.broadcasts import VERSION_STAGE, BroadcastService, payload
from bot.services.programme import Programme
from bot.storage import broadcasts as store
from bot.storage.database import create_sessionmaker
from bot.storage.models import Broadcast, Person
from bot.telegram.access import AccessMiddleware
from bot.telegram.broadcasts import cancel_button
from bot.telegram.buttons import BroadcastAudience, BroadcastCancel, BroadcastSend, GroupLink
from bot.telegram.filters import IN_GROUP, PRIVATE, Magic
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer
from bot.telegram.replies import Replies

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
        policy: AccessMiddleware,
        person: Person | None = None,
        standing: Standing | None = None,
    ) -> bool | dict[str, Any]:
        if person is None:
            return False
        if isinstance(event, Message) and (event.text or "").startswith("/"):
            return False
        # The draft first: only someone who began a broadcast has one, so most messages
        # cost no look-up at all.
        draft = await broadcasts.writing(session, person.id)
        if draft is None:
            return False
        who = standing or await policy.standing(session, person.id)
        if not who.roles & COORDINATION:
            return False
        return {"draft": draft, "standing": who}


def buttons(rows: Sequence[Sequence[tuple[str, CallbackData]]]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for row in rows:
        builder.row(
            *(InlineKeyboardButton(text=label, callback_data=data.pack()) for label, data in row)
        )
    return builder.as_markup()


def sessions_of(session: AsyncSession) -> async_sessionmaker[AsyncSession]:
    """New sessions on the update's database, for what runs once its unit of work is over
    (after a reply was sent)."""
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    return create_sessionmaker(engine)


def audience_picker(draft_id: int) -> InlineKeyboardMarkup:
    def kind(value: str) -> BroadcastAudience:
        return BroadcastAudience(draft=draft_id, step="k", value=value)

    return buttons(
        [
            [(_("Everyone"), kind(b.EVERYONE))],
            [(_("Mentees"), kind("mentee")), (_("Mentors"), kind("mentor"))],
            [(_("A cohort…"), kind("cohort"))],
            [(_("Mentees without a mentor"), kind(b.UNMATCHED))],
            [(_("Pairs without contact for a while…"), kind("quiet"))],
            [(_("Telegram groups"), kind(b.GROUPS))],
            [(_("✖ Cancel"), BroadcastCancel(draft=draft_id))],
        ]
    )


async def broadcast_command(
    message: Message,
    session: AsyncSession,
    person: Person,
    programme: Programme,
    broadcasts: BroadcastService,
    replies: Replies,
) -> None:
    if not await broadcasts.cohorts_of(session, person):
        replies.add(message.answer(_("You run no cohort yet. /cohort_new creates one.")))
        return
    draft = await broadcasts.start(session, person)
    replies.add(
        message.answer(
            _(
                "<b>New broadcast.</b> Who should get it? Only people of your cohorts can be "
                "chosen."
            ),
            reply_markup=audience_picker(draft.id),
        )
    )


def stale(query: CallbackQuery) -> AnswerCallbackQuery:
    return query.answer(
        _("This broadcast has changed; /broadcast starts a new one."), show_alert=True
    )


def number(value: str) -> int | None:
    return int(value) if value.isdigit() else None


async def audience_step(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    programme: Programme,
    broadcasts: BroadcastService,
    callback_data: BroadcastAudience,
    replies: Replies,
) -> None:
    """bc:<draft>:<step>:<value>:<detail> — one button of the audience at a time."""
    draft = await broadcasts.draft(session, person, callback_data.draft)
    if draft is None or draft.stage not in ("audience", "content"):
        replies.add(stale(query))
        return
    step, value, detail = callback_data.step, callback_data.value, callback_data.detail

    def choice(step: str, value: str, detail: str = "") -> BroadcastAudience:
        return BroadcastAudience(draft=draft.id, step=step, value=value, detail=detail)

    # Only the cohorts the person coordinates (an operator's: all) can be chosen.
    cohorts = {c.id: c for c in await broadcasts.cohorts_of(session, person)}
    chosen = number(value)
    audience: dict[str, Any] | None = None
    if step == "k" and value == "cohort":
        replies.add(query.answer())
        replies.add(
            SendMessage(
                chat_id=person.id,
                text=_("Which cohort?"),
                reply_markup=buttons(
                    [[(c.name, choice("c", str(c.id)))] for c in cohorts.values()]
                ),
            )
        )
        return
    if step == "k" and value == "quiet":
        replies.add(query.answer())
        replies.add(
            SendMessage(
                chat_id=person.id,
                text=_("Pairs with no contact for how long? Both sides get the message."),
                reply_markup=buttons(
                    [
                        [
                            (
                                ngettext("{days} day", "{days} days", d).format(days=d),
                                choice("q", str(d)),
                            )
                            for d in b.QUIET_DAYS
                        ]
                    ]
                ),
            )
        )
        return
    if step == "c" and chosen in cohorts:
        replies.add(query.answer())
        replies.add(
            SendMessage(
                chat_id=person.id,
                text=_("Who in this cohort?"),
                reply_markup=buttons(
                    [
                        [(_("Everyone in it"), choice("r", value, "all"))],
                        [
                            (_("Mentees"), choice("r", value, "mentee")),
                            (_("Mentors"), choice("r", value, "mentor")),
                        ],
                        [(_("Its Telegram groups"), choice("r", value, "groups"))],
                    ]
                ),
            )
        )
        return
    if step == "k" and value in (b.EVERYONE, b.UNMATCHED, b.GROUPS):
        audience = {"kind": value}
    elif step == "k" and value in b.ROLES:
        audience = {"kind": b.ROLE, "role": value}
    elif step == "q" and chosen in b.QUIET_DAYS:
        audience = {"kind": b.QUIET_PAIRS, "days": chosen}
    elif step == "r" and chosen in cohorts:
        if detail == "groups":
            audience = {"kind": b.GROUPS, "cohort": chosen}
        elif detail in b.ROLES:
            audience = {"kind": b.COHORT, "cohort": chosen, "role": detail}
        elif detail == "all":
            audience = {"kind": b.COHORT, "cohort": chosen}
    if audience is None:
        replies.add(stale(query))
        return
    replies.add(query.answer())
    found = await broadcasts.audience(session, person, audience)
    if found.total == 0:
        replies.add(
            SendMessage(
                chat_id=person.id,
                text=_("Nobody is in this audience. Choose another:"),
                reply_markup=audience_picker(draft.id),
            )
        )
        return
    draft.audience = audience
    draft.stage = "content"
    replies.add(
        SendMessage(
            chat_id=person.id,
            text=_(
                "Recipients: {count} (people: {people}, of them unreachable: {unreachable}; "
                "Telegram groups: {groups}).\n\n"
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
    replies: Replies,
) -> None:
    if draft.stage == "time":
        await typed_time(message, bot, session, person, broadcasts, draft, outbox, replies)
        return
    found = content_of(message)
    if found is None:
        replies.add(
            message.answer(_("Send the message as text, or a photo or a document with a caption."))
        )
        return
    item, source = found
    limit = b.TEXT_LIMIT if item["method"] == "sendMessage" else b.CAPTION_LIMIT
    checked = b.check_html(source, limit)
    problems = checked.problems
    if item["method"] != "sendMessage" and not checked.shown:
        problems = [p for p in problems if p.id != "The message has no text."]
    if problems:
        locale = broadcasts.locale(person)
        listed = "\n".join(f"• {renderer.text(p, locale)}" for p in problems)
        replies.add(
            message.answer(
                _(
                    "Telegram would refuse this message:\n{problems}\n\nSend it again, corrected."
                ).format(problems=listed)
            )
        )
        return
    content = dict(draft.content)
    if draft.stage.startswith(VERSION_STAGE):
        content[draft.stage.removeprefix(VERSION_STAGE)] = item
    else:
        content = {"all": item}
    draft.content = content
    if not ask_next_version(person, draft, replies):
        draft.stage = "ready"
        await preview(bot, session, person, broadcasts, draft, replies)


def ask_next_version(person: Person, draft: Broadcast, replies: Replies) -> bool:
    """A broadcast written per language waits for the version of each language in turn;
    False once every language has its version."""
    left = [code for code in LOCALES if code not in draft.content]
    if "all" in draft.content or not left:
        return False
    draft.stage = VERSION_STAGE + left[0]
    replies.add(
        SendMessage(
            chat_id=person.id,
            text=_("Now write the version for {language}.").format(
                language=LANGUAGE_NAMES[left[0]]
            ),
        )
    )
    return True


async def preview(
    bot: Bot,
    session: AsyncSession,
    person: Person,
    broadcasts: BroadcastService,
    draft: Broadcast,
    replies: Replies,
) -> None:
    """The message as its recipients will see it (each version), then the count and the
    choices. Should Telegram still refuse it, that is said instead of the choices, and the
    draft waits for the message again."""
    sessions = sessions_of(session)
    draft_id = draft.id
    refusal = _("Telegram refused this message ({reason}). Send it again, corrected.")

    async def refused(exc: TelegramBadRequest) -> None:
        async with sessions() as db:
            current = await store.draft_of(db, person.id)
            if current is not None and current.id == draft_id and current.stage == "ready":
                current.stage = "content"
                current.content = {}
                await db.commit()
        await bot(
            SendMessage(chat_id=person.id, text=refusal.format(reason=Renderer.escape(exc.message)))
        )

    for locale, item in draft.content.items():
        if locale != "all":
            replies.add(
                SendMessage(
                    chat_id=person.id,
                    text=_("Version for {language}:").format(
                        language=LANGUAGE_NAMES.get(locale, locale)
                    ),
                )
            )
        method = SEND_METHODS[item["method"]].model_validate(
            {"chat_id": person.id, **payload(item)}
        )
        replies.add(method, refused=refused)
    found = await broadcasts.audience(session, person, draft.audience)
    rows: list[list[tuple[str, CallbackData]]] = [
        [(_("✅ Send now"), BroadcastSend(draft=draft.id, action="now"))],
        [(_("🕘 Send later…"), BroadcastSend(draft=draft.id, action="later"))],
    ]
    if "all" in draft.content and len(LOCALES) > 1:
        rows.append(
            [
                (
                    _("🌐 A separate version for each language"),
                    BroadcastSend(draft=draft.id, action="two"),
                )
            ]
        )
    rows.append([(_("✖ Cancel"), BroadcastCancel(draft=draft.id))])
    replies.add(
        SendMessage(
            chat_id=person.id,
            text=ngettext(
                "This is the preview. It goes to {count} recipient (unreachable: {unreachable}).",
                "This is the preview. It goes to {count} recipients (unreachable: {unreachable}).",
                found.total,
            ).format(count=found.total, unreachable=found.unreachable),
            reply_markup=buttons(rows),
        )
    )


async def send_step(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    broadcasts: BroadcastService,
    outbox: OutboxSender,
    callback_data: BroadcastSend,
    replies: Replies,
) -> None:
    """bcs:<draft>:<now | later | two | at>:<when: hour | tomorrow>"""
    draft = await broadcasts.draft(session, person, callback_data.draft)
    action = callback_data.action
    if draft is None or draft.stage not in ("ready", "time"):
        replies.add(stale(query))
        return
    if action == "two" and "all" in draft.content:
        replies.add(query.answer())
        written = broadcasts.locale(person)
        draft.content = {written: draft.content["all"]}
        replies.add(
            SendMessage(
                chat_id=person.id,
                text=_("The message you wrote goes to those who use the bot in {language}.").format(
                    language=LANGUAGE_NAMES[written]
                ),
            )
        )
        ask_next_version(person, draft, replies)
        return
    if action == "later":
        replies.add(query.answer())
        draft.stage = "time"
        replies.add(
            SendMessage(
                chat_id=person.id,
                text=_(
                    "When should it go? Choose, or write a date and time like {example}."
                ).format(example="28.11.2026 09:30"),
                reply_markup=buttons(
                    [
                        [
                            (
                                _("In an hour"),
                                BroadcastSend(draft=draft.id, action="at", when="hour"),
                            ),
                            (
                                _("Tomorrow at 09:00"),
                                BroadcastSend(draft=draft.id, action="at", when="tomorrow"),
                            ),
                        ]
                    ]
                ),
            )
        )
        return
    now = broadcasts.clock.now()
    send_at = None
    if action == "at" and callback_data.when == "hour":
        send_at = now + timedelta(hours=1)
    elif action == "at" and callback_data.when == "tomorrow":
        tomorrow = now.astimezone(broadcasts.zone).date() + timedelta(days=1)
        send_at = datetime.combine(tomorrow, time(9), tzinfo=broadcasts.zone)
    elif action != "now":
        replies.add(stale(query))
        return
    replies.add(query.answer())
    await go(bot, session, person, broadcasts, outbox, draft, send_at, replies)


async def go(
    bot: Bot,
    session: AsyncSession,
    person: Person,
    broadcasts: BroadcastService,
    outbox: OutboxSender,
    draft: Broadcast,
    send_at: datetime | None,
    replies: Replies,
) -> None:
    """Confirmed: every recipient becomes an outbox row, in one unit of work. The status
    message's id is kept once it is sent (a short unit of work of its own)."""
    total = await broadcasts.confirm(session, person, draft, send_at)
    sessions = sessions_of(session)
    draft_id = draft.id

    async def shown(status: Message) -> None:
        async with sessions() as db:
            await store.set_status_message(db, draft_id, status.message_id)
            await db.commit()
        outbox.wake()

    replies.add(
        SendMessage(
            chat_id=person.id,
            text=ngettext(
                "📣 Broadcast #{number} to {total} recipient: starting…",
                "📣 Broadcast #{number} to {total} recipients: starting…",
                total,
            ).format(number=draft.id, total=total),
            reply_markup=cancel_button(draft.id, _("✖ Cancel the broadcast")),
        ),
        then=shown,
    )


async def typed_time(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    broadcasts: BroadcastService,
    draft: Broadcast,
    outbox: OutboxSender,
    replies: Replies,
) -> None:
    zone = broadcasts.zone
    now = broadcasts.clock.now()
    moment = parse_moment(message.text or "", now.astimezone(zone).date())
    when = moment.replace(tzinfo=zone) if moment is not None else None
    if when is None or when <= now:
        replies.add(
            message.answer(
                _("Please write a future date and time like {example}.").format(
                    example="28.11.2026 09:30"
                )
            )
        )
        return
    await go(bot, session, person, broadcasts, outbox, draft, when, replies)


async def cancel(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    broadcasts: BroadcastService,
    outbox: OutboxSender,
    callback_data: BroadcastCancel,
    replies: Replies,
) -> None:
    broadcast = await session.get(Broadcast, callback_data.draft)
    if (
        broadcast is None
        or broadcast.coordinator_id != person.id
        or broadcast.status not in ("draft", "scheduled", "sending")
    ):
        replies.add(query.answer(_("This broadcast is already over."), show_alert=True))
        return
    was_draft = broadcast.status == "draft"
    stopped = await broadcasts.cancel(session, broadcast)
    broadcast_id = broadcast.id

    async def cancelled(_sent: object) -> None:
        # Committed: rows this process already claimed do not go either.
        outbox.cancelled_broadcasts.add(broadcast_id)

    replies.add(
        query.answer(
            _("Cancelled; nothing was sent.")
            if was_draft
            else ngettext(
                "Cancelled: {count} message will not be sent. What was sent stays sent.",
                "Cancelled: {count} messages will not be sent. What was sent stays sent.",
                stopped,
            ).format(count=stopped),
            show_alert=True,
        ),
        then=cancelled,
    )


# Telegram groups -----------------------------------------------------------


async def groups_command(
    message: Message,
    session: AsyncSession,
    person: Person,
    programme: Programme,
    broadcasts: BroadcastService,
    replies: Replies,
) -> None:
    found = await broadcasts.groups(session, person)
    cohorts = await broadcasts.cohorts_of(session, person)
    if not found:
        replies.add(
            message.answer(
                _(
                    "No Telegram group is registered yet. Add the bot to a group: it will ask "
                    "you which cohort the group belongs to."
                )
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
        rows: list[list[tuple[str, CallbackData]]] = [
            [(c.name, GroupLink(chat=group.chat_id, cohort=c.id))]
            for c in cohorts
            if c.id != group.cohort_id
        ]
        if group.cohort_id is not None:
            rows.append([(_("Unlink"), GroupLink(chat=group.chat_id, cohort=0))])
        replies.add(
            message.answer(
                f"<b>{Renderer.escape(group.title)}</b> · {linked}", reply_markup=buttons(rows)
            )
        )


async def link_group(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    broadcasts: BroadcastService,
    programme: Programme,
    callback_data: GroupLink,
    replies: Replies,
) -> None:
    group = await broadcasts.link(session, person, callback_data.chat, callback_data.cohort)
    if group is None:
        replies.add(
            query.answer(_("This group or cohort has changed; see /groups."), show_alert=True)
        )
        return
    cohorts = {c.id: c for c in await broadcasts.cohorts_of(session, person)}
    cohort = cohorts.get(callback_data.cohort) if group.cohort_id else None
    replies.add(
        query.answer(
            _("“{group}” is linked to {cohort}.").format(group=group.title, cohort=cohort.name)
            if cohort is not None
            else _("“{group}” is no longer linked to a cohort.").format(group=group.title),
            show_alert=True,
        )
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
            # The coordinators' question is committed before the outbox is woken for it.
            await session.commit()
            outbox.wake()
    elif status in ("left", "kicked"):
        await broadcasts.group_removed(session, event.chat.id)


async def group_upgraded(
    message: Message, session: AsyncSession, broadcasts: BroadcastService
) -> None:
    assert message.migrate_to_chat_id is not None
    await broadcasts.group_moved(session, message.chat.id, message.migrate_to_chat_id)


def create_groups_router() -> Router:
    """What happens to the groups the bot is in, whoever does it."""
    router = Router(name=f"{__name__}.groups")
    router.my_chat_member.filter(IN_GROUP)
    router.my_chat_member.register(bot_in_group)
    router.message.register(group_upgraded, IN_GROUP, Magic(F.migrate_to_chat_id))
    return router


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(broadcast_command, Command("broadcast"))
    router.message.register(groups_command, Command("groups"))
    router.callback_query.register(audience_step, BroadcastAudience.filter())
    router.callback_query.register(send_step, BroadcastSend.filter())
    router.callback_query.register(cancel, BroadcastCancel.filter())
    router.callback_query.register(link_group, GroupLink.filter())
    return router


def create_writing_router() -> Router:
    """Before the dialogs: a coordinator writing a broadcast is not answering a dialog."""
    router = Router(name=f"{__name__}.writing")
    router.message.filter(PRIVATE, IsWritingBroadcast())
    router.message.register(draft_message)
    return router
