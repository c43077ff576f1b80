"""Greeting, menu, help, privacy, language, and the person's own data."""

from __future__ import annotations

import html
import json

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.methods import EditMessageReplyMarkup, SendMessage
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.config import Settings
from bot.domain.access import COORDINATION, GUIDED, IN_PROGRAMME, Role, Standing
from bot.i18n import LANGUAGE_NAMES
from bot.services.cohorts import CohortService, Redeemed
from bot.services.dialogs import DialogService
from bot.services.people import PeopleService
from bot.services.privacy import PrivacyService, summary_counts
from bot.storage.database import checkpoint
from bot.storage.models import Person
from bot.telegram.access import AccessMiddleware
from bot.telegram.buttons import DeleteMe, Language, Menu
from bot.telegram.filters import PRIVATE
from bot.telegram.render import Renderer
from bot.telegram.replies import Replies
from bot.telegram.routers.history import send_history
from bot.telegram.views import DialogView, begin_dialog

# What the main menu offers besides the coaching dialogs.
HISTORY = "history"
LANGUAGE = "language"


def menu() -> InlineKeyboardMarkup:
    """The main menu: the coaching dialogs, the person's history, the language."""
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🎯 GROW session"), callback_data=Menu(choice="grow"))
    builder.button(text=_("☸️ Wheel of Life"), callback_data=Menu(choice="wheel"))
    builder.button(text=_("🔺 Dilts logical levels"), callback_data=Menu(choice="dilts"))
    builder.button(text=_("📚 My history"), callback_data=Menu(choice=HISTORY))
    builder.button(text=_("🌐 Language"), callback_data=Menu(choice=LANGUAGE))
    builder.adjust(1, 1, 1, 2)
    return builder.as_markup()


def greeting(first_name: str) -> str:
    return _(
        "Hello, {name}! I am your mentoring companion.\n\n"
        "I guide you through three coaching tools: the GROW model for a goal and a plan, "
        "the Wheel of Life for a look at your life's balance, and Dilts logical levels for a "
        "problem seen from six levels. The actions you commit to, I follow up.\n\n"
        "I store your answers so that you can stop at any time and continue later; nobody "
        "else sees them unless you decide so. /privacy tells you more."
    ).format(name=html.escape(first_name, quote=False))


async def start(
    message: Message,
    command: CommandObject,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    cohort_service: CohortService,
    people: PeopleService,
    replies: Replies,
) -> None:
    if not command.args:
        replies.add(message.answer(greeting(person.first_name), reply_markup=menu()))
        return
    joining = await cohort_service.join(session, person.id, command.args.strip())
    if joining.result is Redeemed.COORDINATOR:
        people.forget(person.id)
    if joining.result is Redeemed.JOINED:
        assert joining.cohort is not None and joining.turn is not None
        replies.add(
            message.answer(
                _("Welcome to <b>{cohort}</b>!").format(cohort=Renderer.escape(joining.cohort.name))
            )
        )
        await begin_dialog(
            bot, person.id, i18n, renderer, cohort_service.dialogs, session, joining.turn, replies
        )
        return
    text = {
        Redeemed.UNKNOWN: _(
            "This invite link is not valid. Please ask your programme coordinator for a new one."
        ),
        Redeemed.EXPIRED: _(
            "This invite link has expired. Please ask your programme coordinator for a new one."
        ),
        Redeemed.REVOKED: _(
            "This invite link has been revoked. Please ask your programme coordinator for a "
            "new one."
        ),
        Redeemed.USED_UP: _(
            "This invite link has been used as many times as it allows. Please ask your "
            "programme coordinator for a new one."
        ),
        Redeemed.COORDINATOR: _(
            "You now help coordinate this cohort: /cohorts, /match and /pairs are yours."
        ),
        Redeemed.ALREADY: _(
            "You have already joined this cohort. /continue picks up where you stopped."
        ),
    }[joining.result]
    replies.add(message.answer(text))


