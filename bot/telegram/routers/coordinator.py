"""Programme coordinators: cohorts, invite links, coordinators, matching, pairs.

Who may use what here is the access policy's (bot/domain/access.py): a command reaches a
handler only from a coordinator or an operator, a press only from a coordinator of the
cohort it names (an operator coordinates every cohort). A handler still finds what a
press names gone meanwhile, and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.methods import EditMessageReplyMarkup, EditMessageText, SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import cohorts as cohort_rules
from bot.domain.access import Standing
from bot.domain.cohorts import SETTINGS
from bot.domain.texts import N_, Msg, msg_from_json
from bot.services.cohorts import CohortService
from bot.services.coordination import (
    COORDINATOR,
    INVITE_DAYS,
    INVITE_USES,
    MENTEE,
    MENTOR,
    CohortOverview,
    CoordinationService,
    Dismissed,
    Link,
    LinkRevocation,
    LinkState,
    Minted,
    Team,
    link_code,
    link_state,
    overview,
)
from bot.services.matching import MatchingService, Proposal
from bot.services.pairs import PairLine, PairService
from bot.storage.models import Cohort, Pair, Person
from bot.telegram.buttons import (
    Approve,
    Button,
    CohortCoordinators,
    CohortSetting,
    CohortSettings,
    Exclude,
    InviteStep,
    PairStatus,
    PairsView,
    ProposalPage,
    RemindIntake,
    RevokeInvite,
    RunMatching,
)
from bot.telegram.filters import PRIVATE
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer, split_html
from bot.telegram.replies import Replies
from bot.telegram.views import begin_dialog

Row = Sequence[tuple[str, Button]]
# Ended links /cohorts still shows for a cohort, the newest; older ones are only counted.
ENDED_LINKS_SHOWN = 5


def keyboard(rows: Iterable[Row]) -> InlineKeyboardMarkup | None:
    """Inline buttons from (label, button) rows; ``None`` when there is none."""
    builder = InlineKeyboardBuilder()
    for row in rows:
        if row:
            builder.row(
                *(InlineKeyboardButton(text=label, callback_data=b.pack()) for label, b in row)
            )
    markup = builder.as_markup()
    return markup if markup.inline_keyboard else None


def say(
    replies: Replies, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """A long text in as many messages as it takes; the buttons go under the last."""
    parts = split_html(text)
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        replies.add(SendMessage(chat_id=chat_id, text=part, reply_markup=markup if last else None))


def gone(query: CallbackQuery, replies: Replies) -> None:
    replies.add(query.answer(_("This button no longer works."), show_alert=True))


async def new_cohort(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    cohort_service: CohortService,
    replies: Replies,
) -> None:
    turn = await cohort_service.dialogs.start(session, person.id, "cohort_new", restart=True)
    await begin_dialog(
        bot, person.id, i18n, renderer, cohort_service.dialogs, session, turn, replies
    )


ROLE_NAMES = {MENTEE: N_("Mentees"), MENTOR: N_("Mentors"), COORDINATOR: N_("Coordinators")}


def deep_link(username: str | None, code: str) -> str:
    return f"https://t.me/{username}?start={code}"


def moment(at: datetime, zone: str | None) -> str:
    """A moment in the coordinator's time zone (UTC if they set none)."""
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ValueError, KeyError):
        tz, zone = ZoneInfo("UTC"), "UTC"
    return f"{at.astimezone(tz):%Y-%m-%d %H:%M} ({zone or 'UTC'})"


def link_terms(link: Link, zone: str | None) -> str:
    """How long and how often a link still works, or why and since when it no longer does."""
    invite = link.invite
    used = invite.uses
    if link.state is LinkState.SPENT:
        return ngettext("spent: used {used} time", "spent: used {used} times", used).format(
            used=used
        )
    if link.state is LinkState.EXPIRED:
        assert invite.expires_at is not None
        return _("expired {time}").format(time=moment(invite.expires_at, zone))
    if link.state is LinkState.REVOKED:
        assert invite.revoked_at is not None
        return _("revoked {time}").format(time=moment(invite.revoked_at, zone))
    left = link.uses_left
    expires = invite.expires_at
    return _("active: {uses}, {until}").format(
        uses=_("uses left: {count}").format(count=left) if left is not None else _("no use limit"),
        until=_("until {time}").format(time=moment(expires, zone)) if expires else _("no expiry"),
    )


