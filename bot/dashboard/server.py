"""The coordinators' dashboard: server-rendered pages (Jinja2) on the bot's aiohttp server.

Every page is the chat's coordinator commands on a screen, calling the same services:
cohorts and their links (CoordinationService, CohortService), people, the matching board
(MatchingService, with "what if"), pairs with their health (PairService, PulseService),
statistics (StatsService, drawn by Chart.js in the browser), exports and broadcasts
(BroadcastService, delivered by the outbox like every broadcast).

A request is one unit of work, like an update: its session is opened here, the services
read and write through it, it is committed once the page's work is done, and only then is
the outbox woken; no page makes a Bot API request. Who may see what is the one policy
(``bot/domain/access.py``, ``DASHBOARD``) applied to the standing the bot uses; a cohort
(or a pair) in a URL that the coordinator does not run is refused with 403."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import SetChatMenuButton
from aiogram.types import MenuButtonWebApp, WebAppInfo
from aiogram.utils.i18n import I18n
from aiohttp import web
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import LOCALES
from bot.dashboard.auth import (
    COOKIE,
    DashboardAuth,
    InitDataRefusal,
    check_init_data,
    csrf_matches,
    csrf_token,
)
from bot.domain import access
from bot.domain import broadcast as b
from bot.domain.access import Kind, Refusal, Rule, Standing, Subject
from bot.domain.cohorts import (
    SETTINGS,
    CohortMode,
    CohortSettings,
    MembershipStatus,
    Role,
    WeightPreset,
)
from bot.domain.matching import Weights
from bot.domain.pairs import PairStatus, can_move
from bot.domain.texts import N_, Msg, msg_from_json
from bot.i18n import locale_for
from bot.services.broadcasts import BroadcastService
from bot.services.clock import Clock
from bot.services.coordination import (
    COORDINATOR,
    INVITE_DAYS,
    INVITE_USES,
    MENTEE,
    MENTOR,
    CoordinationService,
    LinkState,
    Minted,
    link_code,
    overview,
)
from bot.services.exports import EXPORTS, export
from bot.services.programme import Programme
from bot.services.stats import StatsService
from bot.storage import access as access_store
from bot.storage import dashboard as store
from bot.storage.models import Broadcast, Cohort, Person
from bot.storage.personal import first_names
from bot.supervision import DATABASE_TROUBLE
from bot.telegram.render import Renderer

log = logging.getLogger(__name__)

PAGE_RULES = access.DASHBOARD
# The "what if" of the board: the time-zone limits and weights it can try.
WHAT_IF_HOURS = (3, 6, 9, 12, 24)
PAIR_ACTIONS = {"pause": PairStatus.PAUSED, "resume": PairStatus.ACTIVE, "end": PairStatus.ENDED}


class Refused(Exception):
    """A request the policy or the session refuses: answered with its status and a page."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Visit:
    """One request of a signed-in coordinator: its unit of work and what pages need."""

    request: web.Request
    db: AsyncSession
    person: Person
    standing: Standing
    locale: str
    csrf: str
    cohorts: list[Cohort]
    cohort: Cohort | None = None
    # Whether the outbox has new rows to send once the request's work is committed.
    queued: bool = False
    form: dict[str, str] = field(default_factory=dict)

    def number(self, name: str) -> int:
        try:
            return int(self.request.match_info[name])
        except (KeyError, ValueError):
            raise Refused(404, "not found") from None


Page = Callable[["Dashboard", Visit], Awaitable[web.StreamResponse]]


def page(rule: str, kind: Kind | None = None, change: bool = False) -> Callable[[Page], Any]:
    """A page under the policy's ``DASHBOARD[rule]``; ``kind``: what the URL names (a
    cohort, a pair or a broadcast), resolved as the bot resolves a button's; ``change``:
    a POST, which must carry the session's CSRF token."""

    def wrap(handler: Page) -> Callable[[Dashboard, web.Request], Awaitable[web.StreamResponse]]:
        async def serve(self: Dashboard, request: web.Request) -> web.StreamResponse:
            return await self.visit(request, PAGE_RULES[rule], kind, change, handler)

        return serve

    return wrap