async def help_(
    message: Message,
    session: AsyncSession,
    person: Person,
    policy: AccessMiddleware,
    replies: Replies,
    standing: Standing | None = None,
) -> None:
    """What the person can do: the coaching tools for everyone, then the mentoring part
    for mentees and mentors (for someone with no role yet, how to join), then the
    coordination part for coordinators and operators."""
    who = standing or await policy.standing(session, person.id)
    parts = [help_text()]
    if who.roles & IN_PROGRAMME:
        parts.append(mentoring_help())
    elif Role.STRANGER in who.roles:
        parts.append(joining_help())
    if who.roles & GUIDED:
        parts.append(_("/guide: how to use GROW, the Wheel and Dilts with a mentee, step by step"))
    if who.roles & COORDINATION:
        parts.append(
            coordinator_help()
            + "\n"
            + _("/game: a quiz game of several questions, with a leaderboard at the end")
            + "\n"
            + _("/dashboard: all of it on a screen, in a browser or from the menu button")
        )
    replies.add(message.answer("\n\n".join(parts)))


def mentoring_help() -> str:
    return _(
        "<b>Mentoring</b>\n"
        "/mentors: choose a mentor, where your programme lets mentees choose\n"
        "/share: whether your mentor sees your session summaries\n"
        "/mentees: mentors, your mentees and whom your messages go to\n"
        "/meet: set your next meeting with your mentor or mentee\n"
        "/contact: swap contacts with your mentoring partner\n"
        "/report: tell the coordinator about a problem\n"
        "/end: end the mentoring, with a short look back\n"
        "Anything else you write outside a session goes to your mentoring partner."
    )


def joining_help() -> str:
    return _(
        "<b>Mentoring</b>\n"
        "To join a mentoring programme, open the invite link your programme coordinator "
        "gave you."
    )


def coordinator_help() -> str:
    return _(
        "<b>For coordinators</b>\n"
        "/cohort_new: a new cohort and its invite links\n"
        "/cohorts: your cohorts, their numbers and links\n"
        "/coordinators: who coordinates your cohorts; an operator can revoke a coordinator there\n"
        "/invite: a new invite link\n"
        "/match: proposed pairs with their reasons, to approve\n"
        "/pairs: pause, resume, end or reassign a pair\n"
        "/cohort_settings: matching, regular check-ins, reminders to mentors and alerts\n"
        "/broadcast: a message to many people or groups\n"
        "/groups: link Telegram groups to cohorts\n"
        "/poll, /quiz: a poll or a quiz to a group or a cohort; /leaderboard\n"
        "/stats: how a cohort is doing\n"
        "/export: CSV files of pairs, sessions and check-ins"
    )


def help_text() -> str:
    return _(
        "<b>What I can do</b>\n\n"
        "/grow: a GROW session: goal, reality, options and the actions you will take\n"
        "/wheel: rate the eight areas of your Wheel of Life and pick actions for the weakest\n"
        "/dilts: look at a situation through the six Dilts logical levels\n"
        "/cancel: pause the session you are in (your answers are kept)\n"
        "/continue: go back to where you stopped\n"
        "/history: your finished sessions and your wheel over time\n"
        "/checkin: a short check-in on how things are\n"
        "/commitments: your actions and their dates\n"
        "/settings: time zone, quiet hours, your check-in day and hour, a pause of reminders\n"
        "/timezone: your time zone by its name, a city or a country, such as /timezone Tokyo\n"
        "/language: choose the language I speak with you\n"
        "/privacy: what I store and how to get or delete it\n\n"
        "In a session, ⬅ Back returns to the previous question so you can change your answer."
    )