def cohort_view(
    view: CohortOverview, username: str | None, zone: str | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A cohort for /cohorts: its numbers, its links with their state, a button to revoke
    each link that still works and one to its coordinators."""
    cohort = view.cohort
    live = [link for link in view.links if link.state is LinkState.LIVE]
    ended = [link for link in view.links if link.state is not LinkState.LIVE]
    lines = []
    for number, link in enumerate(live, start=1):
        lines.append(
            f"{number}. {_(ROLE_NAMES.get(link.invite.role, link.invite.role))}: "
            f"{deep_link(username, link.invite.code)} · {link_terms(link, zone)}"
        )
    shown = ended[-ENDED_LINKS_SHOWN:]
    for number, link in enumerate(shown, start=len(live) + 1):
        lines.append(
            f"{number}. {_(ROLE_NAMES.get(link.invite.role, link.invite.role))} · "
            f"{link_terms(link, zone)}"
        )
    if len(ended) > len(shown):
        lines.append(
            ngettext(
                "…and {count} older link that no longer works.",
                "…and {count} older links that no longer work.",
                len(ended) - len(shown),
            ).format(count=len(ended) - len(shown))
        )
    # A role whose every link has ended: nobody can join as one until a new link is made.
    for role in (MENTEE, MENTOR):
        if not any(link.invite.role == role for link in live):
            lines.append(
                _("{role}: no link works now; /invite makes one.").format(role=_(ROLE_NAMES[role]))
            )
    text = _(
        "<b>{name}</b> (ends {ends})\nMentees: {mentees} · mentors: {mentors} · "
        "active pairs: {pairs}\nInvite links:\n{links}"
    ).format(
        name=Renderer.escape(cohort.name),
        ends=cohort.ends_on.isoformat() if cohort.ends_on else "—",
        mentees=view.mentees,
        mentors=view.mentors,
        pairs=view.active_pairs,
        links="\n".join(lines) or "—",
    )
    revoke = [
        (
            _("🚫 Revoke link {number}").format(number=n),
            RevokeInvite(cohort=cohort.id, code=link.invite.code),
        )
        for n, link in enumerate(live, start=1)
    ][:90]
    rows: list[Row] = [revoke[i : i + 3] for i in range(0, len(revoke), 3)]
    rows.append([(_("👥 Coordinators"), CohortCoordinators(cohort=cohort.id))])
    return text, keyboard(rows)


async def send_cohorts(
    bot: Bot,
    person: Person,
    session: AsyncSession,
    cohort_service: CohortService,
    replies: Replies,
) -> None:
    """Each cohort the person coordinates, with its links (a message each)."""
    me = await bot.me()
    views = await overview(
        session, await cohort_service.coordinated(session, person), cohort_service.clock.now()
    )
    if not views:
        replies.add(
            SendMessage(
                chat_id=person.id, text=_("You run no cohort yet. /cohort_new creates one.")
            )
        )
    for view in views:
        text, markup = cohort_view(view, me.username, person.timezone)
        say(replies, person.id, text, markup)


async def cohorts(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    replies: Replies,
) -> None:
    await send_cohorts(bot, person, session, cohort_service, replies)


async def revoke_invite(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    coordination: CoordinationService,
    callback_data: RevokeInvite,
    replies: Replies,
) -> None:
    """A link of /cohorts revoked; the cohort's message shows it so."""
    cohort = await coordination.cohort(session, person.id, callback_data.cohort)
    if cohort is None:
        gone(query, replies)
        return
    result = await coordination.revoke_link(session, cohort.id, callback_data.code)
    replies.add(
        query.answer(
            {
                LinkRevocation.REVOKED: _("Revoked: nobody can join with this link any more."),
                LinkRevocation.NOT_LIVE: _("This link no longer works anyway."),
                LinkRevocation.GONE: _("This button no longer works."),
            }[result],
            show_alert=result is not LinkRevocation.REVOKED,
        )
    )
    if result is LinkRevocation.GONE or query.message is None:
        return
    me = await bot.me()
    (view,) = await overview(session, [cohort], cohort_service.clock.now())
    text, markup = cohort_view(view, me.username, person.timezone)
    message_id = query.message.message_id
    if len(split_html(text)) == 1:
        replies.add(
            EditMessageText(
                chat_id=person.id, message_id=message_id, text=text, reply_markup=markup
            )
        )
    else:
        # The cohort's text took several messages: only the buttons under the last change.
        replies.add(
            EditMessageReplyMarkup(chat_id=person.id, message_id=message_id, reply_markup=markup)
        )


def team_view(
    team: Team, viewer: Standing, coordination: CoordinationService
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A cohort's coordinators; an operator gets a button to revoke each (but operators,
    who coordinate every cohort anyway)."""
    lines = [
        _("<b>{cohort}</b>: its coordinators").format(cohort=Renderer.escape(team.cohort.name))
    ]
    own = [p for p in team.coordinators if not coordination.is_operator(p.id)]
    for number, member in enumerate(team.coordinators, start=1):
        name = Renderer.escape(member.first_name or str(member.id))
        if coordination.is_operator(member.id):
            name = _("{name} (operator)").format(name=name)
        lines.append(f"{number}. {name}")
    if not own:
        lines.append(_("No coordinator of its own: the operators of this bot run it."))
    rows: list[Row] = []
    if viewer.operator:
        rows = [
            [
                (
                    _("🚫 Revoke {number}. {name}").format(
                        number=number, name=member.first_name or str(member.id)
                    ),
                    CohortCoordinators(cohort=team.cohort.id, person=member.id),
                )
            ]
            for number, member in enumerate(team.coordinators, start=1)
            if not coordination.is_operator(member.id)
        ]
    return "\n".join(lines), keyboard(rows)


async def coordinators_command(
    message: Message,
    session: AsyncSession,
    person: Person,
    coordination: CoordinationService,
    standing: Standing,
    replies: Replies,
) -> None:
    """/coordinators: for each cohort the person coordinates, its coordinators."""
    teams = await coordination.teams(session, await coordination.cohorts(session, person.id))
    if not teams:
        replies.add(message.answer(_("You run no cohort yet. /cohort_new creates one.")))
        return
    for team in teams:
        text, markup = team_view(team, standing, coordination)
        say(replies, person.id, text, markup)


async def cohort_coordinators(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    coordination: CoordinationService,
    outbox: OutboxSender,
    callback_data: CohortCoordinators,
    standing: Standing,
    replies: Replies,
) -> None:
    """A cohort's coordinators; with a person, an operator revokes that one's rights."""
    cohort = await coordination.cohort(session, person.id, callback_data.cohort)
    if cohort is None:
        gone(query, replies)
        return
    if callback_data.person is None:
        replies.add(query.answer())
        (team,) = await coordination.teams(session, [cohort])
        text, markup = team_view(team, standing, coordination)
        say(replies, person.id, text, markup)
        return
    if not standing.operator:
        replies.add(
            query.answer(
                _("Only an operator of this bot can revoke a coordinator's rights."),
                show_alert=True,
            )
        )
        return
    dismissal = await coordination.dismiss(session, cohort, callback_data.person)
    if dismissal.result is Dismissed.DISMISSED:
        assert dismissal.person is not None
        outbox.wake()
        answer = _("{name} no longer coordinates {cohort}.").format(
            name=dismissal.person.first_name, cohort=cohort.name
        )
        if not dismissal.left:
            answer += "\n" + _("It has no coordinator of its own now: the operators run it.")
    elif dismissal.result is Dismissed.OPERATOR:
        answer = _("An operator coordinates every cohort; there is nothing to revoke.")
    else:
        answer = _("They no longer coordinate this cohort.")
    replies.add(query.answer(answer, show_alert=True))
    if query.message is not None:
        (team,) = await coordination.teams(session, [cohort])
        text, markup = team_view(team, standing, coordination)
        replies.add(
            EditMessageText(
                chat_id=person.id,
                message_id=query.message.message_id,
                text=text,
                reply_markup=markup,
            )
        )


async def match_command(
    message: Message,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    replies: Replies,
) -> None:
    await choose_cohort(
        message,
        session,
        person,
        cohort_service,
        lambda cohort: RunMatching(cohort=cohort),
        _("Which cohort do you want to match?"),
        replies,
    )


# A page of a long list: at most so many items and so much text (a message holds 4096
# characters once parsed; its HTML is longer).
PAGE_ITEMS = 10
PAGE_CHARS = 3000


def pages(blocks: Sequence[str]) -> list[range]:
    """The blocks of a list as consecutive pages of at most PAGE_ITEMS blocks and
    PAGE_CHARS characters (a longer block has a page of its own)."""
    found: list[range] = []
    start = size = 0
    for index, block in enumerate(blocks):
        if index > start and (index - start >= PAGE_ITEMS or size + len(block) > PAGE_CHARS):
            found.append(range(start, index))
            start, size = index, 0
        size += len(block) + 2
    if start < len(blocks):
        found.append(range(start, len(blocks)))
    return found


def page_row(page: int, count: int, button: Callable[[int], Button]) -> Row:
    """Buttons to the pages before and after ``page`` (of ``count``)."""
    row: list[tuple[str, Button]] = []
    if page > 0:
        row.append((_("◀ Previous"), button(page - 1)))
    if page < count - 1:
        row.append((_("Next ▶"), button(page + 1)))
    return row


def edit(
    replies: Replies, query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """The pressed message shows ``text`` with ``markup`` now."""
    if query.message is not None:
        replies.add(
            EditMessageText(
                chat_id=query.from_user.id,
                message_id=query.message.message_id,
                text=text,
                reply_markup=markup,
            )
        )


def proposal_notes(
    proposal: Proposal, renderer: Renderer, locale: str
) -> tuple[str, InlineKeyboardMarkup | None] | None:
    """Whom matching left out: the unmatched, with why, and those still in the intake,
    with a button to remind them. ``None`` when it left out nobody."""
    if not proposal.unmatched and not proposal.in_intake:
        return None
    names = proposal.names
    count = len(proposal.pairs)
    lines = [
        _("<b>Matching proposal for {cohort}</b>").format(
            cohort=Renderer.escape(proposal.cohort.name)
        ),
        ngettext(
            "{count} pair is proposed; you approve it below.",
            "{count} pairs are proposed; you approve or exclude each below.",
            count,
        ).format(count=count)
        if count
        else _("No pair can be proposed now."),
    ]
    if proposal.unmatched:
        lines.append(
            _("<b>Left unmatched</b>")
            + "\n"
            + "\n".join(
                f"{Renderer.escape(names.get(mentee_id, '?'))}: {renderer.text(reason, locale)}"
                for mentee_id, reason in proposal.unmatched.items()
            )
        )
    markup = None
    if proposal.in_intake:
        waiting = len(proposal.in_intake)
        lines.append(
            ngettext(
                "<b>Still in the intake</b>: {count} person has joined and not finished it, "
                "so matching leaves them out.",
                "<b>Still in the intake</b>: {count} people have joined and not finished it, "
                "so matching leaves them out.",
                waiting,
            ).format(count=waiting)
            + "\n"
            + ", ".join(Renderer.escape(p.first_name or str(p.id)) for p in proposal.in_intake)
        )
        markup = keyboard(
            [[(_("🔔 Remind them to finish"), RemindIntake(cohort=proposal.cohort.id))]]
        )
    return "\n\n".join(lines), markup


def proposal_page(
    cohort: Cohort,
    proposed: Sequence[Pair],
    names: dict[int, str],
    page: int,
    renderer: Renderer,
    locale: str,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the proposed pairs, each with its buttons; the page is clamped to
    those there are."""
    blocks = [
        f"#{pair.id} · {Renderer.escape(names.get(pair.mentee_id, '?'))} → "
        f"{Renderer.escape(names.get(pair.mentor_id, '?'))} · <b>{pair.score}</b>\n"
        "<i>" + "; ".join(renderer.text(msg_from_json(r), locale) for r in pair.reasons) + "</i>"
        for pair in proposed
    ]
    split = pages(blocks)
    if not split:
        text = _("<b>Matching proposal for {cohort}</b>: every proposed pair is decided.")
        return text.format(cohort=Renderer.escape(cohort.name)), None
    page = min(page, len(split) - 1)
    shown = split[page]
    header = _("<b>Matching proposal for {cohort}</b>").format(cohort=Renderer.escape(cohort.name))
    if len(split) > 1:
        header += "\n" + _("Pairs {first}–{last} of {count} (page {page} of {pages})").format(
            first=shown.start + 1,
            last=shown.stop,
            count=len(proposed),
            page=page + 1,
            pages=len(split),
        )
    rows: list[Row] = [
        [
            (
                ngettext("✅ Approve all", "✅ Approve all {count}", len(proposed)).format(
                    count=len(proposed)
                ),
                Approve(cohort=cohort.id, page=page),
            )
        ]
    ]
    rows += [
        [
            (
                _("✅ #{pair}").format(pair=proposed[i].id),
                Approve(cohort=cohort.id, pair=proposed[i].id, page=page),
            ),
            (
                _("Exclude #{pair} and match again").format(pair=proposed[i].id),
                Exclude(pair=proposed[i].id, cohort=cohort.id),
            ),
        ]
        for i in shown
    ]
    rows.append(page_row(page, len(split), lambda n: ProposalPage(cohort=cohort.id, page=n)))
    return "\n\n".join([header, *(blocks[i] for i in shown)]), keyboard(rows)


def show_proposal(
    replies: Replies, person: Person, proposal: Proposal, renderer: Renderer, locale: str
) -> None:
    """A new proposal: whom it leaves out, then its first page."""
    notes = proposal_notes(proposal, renderer, locale)
    if notes is not None:
        say(replies, person.id, *notes)
    if proposal.pairs:
        text, markup = proposal_page(
            proposal.cohort, proposal.pairs, proposal.names, 0, renderer, locale
        )
        replies.add(SendMessage(chat_id=person.id, text=text, reply_markup=markup))
    elif notes is None:
        replies.add(
            SendMessage(
                chat_id=person.id,
                text=_("<b>Matching proposal for {cohort}</b>").format(
                    cohort=Renderer.escape(proposal.cohort.name)
                )
                + "\n\n"
                + _(
                    "Everyone in this cohort already has a mentor, or nobody has "
                    "finished the intake yet."
                ),
            )
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
    callback_data: RunMatching,
    replies: Replies,
) -> None:
    cohort = await cohort_service.cohort_of(session, person, callback_data.cohort)
    if cohort is None:
        gone(query, replies)
        return
    replies.add(query.answer())
    proposal = await matching.propose(session, cohort)
    show_proposal(replies, person, proposal, renderer, i18n.current_locale)


async def proposal_changed(query: CallbackQuery, replies: Replies) -> None:
    replies.add(query.answer(_("This proposal has changed; run /match again."), show_alert=True))


async def turn_page(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    cohort_service: CohortService,
    matching: MatchingService,
    pair_service: PairService,
    callback_data: ProposalPage,
    replies: Replies,
) -> None:
    """Another page of the proposal, as it stands now."""
    cohort = await cohort_service.cohort_of(session, person, callback_data.cohort)
    proposed = await matching.proposal(session, cohort) if cohort is not None else []
    if cohort is None or not proposed:
        await proposal_changed(query, replies)
        return
    replies.add(query.answer())
    names = await pair_service.names(session, proposed)
    edit(
        replies,
        query,
        *proposal_page(cohort, proposed, names, callback_data.page, renderer, i18n.current_locale),
    )


async def remind_intake(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    matching: MatchingService,
    outbox: OutboxSender,
    callback_data: RemindIntake,
    replies: Replies,
) -> None:
    """Those still in the intake are reminded, each once; the button goes."""
    cohort = await cohort_service.cohort_of(session, person, callback_data.cohort)
    if cohort is None:
        gone(query, replies)
        return
    reminded = await matching.remind_intake(session, cohort)
    outbox.wake()
    replies.add(
        query.answer(
            ngettext(
                "Reminded: {count} person. They hear from the bot outside their quiet hours.",
                "Reminded: {count} people. They hear from the bot outside their quiet hours.",
                reminded,
            ).format(count=reminded)
            if reminded
            else _("Everyone still in the intake has been reminded already."),
            show_alert=True,
        )
    )
    if query.message is not None:
        replies.add(EditMessageReplyMarkup(chat_id=person.id, message_id=query.message.message_id))


async def exclude_pair(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    cohort_service: CohortService,
    matching: MatchingService,
    callback_data: Exclude,
    replies: Replies,
) -> None:
    cohort = await cohort_service.cohort_of(session, person, callback_data.cohort)
    proposal = (
        await matching.exclude(session, cohort, callback_data.pair) if cohort is not None else None
    )
    if proposal is None:
        await proposal_changed(query, replies)
        return
    replies.add(query.answer())
    if query.message is not None:
        replies.add(EditMessageReplyMarkup(chat_id=person.id, message_id=query.message.message_id))
    show_proposal(replies, person, proposal, renderer, i18n.current_locale)


async def approve_all(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    cohort_service: CohortService,
    matching: MatchingService,
    pair_service: PairService,
    outbox: OutboxSender,
    callback_data: Approve,
    replies: Replies,
) -> None:
    """Approve the whole proposal, or (with a pair id) one pair of it; the page shows
    what is left of it."""
    cohort = await cohort_service.cohort_of(session, person, callback_data.cohort)
    if cohort is None:
        gone(query, replies)
        return
    chosen = None if callback_data.pair is None else [callback_data.pair]
    approved = await matching.approve(session, cohort, chosen)
    if not approved:
        await proposal_changed(query, replies)
        return
    await pair_service.introduce(session, approved)
    outbox.wake()
    replies.add(query.answer())
    left = await matching.proposal(session, cohort)
    names = await pair_service.names(session, left)
    edit(
        replies,
        query,
        *proposal_page(cohort, left, names, callback_data.page, renderer, i18n.current_locale),
    )
    replies.add(
        SendMessage(
            chat_id=person.id,
            text=ngettext(
                "Pair approved: {count}. Both sides are being introduced.",
                "Pairs approved: {count}. Both sides are being introduced.",
                len(approved),
            ).format(count=len(approved)),
        )
    )


PAIR_FILTERS: dict[str, str] = {
    "all": N_("all"),
    "active": N_("active"),
    "paused": N_("paused"),
    "quiet": N_("no contact"),
    "low": N_("low mood"),
    "trouble": N_("amber or red"),
}


def renderer_of(renderer: Renderer, i18n: I18n) -> Callable[[Msg], str]:
    """Messages in the reader's language, for views that also show other texts."""
    return lambda msg: renderer.text(msg, i18n.current_locale)


def pair_line(line: PairLine, render: Callable[[Msg], str]) -> str:
    """A pair in /pairs: its health light first; why it is not green on a line below."""
    pair = line.pair
    parts = [
        f"{line.health.light.symbol} #{pair.id} · {Renderer.escape(line.mentee)}"
        f" → {Renderer.escape(line.mentor)}",
        _("active") if pair.status == "active" else _("paused"),
        Renderer.escape(line.cohort),
    ]
    if line.quiet_days is not None:
        parts.append(
            ngettext(
                "⚠️ no contact for {days} day", "⚠️ no contact for {days} days", line.quiet_days
            ).format(days=line.quiet_days)
        )
    if line.low_mood is not None:
        parts.append(_("😟 latest mood {mood}").format(mood=line.low_mood))
    text = " · ".join(parts)
    if line.health.reasons:
        text += "\n    " + "; ".join(render(reason) for reason in line.health.reasons)
    return text


def pairs_view(
    lines: Sequence[PairLine],
    cohorts: Sequence[Cohort],
    view: PairsView,
    render: Callable[[Msg], str],
) -> tuple[str, InlineKeyboardMarkup | None]:
    """/pairs as one message: a page of the pairs the view shows, each with its
    buttons, then buttons to the other pages, the other filters and the other cohorts."""
    blocks = [pair_line(line, render) for line in lines]
    split = pages(blocks) or [range(0)]
    page = min(view.page, len(split) - 1)
    shown = split[page]
    cohort = next((c for c in cohorts if c.id == view.cohort), None)
    header = _("<b>Pairs</b> of {cohort} · {which}: {count}").format(
        cohort=Renderer.escape(cohort.name) if cohort else _("all your cohorts"),
        which=_(PAIR_FILTERS[view.show]),
        count=len(lines),
    )
    if len(split) > 1:
        header += "\n" + _("Page {page} of {pages}").format(page=page + 1, pages=len(split))
    body = "\n".join(blocks[i] for i in shown) or _("No pair here.")

    def at(**changes: Any) -> PairsView:
        return PairsView(**{**view.model_dump(), "page": page, **changes})

    def change(pair: Pair, action: str) -> PairStatus:
        return PairStatus(
            pair=pair.id, action=action, cohort=view.cohort, show=view.show, page=page
        )

    rows: list[Row] = []
    for i in shown:
        pair = lines[i].pair
        toggle = (
            ("paused", _("⏸ Pause #{pair}"))
            if pair.status == "active"
            else ("active", _("▶️ Resume #{pair}"))
        )
        rows.append(
            [
                (
                    toggle[1].format(pair=pair.id),
                    change(pair, toggle[0]),
                ),
                (
                    _("⏹ End #{pair}").format(pair=pair.id),
                    change(pair, "ended"),
                ),
                (
                    _("🔁 Reassign #{pair}").format(pair=pair.id),
                    change(pair, "reassign"),
                ),
            ]
        )
    rows.append(page_row(page, len(split), lambda n: at(page=n)))
    # The other filters and cohorts (the one shown is in the heading).
    others = [
        (_("Show: {which}").format(which=_(label)), at(show=key, page=0))
        for key, label in PAIR_FILTERS.items()
        if key != view.show
    ]
    rows += [others[i : i + 2] for i in range(0, len(others), 2)]
    if len(cohorts) > 1:
        places = [(_("All cohorts"), at(cohort=0, page=0))] if view.cohort else []
        places += [(c.name, at(cohort=c.id, page=0)) for c in cohorts if c.id != view.cohort]
        rows += [places[i : i + 2] for i in range(0, len(places), 2)]
    return f"{header}\n\n{body}", keyboard(rows)


async def pairs_text(
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    pair_service: PairService,
    view: PairsView,
    render: Callable[[Msg], str],
) -> tuple[str, InlineKeyboardMarkup | None] | None:
    """/pairs in a view; ``None`` if the cohort it names is not one the person runs."""
    cohorts = await cohort_service.coordinated(session, person)
    if view.cohort and all(c.id != view.cohort for c in cohorts):
        return None
    lines = await pair_service.running(session, person, view.cohort, view.show)
    return pairs_view(lines, cohorts, view, render)


async def pairs(
    message: Message,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    pair_service: PairService,
    renderer: Renderer,
    i18n: I18n,
    replies: Replies,
) -> None:
    """The running pairs of the person's cohorts, in one message, a page at a time."""
    lines = await pair_service.running(session, person, 0, "all")
    if not lines:
        replies.add(message.answer(_("Your cohorts have no active or paused pairs.")))
        return
    cohorts = await cohort_service.coordinated(session, person)
    text, markup = pairs_view(lines, cohorts, PairsView(), renderer_of(renderer, i18n))
    replies.add(message.answer(text, reply_markup=markup))


async def pairs_page(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    pair_service: PairService,
    callback_data: PairsView,
    renderer: Renderer,
    i18n: I18n,
    replies: Replies,
) -> None:
    shown = await pairs_text(
        session,
        person,
        cohort_service,
        pair_service,
        callback_data,
        renderer_of(renderer, i18n),
    )
    if shown is None:
        gone(query, replies)
        return
    replies.add(query.answer())
    edit(replies, query, *shown)


async def pair_status(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    pair_service: PairService,
    outbox: OutboxSender,
    callback_data: PairStatus,
    renderer: Renderer,
    i18n: I18n,
    replies: Replies,
) -> None:
    action = callback_data.action
    reassign = action == "reassign"
    pair = await pair_service.set_pair_status(
        session,
        person,
        callback_data.pair,
        "ended" if reassign else action,
        reason="reassigned by the coordinator" if reassign else "ended by the coordinator",
    )
    if pair is None:
        replies.add(query.answer(_("This pair has changed; see /pairs again."), show_alert=True))
        return
    outbox.wake()
    replies.add(
        query.answer(
            _("Ended; both sides have been told. /match finds the mentee another mentor.")
            if reassign
            else _("Done; both sides have been told."),
            show_alert=True,
        )
    )
    view = PairsView(cohort=callback_data.cohort, show=callback_data.show, page=callback_data.page)
    shown = await pairs_text(
        session, person, cohort_service, pair_service, view, renderer_of(renderer, i18n)
    )
    if shown is not None:
        edit(replies, query, *shown)


SETTING_NAMES = {
    "matching_mode": N_("Matching"),
    "weights": N_("What counts most"),
    "max_timezone_hours": N_("Largest time zone difference"),
    "response_hours": N_("Time a mentor has to answer a request"),
    "checkins": N_("Regular check-ins"),
    "nudge_hours": N_("Remind a mentor to answer after"),
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


def cohort_picker(
    cohorts: list[Cohort], button: Callable[[int], Button]
) -> InlineKeyboardMarkup | None:
    """One button a cohort; ``button`` makes the press for a cohort's id."""
    return keyboard([(c.name, button(c.id))] for c in cohorts)


async def choose_cohort(
    message: Message,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    button: Callable[[int], Button],
    question: str,
    replies: Replies,
) -> None:
    runs = await cohort_service.coordinated(session, person)
    if not runs:
        replies.add(message.answer(_("You run no cohort yet. /cohort_new creates one.")))
        return
    replies.add(message.answer(question, reply_markup=cohort_picker(runs, button)))


async def settings_command(
    message: Message,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    replies: Replies,
) -> None:
    await choose_cohort(
        message,
        session,
        person,
        cohort_service,
        lambda cohort: CohortSettings(cohort=cohort),
        _("Settings for which cohort?"),
        replies,
    )


def next_choice(cohort: Cohort, key: str) -> Any:
    """The choice a setting's button moves it to: the one after the current."""
    return cohort_rules.next_choice(cohort_rules.CohortSettings.of(cohort.settings), key)


def settings_view(cohort: Cohort) -> tuple[str, InlineKeyboardMarkup | None]:
    def shown(key: str) -> str:
        value = getattr(cohort_rules.CohortSettings.of(cohort.settings), key)
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
            (
                f"{_(SETTING_NAMES[key])}: {shown(key)}",
                CohortSetting(cohort=cohort.id, key=key, value=str(next_choice(cohort, key))),
            )
        ]
        for key in SETTINGS
    ]
    return text, keyboard(rows)