class Dashboard:
    def __init__(
        self,
        url: str,
        token: str,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        i18n: I18n,
        renderer: Renderer,
        programme: Programme,
        coordination: CoordinationService,
        stats: StatsService,
        broadcasts: BroadcastService,
        operators: Collection[int],
        default_locale: str,
        session_hours: float,
        wake: Callable[[], None],
    ) -> None:
        self.url = url
        self.secure = url.startswith("https://")
        self.token = token
        self.sessions = sessions
        self.clock = clock
        self.i18n = i18n
        self.renderer = renderer
        self.programme = programme
        self.coordination = coordination
        self.stats = stats
        self.broadcasts = broadcasts
        self.operators = frozenset(operators)
        self.default_locale = default_locale
        self.auth = DashboardAuth(clock, session_hours)
        self.wake = wake
        # The bot's username, for the invite links shown (known once the bot has started).
        self.bot_username: str | None = None
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("bot.dashboard", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["safe_telegram"] = telegram_html

    def routes(self, app: web.Application) -> None:
        r = app.router
        r.add_static("/static", str(_static_dir()), name="dashboard_static")
        r.add_get("/", self.cohorts_page)
        r.add_get("/signin", self.sign_in)
        r.add_post("/signin/webapp", self.sign_in_webapp)
        r.add_post("/signout", self.sign_out)
        r.add_post("/cohorts", self.create_cohort)
        r.add_get("/cohorts/{cohort}", self.cohort_page)
        r.add_post("/cohorts/{cohort}/links", self.mint_link)
        r.add_post("/cohorts/{cohort}/links/revoke", self.revoke_link)
        r.add_get("/cohorts/{cohort}/people", self.people_page)
        r.add_get("/cohorts/{cohort}/board", self.board_page)
        r.add_post("/cohorts/{cohort}/board/run", self.run_matching)
        r.add_post("/cohorts/{cohort}/board/approve", self.approve)
        r.add_post("/cohorts/{cohort}/board/exclude", self.exclude)
        r.add_get("/cohorts/{cohort}/pairs", self.pairs_page)
        r.add_post("/pairs/{pair}/{action}", self.pair_action)
        r.add_get("/cohorts/{cohort}/stats", self.stats_page)
        r.add_get("/cohorts/{cohort}/export/{what}", self.export_file)
        r.add_get("/cohorts/{cohort}/broadcast", self.composer)
        r.add_post("/cohorts/{cohort}/broadcast", self.compose)
        r.add_get("/broadcasts/{broadcast}", self.broadcast_page)
        r.add_get("/broadcasts/{broadcast}/progress", self.broadcast_progress)

    # Signing in ------------------------------------------------------------------------

    def link(self, secret: str) -> str:
        """The one-time sign-in link /dashboard gives."""
        return f"{self.url}/signin?token={secret}"

    def menu_button(self, label: str) -> MenuButtonWebApp:
        """The chat's menu button that opens the dashboard as a Mini App."""
        return MenuButtonWebApp(text=label, web_app=WebAppInfo(url=self.url))

    async def set_menu_buttons(self, bot: Bot) -> None:
        """Every coordinator's chat gets the menu button, in their language: read in a
        transaction of its own, closed before the requests go."""
        try:
            async with self.sessions() as db:
                people = await store.coordinators(db, self.operators)
        except DATABASE_TROUBLE as exc:
            # Best effort at start: /dashboard sets a coordinator's button again.
            log.warning("menu buttons not set: %s", type(exc).__name__)
            return
        for person in people:
            locale = locale_for(person, person.telegram_language, self.default_locale)
            label = self.i18n.gettext(N_("Dashboard"), locale=locale)
            try:
                await bot(SetChatMenuButton(chat_id=person.id, menu_button=self.menu_button(label)))
            except TelegramAPIError as exc:
                log.info("menu button not set: %s", type(exc).__name__)

    def _set_session(self, response: web.StreamResponse, secret: str) -> None:
        response.set_cookie(
            COOKIE,
            secret,
            max_age=int(self.auth.session_length.total_seconds()),
            httponly=True,
            secure=self.secure,
            samesite="Lax",
            path="/",
        )

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        """A sign-in link from /dashboard: it works once, within minutes."""
        secret = request.query.get("token", "")
        async with self.sessions() as db:
            person_id = await self.auth.spend_link(db, secret) if secret else None
            if person_id is not None:
                session = self.auth.open_session(db, person_id)
                await self.auth.drop_expired(db)
            await db.commit()
        if person_id is None:
            return self.refusal(request, 403, "link")
        response = see_other("/")
        self._set_session(response, session)
        return response

    async def sign_in_webapp(self, request: web.Request) -> web.StreamResponse:
        """The Mini App's initData, signed by Telegram with the bot's token."""
        form = await request.post()
        init_data = str(form.get("init_data", ""))
        checked = check_init_data(self.token, init_data, self.clock.now())
        if checked.user_id is None:
            status = 401 if checked.refusal is InitDataRefusal.STALE else 403
            return web.json_response({"ok": False, "reason": checked.refusal}, status=status)
        async with self.sessions() as db:
            if await db.get(Person, checked.user_id) is None:
                return web.json_response({"ok": False, "reason": "unknown"}, status=403)
            session = self.auth.open_session(db, checked.user_id)
            await self.auth.drop_expired(db)
            await db.commit()
        response = web.json_response({"ok": True})
        self._set_session(response, session)
        return response

    async def sign_out(self, request: web.Request) -> web.StreamResponse:
        secret = request.cookies.get(COOKIE, "")
        form = await request.post()
        if not csrf_matches(secret, _text(form.get("csrf"))):
            return self.refusal(request, 403, "csrf")
        async with self.sessions() as db:
            await self.auth.end_session(db, secret)
            await db.commit()
        response = see_other("/")
        response.del_cookie(COOKIE, path="/")
        return response

    # The unit of work of a page ------------------------------------------------------------

    async def visit(
        self,
        request: web.Request,
        rule: Rule,
        kind: Kind | None,
        change: bool,
        handler: Page,
    ) -> web.StreamResponse:
        secret = request.cookies.get(COOKIE, "")
        form: dict[str, str] = {}
        if change:
            posted = await request.post()
            form = {key: str(value) for key, value in posted.items() if isinstance(value, str)}
        try:
            async with self.sessions() as db:
                person_id = await self.auth.session_person(db, secret) if secret else None
                if person_id is None:
                    raise Refused(401, "signin")
                if change and not csrf_matches(secret, form.get("csrf")):
                    raise Refused(403, "csrf")
                person = await db.get(Person, person_id)
                if person is None:
                    raise Refused(401, "signin")
                standing = await access_store.standing_of(db, person_id, self.operators)
                visit = Visit(
                    request,
                    db,
                    person,
                    standing,
                    locale_for(person, person.telegram_language, self.default_locale),
                    csrf_token(secret),
                    [],
                    form=form,
                )
                subject: Subject | None = None
                if kind is not None:
                    number = visit.number(kind.value)
                    subject = await access_store.subject_of(db, (kind, number))
                refusal = access.decide(rule, standing, subject)
                if refusal is not None:
                    raise Refused(404 if refusal is Refusal.GONE else 403, refusal.value)
                visit.cohorts = await self.coordination.cohorts(db, person_id)
                if kind is Kind.COHORT:
                    visit.cohort = await db.get(Cohort, visit.number("cohort"))
                response = await handler(self, visit)
                await db.commit()
        except Refused as refused:
            return self.refusal(request, refused.status, refused.reason)
        if visit.queued:
            self.wake()
        return response

    # Rendering -----------------------------------------------------------------------------

    def render(self, template: str, visit: Visit | None, locale: str, **values: Any) -> str:
        def gettext(text: str) -> str:
            return self.i18n.gettext(text, locale=locale)

        def ngettext(singular: str, plural: str, n: int) -> str:
            return self.i18n.gettext(singular, plural, n, locale=locale)

        def message(msg: Msg) -> Markup:
            # Msg texts are the bot's HTML with people's words escaped.
            return Markup(self.renderer.text(msg, locale))

        return self.templates.get_template(template).render(
            _=gettext,
            ngettext=ngettext,
            msg=message,
            lang=locale,
            visit=visit,
            cohort=visit.cohort if visit else None,
            **values,
        )

    def html(self, visit: Visit, template: str, **values: Any) -> web.Response:
        return web.Response(
            text=self.render(template, visit, visit.locale, **values),
            content_type="text/html",
            headers=SECURITY_HEADERS,
        )

    def refusal(self, request: web.Request, status: int, reason: str) -> web.Response:
        """A refused request: the sign-in page (401) or why not, in the browser's language."""
        accepted = request.headers.get("Accept-Language", "")
        locale = next(
            (code for code in LOCALES if accepted.lower().startswith(code)), self.default_locale
        )
        template = "signin.html" if status == 401 else "refused.html"
        return web.Response(
            status=status,
            text=self.render(template, None, locale, reason=reason, status=status),
            content_type="text/html",
            headers=SECURITY_HEADERS,
        )

    # Cohorts -------------------------------------------------------------------------------

    @page("cohorts")
    async def cohorts_page(self, visit: Visit) -> web.StreamResponse:
        views = await overview(visit.db, visit.cohorts, self.clock.now())
        return self.html(visit, "cohorts.html", views=views, modes=list(CohortMode))

    @page("cohorts", change=True)
    async def create_cohort(self, visit: Visit) -> web.StreamResponse:
        name = visit.form.get("name", "").strip()[:100]
        mode = visit.form.get("mode", "")
        try:
            ends = date.fromisoformat(visit.form.get("ends_on", ""))
        except ValueError:
            ends = None
        if not name or mode not in list(CohortMode) or ends is None:
            raise Refused(400, "form")
        cohort = await self.programme.cohorts.create_cohort(
            visit.db, visit.person.id, name, mode, ends, self.clock.now()
        )
        return see_other(f"/cohorts/{cohort.id}")

    @page("cohort", Kind.COHORT)
    async def cohort_page(self, visit: Visit) -> web.StreamResponse:
        cohort = self._cohort(visit)
        (view,) = await overview(visit.db, [cohort], self.clock.now())
        return self.html(
            visit,
            "cohort.html",
            view=view,
            username=self.bot_username,
            live=LinkState.LIVE,
            roles=(MENTEE, MENTOR, COORDINATOR),
            days=INVITE_DAYS,
            uses=INVITE_USES,
            settings=CohortSettings.of(cohort.settings),
            setting_names=list(SETTINGS),
        )

    @page("cohort", Kind.COHORT, change=True)
    async def mint_link(self, visit: Visit) -> web.StreamResponse:
        cohort = self._cohort(visit)
        minted = await self.coordination.mint(
            visit.db,
            cohort,
            visit.form.get("role", ""),
            _number(visit.form.get("days")),
            _number(visit.form.get("uses")),
            link_code(),
        )
        if minted.result is Minted.STALE:
            raise Refused(400, "form")
        return see_other(f"/cohorts/{cohort.id}")

    @page("cohort", Kind.COHORT, change=True)
    async def revoke_link(self, visit: Visit) -> web.StreamResponse:
        cohort = self._cohort(visit)
        await self.coordination.revoke_link(visit.db, cohort.id, visit.form.get("code", ""))
        return see_other(f"/cohorts/{cohort.id}")

    # People --------------------------------------------------------------------------------

    @page("cohort", Kind.COHORT)
    async def people_page(self, visit: Visit) -> web.StreamResponse:
        cohort = self._cohort(visit)
        query = visit.request.query
        role = query.get("role", "")
        status = query.get("status", "")
        search = query.get("q", "").strip()[:64]
        unreachable = query.get("unreachable") == "1"
        found = await store.members(
            visit.db,
            cohort.id,
            role if role in (MENTEE, MENTOR) else None,
            status if status in list(MembershipStatus) else None,
            search,
            unreachable,
        )
        return self.html(
            visit,
            "people.html",
            members=found,
            role=role,
            status=status,
            search=search,
            unreachable=unreachable,
            statuses=list(MembershipStatus),
        )

    # The matching board ------------------------------------------------------------------

    @page("cohort", Kind.COHORT)
    async def board_page(self, visit: Visit) -> web.StreamResponse:
        cohort = self._cohort(visit)
        matching = self.programme.matching
        proposed = await matching.proposal(visit.db, cohort)
        settings = CohortSettings.of(cohort.settings)
        query = visit.request.query
        hours = _number(query.get("hours")) or settings.max_timezone_hours
        preset = query.get("weights", settings.weights)
        if hours not in WHAT_IF_HOURS or preset not in list(WeightPreset):
            hours, preset = settings.max_timezone_hours, settings.weights
        tried = [settings.matching_weights()]
        asked = (hours, preset) != (settings.max_timezone_hours, settings.weights)
        if asked:
            # Not a choice of the cohort's settings (24 h is not): tried, never stored.
            changed = settings.model_copy(
                update={"max_timezone_hours": hours, "weights": WeightPreset(preset)}
            )
            tried.append(changed.matching_weights())
        now_matched, *relaxed = await matching.what_if(visit.db, cohort, *tried)
        what_if = (
            {
                "matched": len(relaxed[0].pairs),
                "more": len(relaxed[0].pairs) - len(now_matched.pairs),
            }
            if relaxed
            else None
        )
        names = await first_names(
            visit.db,
            {p.mentee_id for p in proposed}
            | {p.mentor_id for p in proposed}
            | set(now_matched.unmatched),
        )
        return self.html(
            visit,
            "board.html",
            proposed=proposed,
            unmatched=now_matched.unmatched,
            matched=len(now_matched.pairs),
            names=names,
            reasons=_reasons,
            settings=settings,
            hours=hours,
            preset=preset,
            hours_choices=WHAT_IF_HOURS,
            presets=list(WeightPreset),
            what_if=what_if,
            coordinator_matched=cohort.mode == CohortMode.COORDINATOR,
        )

    @page("cohort", Kind.COHORT, change=True)
    async def run_matching(self, visit: Visit) -> web.StreamResponse:
        cohort = self._cohort(visit)
        await self.programme.matching.propose(visit.db, cohort)
        return see_other(f"/cohorts/{cohort.id}/board")

    @page("cohort", Kind.COHORT, change=True)
    async def approve(self, visit: Visit) -> web.StreamResponse:
        """Approve the whole proposal, or one pair of it: both sides are introduced."""
        cohort = self._cohort(visit)
        pair = _number(visit.form.get("pair"))
        approved = await self.programme.matching.approve(
            visit.db, cohort, None if pair is None else [pair]
        )
        if approved:
            await self.programme.pairs.introduce(visit.db, approved)
            visit.queued = True
        return see_other(f"/cohorts/{cohort.id}/board")

    @page("cohort", Kind.COHORT, change=True)
    async def exclude(self, visit: Visit) -> web.StreamResponse:
        """A pair left out; matching proposes again without it, as the chat's button does."""
        cohort = self._cohort(visit)
        pair = _number(visit.form.get("pair"))
        if pair is not None and await self.programme.matching.exclude(visit.db, cohort, pair):
            await self.programme.matching.propose(visit.db, cohort)
        return see_other(f"/cohorts/{cohort.id}/board")

    # Pairs ---------------------------------------------------------------------------------

    @page("cohort", Kind.COHORT)
    async def pairs_page(self, visit: Visit) -> web.StreamResponse:
        cohort = self._cohort(visit)
        show = visit.request.query.get("show", "all")
        if show not in PAIR_FILTERS:
            show = "all"
        lines = await self.programme.pairs.running(visit.db, visit.person, cohort.id, show)
        return self.html(
            visit,
            "pairs.html",
            lines=lines,
            show=show,
            filters=PAIR_FILTERS,
            now=self.clock.now(),
            can_move=can_move,
        )

    @page("pair", Kind.PAIR, change=True)
    async def pair_action(self, visit: Visit) -> web.StreamResponse:
        """Pause, resume, end or reassign (end, for matching to find another mentor)."""
        action = visit.request.match_info["action"]
        reassign = action == "reassign"
        status = PairStatus.ENDED if reassign else PAIR_ACTIONS.get(action)
        if status is None:
            raise Refused(404, "not found")
        pair = await self.programme.pairs.set_pair_status(
            visit.db,
            visit.person,
            visit.number("pair"),
            status,
            reason="reassigned by the coordinator" if reassign else "ended by the coordinator",
        )
        if pair is None:
            raise Refused(409, "changed")
        visit.queued = True
        target = "board" if reassign else "pairs"
        return see_other(f"/cohorts/{pair.cohort_id}/{target}")

    # Statistics and exports --------------------------------------------------------------

    @page("cohort", Kind.COHORT)
    async def stats_page(self, visit: Visit) -> web.StreamResponse:
        cohort = self._cohort(visit)
        figures = await self.stats.cohort_stats(visit.db, cohort)

        def text(msg: Msg) -> str:
            return self.renderer.text(msg, visit.locale)

        sections = self.stats.sections(figures, text)
        chart = self.stats.chart(figures, lambda msg: html.unescape(text(msg)))
        health = await self.programme.pulse.cohort_health(visit.db, cohort.id)
        charts = {
            "pairs": [chart.pairs_title, chart.pairs],
            "dialogs": [chart.dialogs_title, chart.dialogs],
            "mood": [chart.mood_title, [(d.isoformat(), m) for d, m in chart.mood]],
            "wheel": [chart.wheel_title, chart.wheel],
            "people": [chart.people_title, chart.people],
        }
        return self.html(
            visit,
            "stats.html",
            title=Markup(self.stats.title(figures, text)),
            sections=[
                (Markup(s.heading), [(Markup(a), Markup(v)) for a, v in s.rows]) for s in sections
            ],
            health=health,
            charts=json.dumps(charts),
            empty=chart.empty,
            exports=EXPORTS,
        )

    @page("cohort", Kind.COHORT)
    async def export_file(self, visit: Visit) -> web.StreamResponse:
        cohort = self._cohort(visit)
        what = visit.request.match_info["what"]
        if what not in EXPORTS:
            raise Refused(404, "not found")
        text = await export(visit.db, what, cohort.name, self.stats.coaching())
        return web.Response(
            body=text.encode("utf-8"),
            content_type="text/csv",
            charset="utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{what}-{cohort.id}.csv"',
                **SECURITY_HEADERS,
            },
        )

    # Broadcasts ----------------------------------------------------------------------------

    @page("cohort", Kind.COHORT)
    async def composer(self, visit: Visit) -> web.StreamResponse:
        return self.html(visit, "broadcast.html", text="", audience="cohort", preview=None)

    @page("cohort", Kind.COHORT, change=True)
    async def compose(self, visit: Visit) -> web.StreamResponse:
        """Preview a broadcast (what Telegram would show, and what it would refuse), or
        send it: a row per recipient, as the chat's /broadcast confirms one."""
        cohort = self._cohort(visit)
        source = visit.form.get("text", "")
        chosen = visit.form.get("audience", "cohort")
        if chosen not in AUDIENCES:
            raise Refused(400, "form")
        audience: dict[str, Any] = {"cohort": cohort.id, **AUDIENCES[chosen]}
        checked = b.check_html(source)
        reached = await self.broadcasts.audience(visit.db, visit.person, audience)
        if visit.form.get("send") != "1" or checked.problems:
            return self.html(
                visit,
                "broadcast.html",
                text=source,
                audience=chosen,
                preview=checked,
                reached=reached,
            )
        draft = await self.broadcasts.start(visit.db, visit.person)
        draft.audience = audience
        draft.content = {"all": {"method": "sendMessage", "text": source}}
        await self.broadcasts.confirm(visit.db, visit.person, draft, None)
        visit.queued = True
        return see_other(f"/broadcasts/{draft.id}")

    @page("broadcast", Kind.BROADCAST)
    async def broadcast_page(self, visit: Visit) -> web.StreamResponse:
        sent = await self._broadcast(visit)
        progress = await self.broadcasts.progress(visit.db, sent)
        return self.html(
            visit, "progress.html", broadcast=sent, progress=progress, text=_shown(sent)
        )

    @page("broadcast", Kind.BROADCAST)
    async def broadcast_progress(self, visit: Visit) -> web.StreamResponse:
        sent = await self._broadcast(visit)
        progress = await self.broadcasts.progress(visit.db, sent)
        return web.json_response(
            {
                "status": sent.status,
                "total": progress.total,
                "sent": progress.sent,
                "failed": progress.failed,
                "unreachable": progress.unreachable,
                "cancelled": progress.cancelled,
                "left": progress.left,
                "done": progress.done,
            }
        )

    # -----------------------------------------------------------------------------------------

    def _cohort(self, visit: Visit) -> Cohort:
        if visit.cohort is None:
            raise Refused(404, "gone")
        return visit.cohort

    async def _broadcast(self, visit: Visit) -> Broadcast:
        found = await visit.db.get(Broadcast, visit.number("broadcast"))
        if found is None:
            raise Refused(404, "gone")
        return found