def privacy_texts(settings: Settings) -> list[str]:
    """/privacy, one message per part (each well within Telegram's 4096 characters): who is
    responsible and why, what is stored, who sees what, how long it is kept and what the
    person can do. Each claim is what the bot does (tests hold it to that)."""
    unset = _("the operator of this bot has not filled this in yet")
    controller, contact = settings.privacy_controller.strip(), settings.privacy_contact.strip()
    responsible = _(
        "<b>Who is responsible for your data:</b> {controller}\n<b>How to reach them:</b> {contact}"
    ).format(
        controller=Renderer.escape(controller) if controller else unset,
        contact=Renderer.escape(contact) if contact else unset,
    )
    basis = _(
        "<b>Why I may use it:</b> your mood and your Wheel of Life ratings only with your "
        "consent, which you can withdraw at any time in /settings. Everything else I use to "
        "run the coaching tools and the mentoring programme you take part in: they cannot run "
        "without it, and the programme has a legitimate interest in seeing how it goes."
    )
    stored = _(
        "<b>What I store</b>\n"
        "• Your Telegram id, first name and language, and your /settings (time zone, quiet "
        "hours, check-in day and hour, a pause).\n"
        "• Your answers in the coaching sessions and check-ins, and the actions you commit to "
        "with their dates.\n"
        "• In a programme: your intake answers, your cohort, your pairs with their matching "
        "score and reasons, your meetings, what you write when you report a problem or when "
        "a mentoring ends, and your poll and quiz answers.\n"
        "• The messages I pass between you and your mentor or mentee, and those I send you "
        "(reminders, check-ins, notices).\n"
        "• Each message and button press as Telegram delivers it, so that nothing is lost if "
        "the bot restarts.\n"
        "• Your consents, and when you gave or withdrew them."
    )
    who = _(
        "<b>Who sees what</b>\n"
        "• <b>You</b> see all of it: /mydata.\n"
        "• <b>Your mentor</b>, once you are paired, gets the intake answers you gave for them: "
        "occupation and interests, how you make decisions, your first steps and your time "
        "zone. Where mentees choose their mentor, each mentor you ask gets your occupation "
        "and interests and your first steps with your request. Your mentor gets what you "
        "write to them, and your session summaries only as you choose with /share. Their "
        "digest has figures only: how many summaries you shared and, if you always share, "
        "your commitments done and overdue. Your moods and your Wheel ratings reach them only "
        "with your consent.\n"
        "• <b>Your mentee</b> gets what you wrote about yourself for mentees.\n"
        "• <b>Your programme's coordinators</b> see who is in the cohort and who is paired "
        "with whom, with the matching reasons; the cohort's figures (tools finished, check-ins "
        "answered, commitments, and the average mood and Wheel change of those who consent); "
        "an export of which tools you finished and when, and of each check-in: whether you "
        "talked with your mentor and, with your consent, its mood, by your Telegram id; what "
        "you write when you report a problem or when a mentoring ends; your poll and quiz "
        "answers (polls are not anonymous). They are told when you answer the mood question "
        "with 2 or lower twice in a row (only with your consent), when a pair has had no "
        "contact for a long time, when a mentee's message waits long for an answer and when a "
        "message could not be delivered.\n"
        "• <b>The operator</b> of this bot can access the database to keep it running."
    )
    outbox_days, days = settings.outbox_retention_days, settings.retention_days
    kept = "\n".join(
        [
            _("<b>How long</b>"),
            "• "
            + ngettext(
                "The texts of the messages I have sent (passed on, reminders, notices) are "
                "removed {days} day after they were sent.",
                "The texts of the messages I have sent (passed on, reminders, notices) are "
                "removed {days} days after they were sent.",
                outbox_days,
            ).format(days=outbox_days),
            "• "
            + ngettext(
                "A cohort's data is deleted {days} day after the cohort ends; its coordinators "
                "keep only figures without names.",
                "A cohort's data is deleted {days} days after the cohort ends; its coordinators "
                "keep only figures without names.",
                days,
            ).format(days=days),
            "• "
            + _(
                "Messages and button presses as Telegram delivers them: until they are "
                "handled; then only their number and when they were handled."
            ),
            "• " + _("Everything else, until you delete it."),
        ]
    )
    if settings.encrypt_data:
        stored += "\n\n" + _(
            "<b>How it is protected:</b> what you write (answers, commitments, messages) is "
            "stored encrypted, with a key kept apart from the database."
        )
    rights = _(
        "<b>What you can do</b>\n"
        "• /mydata sends you everything I store about you, as a file.\n"
        "• /deleteme deletes all of it for good.\n"
        "• /settings gives or withdraws your consent for the mood and the Wheel ratings.\n"
        "• For anything else, write to whoever is responsible (above)."
    )
    return [
        _("<b>Privacy</b>") + "\n\n" + responsible + "\n\n" + basis,
        stored,
        who,
        kept + "\n\n" + rights,
    ]


async def privacy(message: Message, settings: Settings, replies: Replies) -> None:
    for part in privacy_texts(settings):
        replies.add(message.answer(part))


async def language(message: Message, replies: Replies) -> None:
    replies.add(message.answer(_("Choose your language:"), reply_markup=language_keyboard()))


def language_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        builder.button(text=name, callback_data=Language(code=code))
    return builder.as_markup()


async def set_language(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    people: PeopleService,
    replies: Replies,
    callback_data: Language,
) -> None:
    code = callback_data.code
    if code not in LANGUAGE_NAMES:
        replies.add(query.answer(_("This button no longer works."), show_alert=True))
        return
    await people.set_language(session, person, code)
    replies.add(query.answer())
    with i18n.use_locale(code):
        replies.add(
            SendMessage(
                chat_id=person.id,
                text=_("Done. Language: {language}.").format(language=LANGUAGE_NAMES[code]),
                reply_markup=menu(),
            )
        )