async def show_settings(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    callback_data: CohortSettings,
    replies: Replies,
) -> None:
    cohort = await cohort_service.cohort_of(session, person, callback_data.cohort)
    if cohort is None:
        gone(query, replies)
        return
    replies.add(query.answer())
    text, markup = settings_view(cohort)
    replies.add(SendMessage(chat_id=person.id, text=text, reply_markup=markup))


async def change_setting(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    coordination: CoordinationService,
    callback_data: CohortSetting,
    replies: Replies,
) -> None:
    key, value = callback_data.key, callback_data.value
    cohort = await cohort_service.cohort_of(session, person, callback_data.cohort)
    choice = next((c for c in SETTINGS.get(key, ()) if str(c) == value), None)
    if cohort is None or choice is None:
        gone(query, replies)
        return
    coordination.set_setting(cohort, key, choice)
    replies.add(query.answer())
    if query.message is not None:
        text, markup = settings_view(cohort)
        replies.add(
            EditMessageText(
                chat_id=person.id,
                message_id=query.message.message_id,
                text=text,
                reply_markup=markup,
            )
        )


async def invite_command(
    message: Message,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    replies: Replies,
) -> None:
    await choose_cohort(
        message,
        session,
        person,
        cohort_service,
        lambda cohort: InviteStep(cohort=cohort),
        _("An invite link for which cohort?"),
        replies,
    )


