"""Programme coordinators: cohorts, invite links, matching."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import BaseFilter, Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.cohorts import SETTINGS, CohortSettings
from bot.domain.texts import N_, msg_from_json
from bot.services.cohorts import CohortService
from bot.services.matching import MatchingService, Proposal
from bot.services.pairs import PairService
from bot.storage.models import Cohort, Person
from bot.telegram.filters import PRIVATE, data_prefix
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer, split_html
from bot.telegram.views import begin_dialog

COMMANDS = (
    "cohort_new",
    "cohorts",
    "match",
    "pairs",
    "cohort_settings",
    "invite",
    "broadcast",
    "groups",
)


class IsCoordinator(BaseFilter):
    async def __call__(
        self, event: Any, cohort_service: CohortService, person: Person | None = None
    ) -> bool:
        return cohort_service.is_coordinator(person)


async def new_cohort(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    cohort_service: CohortService,
) -> None:
    turn = await cohort_service.dialogs.start(session, person.id, "cohort_new", restart=True)
    await begin_dialog(bot, person.id, i18n, renderer, cohort_service.dialogs, session, turn)


async def send_cohorts(
    bot: Bot, person: Person, session: AsyncSession, cohort_service: CohortService
) -> None:
    me = await bot.me()
    views = await cohort_service.cohort_views(session, person)
    if not views:
        await bot.send_message(person.id, _("You run no cohort yet. /cohort_new creates one."))
        return
    role_names = {"mentee": _("Mentees"), "mentor": _("Mentors"), "coordinator": _("Coordinators")}
    blocks = []
    for view in views:
        links = "\n".join(
            f"{role_names[i.role]}: https://t.me/{me.username}?start={i.code}" for i in view.invites
        )
        blocks.append(
            _(
                "<b>{name}</b> (ends {ends})\nMentees: {mentees} · mentors: {mentors} · "
                "active pairs: {pairs}\nInvite links:\n{links}"
            ).format(
                name=Renderer.escape(view.cohort.name),
                ends=view.cohort.ends_on.isoformat() if view.cohort.ends_on else "—",
                mentees=view.mentees,
                mentors=view.mentors,
                pairs=view.active_pairs,
                links=links,
            )
        )
    for part in split_html("\n\n".join(blocks)):
        await bot.send_message(person.id, part)


async def cohorts(
    message: Message, bot: Bot, session: AsyncSession, person: Person, cohort_service: CohortService
) -> None:
    await send_cohorts(bot, person, session, cohort_service)


async def match_command(
    message: Message, session: AsyncSession, person: Person, cohort_service: CohortService
) -> None:
    runs = await cohort_service.coordinated(session, person)
    await session.commit()
    if not runs:
        await message.answer(_("You run no cohort yet. /cohort_new creates one."))
        return
    await message.answer(
        _("Which cohort do you want to match?"),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=c.name, callback_data=f"match:{c.id}")] for c in runs
            ]
        ),
    )


def proposal_text(proposal: Proposal, renderer: Renderer, locale: str) -> str:
    names = proposal.names
    lines = [
        _("<b>Matching proposal for {cohort}</b>").format(
            cohort=Renderer.escape(proposal.cohort.name)
        )
    ]
    for pair in proposal.pairs:
        reasons = "; ".join(renderer.text(msg_from_json(r), locale) for r in pair.reasons)
        lines.append(
            f"#{pair.id} · {Renderer.escape(names.get(pair.mentee_id, '?'))} → "
            f"{Renderer.escape(names.get(pair.mentor_id, '?'))} · <b>{pair.score}</b>\n"
            f"<i>{reasons}</i>"
        )
    if proposal.unmatched:
        lines.append(_("<b>Left unmatched</b>"))
        for mentee_id, reason in proposal.unmatched.items():
            lines.append(
                f"{Renderer.escape(names.get(mentee_id, '?'))}: {renderer.text(reason, locale)}"
            )
    if not proposal.pairs and not proposal.unmatched:
        lines.append(
            _(
                "Everyone in this cohort already has a mentor, or nobody has "
                "finished the intake yet."
            )
        )
    return "\n\n".join(lines)


def proposal_keyboard(proposal: Proposal) -> InlineKeyboardMarkup:
    rows = []
    if proposal.pairs:
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("✅ Approve all"), callback_data=f"mok:{proposal.cohort.id}"
                )
            ]
        )
    rows += [
        [
            InlineKeyboardButton(
                text=_("✅ #{pair}").format(pair=p.id),
                callback_data=f"mok:{proposal.cohort.id}:{p.id}",
            ),
            InlineKeyboardButton(
                text=_("Exclude #{pair} and match again").format(pair=p.id),
                callback_data=f"mex:{p.id}:{proposal.cohort.id}",
            ),
        ]
        for p in proposal.pairs[:20]
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def show_proposal(
    bot: Bot, person: Person, proposal: Proposal, renderer: Renderer, locale: str
) -> None:
    parts = split_html(proposal_text(proposal, renderer, locale))
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        await bot.send_message(
            person.id, part, reply_markup=proposal_keyboard(proposal) if last else None
        )


async def run_matching(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    cohort_service: CohortService,
    matching: MatchingService,
) -> None:
    cohort_id = int((query.data or "").split(":")[1])
    cohort = await cohort_service.cohort_of(session, person, cohort_id)
    if cohort is None:
        await query.answer(_("This is not one of your cohorts."), show_alert=True)
        return
    await query.answer()
    proposal = await matching.propose(session, cohort)
    await show_proposal(bot, person, proposal, renderer, i18n.current_locale)


async def exclude_pair(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    cohort_service: CohortService,
    matching: MatchingService,
) -> None:
    _prefix, pair_id, cohort_id = (query.data or "").split(":")
    cohort = await cohort_service.cohort_of(session, person, int(cohort_id))
    if cohort is None or not await matching.exclude(session, cohort, int(pair_id)):
        await query.answer(_("This proposal has changed; run /match again."), show_alert=True)
        return
    await query.answer()
    proposal = await matching.propose(session, cohort)
    await show_proposal(bot, person, proposal, renderer, i18n.current_locale)


async def approve_all(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    matching: MatchingService,
    pair_service: PairService,
    outbox: OutboxSender,
) -> None:
    """Approve the whole proposal, or (with a pair id) one pair of it."""
    parts = (query.data or "").split(":")
    cohort = await cohort_service.cohort_of(session, person, int(parts[1]))
    if cohort is None:
        await query.answer(_("This is not one of your cohorts."), show_alert=True)
        return
    approved = await matching.approve(session, cohort, [int(parts[2])] if len(parts) > 2 else None)
    if not approved:
        await session.commit()
        await query.answer(_("This proposal has changed; run /match again."), show_alert=True)
        return
    await pair_service.introduce(session, approved)
    outbox.wake()
    await query.answer()
    if query.message is not None:
        left = await matching.proposal(session, cohort)
        await session.commit()
        await bot.edit_message_reply_markup(
            chat_id=person.id,
            message_id=query.message.message_id,
            reply_markup=proposal_keyboard(Proposal(cohort, left, {}, {})) if left else None,
        )
    await bot.send_message(
        person.id,
        _("Pairs approved: {count}. Both sides are being introduced.").format(count=len(approved)),
    )


async def pairs(
    message: Message, session: AsyncSession, person: Person, pair_service: PairService
) -> None:
    found = await pair_service.pairs_of_cohorts(session, person)
    names = await pair_service.names(session, found)
    await session.commit()
    if not found:
        await message.answer(_("Your cohorts have no active or paused pairs."))
        return
    for pair in found:
        state = _("active") if pair.status == "active" else _("paused")
        toggle = ("paused", _("⏸ Pause")) if pair.status == "active" else ("active", _("▶️ Resume"))
        await message.answer(
            f"#{pair.id} · {Renderer.escape(names.get(pair.mentee_id, '?'))} → "
            f"{Renderer.escape(names.get(pair.mentor_id, '?'))} · {state}",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text=toggle[1], callback_data=f"ps:{pair.id}:{toggle[0]}"
                        ),
                        InlineKeyboardButton(text=_("⏹ End"), callback_data=f"ps:{pair.id}:ended"),
                        InlineKeyboardButton(
                            text=_("🔁 Reassign"), callback_data=f"ps:{pair.id}:reassign"
                        ),
                    ]
                ]
            ),
        )


async def pair_status(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    pair_service: PairService,
    outbox: OutboxSender,
) -> None:
    _prefix, pair_id, action = (query.data or "").split(":")
    reassign = action == "reassign"
    pair = await pair_service.set_pair_status(
        session,
        person,
        int(pair_id),
        "ended" if reassign else action,
        reason="reassigned by the coordinator" if reassign else "ended by the coordinator",
    )
    if pair is None:
        await query.answer(_("This pair has changed; see /pairs again."), show_alert=True)
        return
    outbox.wake()
    await query.answer(
        _("Ended; both sides have been told. /match finds the mentee another mentor.")
        if reassign
        else _("Done; both sides have been told."),
        show_alert=True,
    )
    if query.message is not None:
        await bot.edit_message_reply_markup(chat_id=person.id, message_id=query.message.message_id)


SETTING_NAMES = {
    "matching_mode": N_("Matching"),
    "weights": N_("What counts most"),
    "max_timezone_hours": N_("Time zones at most apart"),
    "response_hours": N_("Time a mentor has to answer a request"),
    "checkins": N_("Regular check-ins"),
    "nudge_hours": N_("Nudge a mentor after"),
    "no_contact_days": N_("Tell me about a pair without contact after"),
}
SETTING_VALUES = {
    "most_matched": N_("as many matched as possible first"),
    "best_scores": N_("best scores first"),
    "balanced": N_("balanced"),
    "topics": N_("topics first"),
    "practical": N_("time zone and availability first"),
    "weekly": N_("weekly"),
    "fortnightly": N_("every two weeks"),
    "off": N_("off"),
}


def cohort_picker(cohorts: list[Cohort], prefix: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=c.name, callback_data=f"{prefix}:{c.id}")] for c in cohorts
        ]
    )


async def choose_cohort(
    message: Message,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    prefix: str,
    question: str,
) -> None:
    runs = await cohort_service.coordinated(session, person)
    await session.commit()
    if not runs:
        await message.answer(_("You run no cohort yet. /cohort_new creates one."))
        return
    await message.answer(question, reply_markup=cohort_picker(runs, prefix))


async def settings_command(
    message: Message, session: AsyncSession, person: Person, cohort_service: CohortService
) -> None:
    await choose_cohort(
        message, session, person, cohort_service, "cset", _("Settings of which cohort?")
    )


def settings_view(cohort: Cohort) -> tuple[str, InlineKeyboardMarkup]:
    def shown(key: str) -> str:
        value = getattr(CohortSettings.of(cohort.settings), key)
        if key == "no_contact_days":
            return _("{days} d").format(days=value)
        if isinstance(value, int):
            return _("{hours} h").format(hours=value)
        return _(SETTING_VALUES[value])

    text = _("<b>{cohort}</b>: press a setting to change it.").format(
        cohort=Renderer.escape(cohort.name)
    )
    rows = [
        [
            InlineKeyboardButton(
                text=f"{_(SETTING_NAMES[key])}: {shown(key)}", callback_data=f"cs:{cohort.id}:{key}"
            )
        ]
        for key in SETTINGS
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


async def show_settings(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
) -> None:
    cohort = await cohort_service.cohort_of(session, person, int((query.data or "").split(":")[1]))
    await session.commit()
    if cohort is None:
        await query.answer(_("This is not one of your cohorts."), show_alert=True)
        return
    await query.answer()
    text, markup = settings_view(cohort)
    await bot.send_message(person.id, text, reply_markup=markup)


async def change_setting(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
) -> None:
    _prefix, cohort_id, key = (query.data or "").split(":")
    cohort = await cohort_service.cohort_of(session, person, int(cohort_id))
    if cohort is None or key not in SETTINGS:
        await session.commit()
        await query.answer(_("This is not one of your cohorts."), show_alert=True)
        return
    await cohort_service.change_setting(session, cohort, key)
    await query.answer()
    if query.message is not None:
        text, markup = settings_view(cohort)
        await bot.edit_message_text(
            text, chat_id=person.id, message_id=query.message.message_id, reply_markup=markup
        )


INVITE_DAYS = (1, 7, 30, 0)
INVITE_USES = (1, 10, 50, 0)


async def invite_command(
    message: Message, session: AsyncSession, person: Person, cohort_service: CohortService
) -> None:
    await choose_cohort(
        message, session, person, cohort_service, "inv", _("An invite link for which cohort?")
    )


async def invite_step(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
) -> None:
    """/invite, one button at a time: cohort, role, how long it is valid, how many uses."""
    parts = (query.data or "").split(":")[1:]
    cohort = await cohort_service.cohort_of(session, person, int(parts[0]))
    if cohort is None:
        await session.commit()
        await query.answer(_("This is not one of your cohorts."), show_alert=True)
        return
    await query.answer()
    base = ":".join(["inv", *parts])

    def row(options: list[tuple[str, str]]) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text=label, callback_data=f"{base}:{value}")
                    for label, value in options
                ]
            ]
        )

    if len(parts) == 1:
        await bot.send_message(
            person.id,
            _("For whom?"),
            reply_markup=row(
                [
                    (_("Mentees"), "mentee"),
                    (_("Mentors"), "mentor"),
                    (_("Coordinators"), "coordinator"),
                ]
            ),
        )
    elif len(parts) == 2:
        await bot.send_message(
            person.id,
            _("Valid for how long?"),
            reply_markup=row(
                [
                    (_("{days} d").format(days=d) if d else _("No limit"), str(d))
                    for d in INVITE_DAYS
                ]
            ),
        )
    elif len(parts) == 3:
        await bot.send_message(
            person.id,
            _("How many people may use it?"),
            reply_markup=row([(str(n) if n else _("No limit"), str(n)) for n in INVITE_USES]),
        )
    else:
        role, days, uses = parts[1], int(parts[2]), int(parts[3])
        if (
            role not in ("mentee", "mentor", "coordinator")
            or days not in INVITE_DAYS
            or uses not in INVITE_USES
        ):
            return
        expires = cohort_service.clock.now() + timedelta(days=days) if days else None
        invite = await cohort_service.create_invite(session, cohort, role, expires, uses or None)
        me = await bot.me()
        await bot.send_message(
            person.id,
            _("The invite link:\n{link}").format(
                link=f"https://t.me/{me.username}?start={invite.code}"
            ),
        )


async def refuse(message: Message) -> None:
    await message.answer(_("This command is for programme coordinators."))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE, IsCoordinator())
    router.callback_query.filter(IsCoordinator())
    router.message.register(new_cohort, Command("cohort_new"))
    router.message.register(cohorts, Command("cohorts"))
    router.message.register(match_command, Command("match"))
    router.callback_query.register(run_matching, data_prefix("match:"))
    router.callback_query.register(exclude_pair, data_prefix("mex:"))
    router.callback_query.register(approve_all, data_prefix("mok:"))
    router.message.register(pairs, Command("pairs"))
    router.message.register(settings_command, Command("cohort_settings"))
    router.callback_query.register(show_settings, data_prefix("cset:"))
    router.callback_query.register(change_setting, data_prefix("cs:"))
    router.message.register(invite_command, Command("invite"))
    router.callback_query.register(invite_step, data_prefix("inv:"))
    router.callback_query.register(pair_status, data_prefix("ps:"))
    return router


def create_refusals() -> Router:
    """After every role's router: their commands, used by someone else, get a clear no."""
    router = Router(name=f"{__name__}.refusals")
    router.message.filter(PRIVATE)
    router.message.register(refuse, Command(*COMMANDS))
    return router