async def menu_choice(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    replies: Replies,
    callback_data: Menu,
) -> None:
    """The main menu: the language, the history, or a coaching dialog (only those: a form
    or an intake is started by what it is for)."""
    choice = callback_data.choice
    if choice == LANGUAGE:
        replies.add(query.answer())
        replies.add(
            SendMessage(
                chat_id=person.id,
                text=_("Choose your language:"),
                reply_markup=language_keyboard(),
            )
        )
        return
    if choice == HISTORY:
        replies.add(query.answer())
        await send_history(replies, person.id, session, dialogs, renderer, i18n.current_locale)
        return
    dialog = dialogs.dialogs.get(choice)
    if dialog is None or dialog.kind != "coaching":
        replies.add(query.answer(_("This button no longer works."), show_alert=True))
        return
    replies.add(query.answer())
    turn = await dialogs.start(session, person.id, dialog.id)
    await DialogView(replies, person.id, i18n.current_locale, renderer, dialogs, session).begin(
        turn
    )


async def my_data(
    message: Message,
    session: AsyncSession,
    person: Person,
    privacy: PrivacyService,
    replies: Replies,
) -> None:
    """A copy of everything stored about the person (docs/personal-data.md), with a few
    figures of what it holds."""
    data = await privacy.export(session, person.id)
    assert data is not None
    n = summary_counts(data)
    lines = [
        ngettext(
            "{n} coaching session or form", "{n} coaching sessions or forms", n.sessions
        ).format(n=n.sessions),
        ngettext("{n} commitment", "{n} commitments", n.commitments).format(n=n.commitments),
        ngettext("{n} mentoring pair", "{n} mentoring pairs", n.pairs).format(n=n.pairs),
        ngettext(
            "{n} message passed between you and your mentoring partner",
            "{n} messages passed between you and your mentoring partner",
            n.messages,
        ).format(n=n.messages),
        ngettext("{n} stored record in all", "{n} stored records in all", n.rows).format(n=n.rows),
    ]
    caption = "\n".join(
        [_("Everything I store about you, as a JSON file. In it:"), *(f"· {x}" for x in lines)]
    )
    document = BufferedInputFile(
        json.dumps(data, ensure_ascii=False, indent=2).encode(), "my-data.json"
    )
    replies.add(message.answer_document(document, caption=caption))


async def delete_me(message: Message, replies: Replies) -> None:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, delete everything"), callback_data=DeleteMe(answer="yes"))
    builder.button(text=_("No, keep it"), callback_data=DeleteMe(answer="no"))
    replies.add(
        message.answer(
            _(
                "This deletes everything I store about you for good: your answers, sessions, "
                "commitments, profile, mentoring pairs and messages. If you are in a mentoring "
                "pair, it ends, and your partner and your programme coordinator are told. "
                "Are you sure?"
            ),
            reply_markup=builder.as_markup(),
        )
    )


async def delete_me_confirmed(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    privacy: PrivacyService,
    replies: Replies,
    callback_data: DeleteMe,
) -> None:
    """The answer to /deleteme. Deleting is the same however often it is pressed: a second
    tap finds nothing more to delete (the person is only as new as that tap). Once it is
    committed, SQLite's WAL is emptied into the file, so no copy of a deleted page stays."""
    replies.add(query.answer())
    if query.message is not None:
        replies.add(EditMessageReplyMarkup(chat_id=person.id, message_id=query.message.message_id))
    if callback_data.answer != "yes":
        replies.add(SendMessage(chat_id=person.id, text=_("Nothing was deleted.")))
        return
    await privacy.erase(session, person.id)
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    replies.afterwards(lambda: checkpoint(engine))
    replies.add(
        SendMessage(
            chat_id=person.id,
            text=_("Everything I stored about you is deleted. If you write again, I start afresh."),
        )
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help"))
    router.message.register(privacy, Command("privacy"))
    router.message.register(language, Command("language"))
    router.callback_query.register(set_language, Language.filter())
    router.callback_query.register(menu_choice, Menu.filter())
    router.message.register(my_data, Command("mydata"))
    router.message.register(delete_me, Command("deleteme"))
    router.callback_query.register(delete_me_confirmed, DeleteMe.filter())
    return router