async def invite_step(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    coordination: CoordinationService,
    callback_data: InviteStep,
    replies: Replies,
) -> None:
    """/invite, one button at a time: cohort, role, how long it is valid, how many uses.
    A coordinator link is made at once: it works once, within 72 hours."""
    step = callback_data
    cohort = await coordination.cohort(session, person.id, step.cohort)
    if cohort is None or step.role not in (None, MENTEE, MENTOR, COORDINATOR):
        gone(query, replies)
        return

    def ask(question: str, options: list[tuple[str, InviteStep]]) -> None:
        replies.add(query.answer())
        replies.add(SendMessage(chat_id=person.id, text=question, reply_markup=keyboard([options])))

    if step.role is None:
        ask(
            _("For whom?"),
            [
                (_("Mentees"), InviteStep(cohort=cohort.id, role=MENTEE)),
                (_("Mentors"), InviteStep(cohort=cohort.id, role=MENTOR)),
                (
                    _("Coordinators"),
                    InviteStep(cohort=cohort.id, role=COORDINATOR, code=link_code()),
                ),
            ],
        )
        return
    if step.role != COORDINATOR and step.days is None:
        ask(
            _("Valid for how long?"),
            [
                (
                    _("{days} d").format(days=d) if d else _("No limit"),
                    InviteStep(cohort=cohort.id, role=step.role, days=d),
                )
                for d in INVITE_DAYS
            ],
        )
        return
    if step.role != COORDINATOR and step.uses is None:
        code = link_code()
        ask(
            _("How many people may use it?"),
            [
                (
                    str(n) if n else _("No limit"),
                    InviteStep(cohort=cohort.id, role=step.role, days=step.days, uses=n, code=code),
                )
                for n in INVITE_USES
            ],
        )
        return
    minting = (
        await coordination.mint(session, cohort, step.role, step.days, step.uses, step.code)
        if step.code is not None
        else None
    )
    if minting is None or minting.invite is None:
        gone(query, replies)
        return
    replies.add(query.answer())
    if minting.result is Minted.MADE and query.message is not None:
        replies.add(EditMessageReplyMarkup(chat_id=person.id, message_id=query.message.message_id))
    invite = minting.invite
    me = await bot.me()
    lines = [
        f"<b>{Renderer.escape(cohort.name)}</b> · {_(ROLE_NAMES[invite.role])}",
        link_terms(Link(invite, link_state(invite, cohort_service.clock.now())), person.timezone),
    ]
    if invite.role == COORDINATOR:
        lines.append(
            _(
                "Whoever opens it first helps coordinate this cohort: send it to that one "
                "person only."
            )
        )
    lines.append(_("The invite link:\n{link}").format(link=deep_link(me.username, invite.code)))
    replies.add(SendMessage(chat_id=person.id, text="\n".join(lines)))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(new_cohort, Command("cohort_new"))
    router.message.register(cohorts, Command("cohorts"))
    router.callback_query.register(revoke_invite, RevokeInvite.filter())
    router.message.register(coordinators_command, Command("coordinators"))
    router.callback_query.register(cohort_coordinators, CohortCoordinators.filter())
    router.message.register(match_command, Command("match"))
    router.callback_query.register(run_matching, RunMatching.filter())
    router.callback_query.register(exclude_pair, Exclude.filter())
    router.callback_query.register(approve_all, Approve.filter())
    router.callback_query.register(turn_page, ProposalPage.filter())
    router.callback_query.register(remind_intake, RemindIntake.filter())
    router.message.register(pairs, Command("pairs"))
    router.callback_query.register(pairs_page, PairsView.filter())
    router.message.register(settings_command, Command("cohort_settings"))
    router.callback_query.register(show_settings, CohortSettings.filter())
    router.callback_query.register(change_setting, CohortSetting.filter())
    router.message.register(invite_command, Command("invite"))
    router.callback_query.register(invite_step, InviteStep.filter())
    router.callback_query.register(pair_status, PairStatus.filter())
    return router