# Who a broadcast from a cohort's page goes to.
AUDIENCES: dict[str, dict[str, Any]] = {
    "cohort": {"kind": b.COHORT},
    "mentees": {"kind": b.ROLE, "role": Role.MENTEE},
    "mentors": {"kind": b.ROLE, "role": Role.MENTOR},
    "unmatched": {"kind": b.UNMATCHED},
}

PAIR_FILTERS = ("all", "active", "paused", "quiet", "low", "trouble")

SECURITY_HEADERS = {
    # Nothing but this server's own files: the pages load no script from elsewhere.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors https://web.telegram.org 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


# The formatting a broadcast's preview keeps; anything else shows as written.
SIMPLE_TAGS = re.compile(
    r"&lt;(/?)(b|strong|i|em|u|ins|s|strike|del|code|pre|blockquote|tg-spoiler)&gt;"
)


def telegram_html(source: str) -> Markup:
    """A coordinator's Telegram HTML on a page: escaped, then its simple tags let through
    (links show as written)."""
    return Markup(SIMPLE_TAGS.sub(r"<\1\2>", html.escape(source, quote=False)))


def see_other(path: str) -> web.Response:
    """After a change, the page that shows it (a reload does not post again)."""
    return web.Response(status=303, headers={"Location": path})


def _static_dir() -> Path:
    return Path(__file__).resolve().parent / "static"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _weights(weights: Weights) -> dict[str, float]:
    return {name: getattr(weights, name) for name in Weights.__dataclass_fields__}


def _reasons(reasons: list[dict[str, Any]]) -> list[Msg]:
    return [msg_from_json(reason) for reason in reasons]


def _shown(sent: Broadcast) -> str:
    version: dict[str, Any] = sent.content.get("all") or next(iter(sent.content.values()), {})
    return str(version.get("text") or version.get("caption") or "")
