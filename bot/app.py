"""The composition root: builds the bot, the dispatcher and what they use.
Nothing is created at import time."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import LOCALES, Settings, parse_listen
from bot.dashboard.server import Dashboard
from bot.domain.dialogs import load_dialogs
from bot.domain.flood import FloodLimit
from bot.domain.texts import N_
from bot.i18n import PersonLocaleMiddleware, create_i18n, locale_for
from bot.services.broadcasts import BroadcastService
from bot.services.clock import Clock, SystemClock
from bot.services.coordination import CoordinationService
from bot.services.dialogs import DialogService
from bot.services.followup import FollowUpService
from bot.services.meetings import MEET_REMINDER, MeetingService
from bot.services.people import PeopleService
from bot.services.polls import GAME, PollService
from bot.services.privacy import PrivacyService
from bot.services.programme import Programme, create_programme
from bot.services.retention import TASK as RETENTION_TASK
from bot.services.retention import RetentionService
from bot.services.schedule import PLAN_CHUNK, RECURRING, Scheduler
from bot.services.stats import StatsService
from bot.storage import data_key
from bot.storage.database import checkpoint, create_engine, create_sessionmaker, upgrade
from bot.storage.group_commit import GroupWork
from bot.storage.models import Outgoing, Person
from bot.storage.sealing import DataKeyError
from bot.supervision import supervised, together
from bot.telegram.access import AccessMiddleware
from bot.telegram.broadcasts import BroadcastMonitor
from bot.telegram.health import Health, serving
from bot.telegram.middlewares import DatabaseMiddleware, PersonMiddleware
from bot.telegram.outbox import OutboxSender, SenderLease
from bot.telegram.polling import DurablePolling, PollerLease, SlowDown, poll_while_elected
from bot.telegram.preflight import introduce
from bot.telegram.render import Renderer
from bot.telegram.routers import create_routers
from bot.telegram.sender import BotSession, DeliveryMiddleware, SharedPause
from bot.telegram.webhook import PersonLocks, WebhookServer

log = logging.getLogger(__name__)

COMMANDS = (
    ("grow", N_("GROW session: goal, reality, options, will")),
    ("wheel", N_("Wheel of Life: rate eight areas of life")),
    ("dilts", N_("Dilts logical levels")),
    ("checkin", N_("A short check-in")),
    ("continue", N_("Continue where you stopped")),
    ("cancel", N_("Pause the current session")),
    ("history", N_("Your finished sessions")),
    ("commitments", N_("Your open commitments")),
    ("language", N_("Choose the language I speak with you")),
    ("settings", N_("Time zone, quiet hours, pause reminders")),
    ("timezone", N_("Your time zone: its name, a city or a country")),
    ("mentees", N_("Mentors: your mentees")),
    ("mentors", N_("Mentees: choose a mentor")),
    ("share", N_("Mentees: what your mentor sees")),
    ("end", N_("End the mentoring relationship")),
    ("report", N_("Tell the coordinator about a problem")),
    ("contact", N_("Swap contacts with your mentoring partner")),
    ("meet", N_("Set your next meeting")),
    ("guide", N_("Mentors: how to use each tool with a mentee")),
    ("coordinators", N_("Coordinators: who runs your cohorts")),
    ("dashboard", N_("Coordinators: the dashboard in a browser")),
    ("help", N_("What I can do")),
    ("privacy", N_("What I store and who sees it")),
)


@dataclass
class App:
    bot: Bot
    dispatcher: Dispatcher
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    i18n: I18n
    polling: DurablePolling
    outbox: OutboxSender

    programme: Programme
    scheduler: Scheduler
    monitor: BroadcastMonitor
    retention: RetentionService
    health: Health
    lease: PollerLease
    webhook: WebhookServer | None = None
    # Where the webhook and health endpoints listen (host:port); None: nowhere.
    listen: str | None = None
    # The coordinators' dashboard (DASHBOARD_URL), and in long polling where it is served.
    dashboard: Dashboard | None = None
    dashboard_listen: str | None = None

    async def run(self) -> None:
        """Receive updates, send what the outbox holds, keep broadcasts' status messages
        and the schedule, until cancelled."""
        # Invite links name the bot: its name is asked for (and kept) before an update
        # needs it, not by a handler while its transaction is open.
        with contextlib.suppress(TelegramAPIError):
            me = await self.bot.me()
            if self.dashboard is not None:
                self.dashboard.bot_username = me.username
        if self.dashboard is not None:
            await self.dashboard.set_menu_buttons(self.bot)
        await together(self.receive(), self.scheduled())

    async def receive(self) -> None:
        """Updates from the webhook, or by long polling in the one process holding the
        polling lease (the others stand by); with the health endpoints where configured."""
        server = web.Application()
        if self.webhook is not None:
            self.webhook.routes(server)
            if self.dashboard is not None:
                self.dashboard.routes(server)
        async with self.serving_health(server), self.serving_dashboard():
            if self.webhook is not None:
                await supervised("webhook", self.webhook.run)
            else:
                await supervised("polling", self.poll)

    async def poll(self) -> None:
        await poll_while_elected(self.polling, self.lease)

    async def run_worker(self) -> None:
        """Only what is scheduled: the outbox and the schedule, no polling. Several
        workers (and bots) can run on one PostgreSQL database; none sends a row twice."""
        async with self.serving_health(web.Application()):
            await self.scheduled()

    @contextlib.asynccontextmanager
    async def serving_health(self, server: web.Application) -> AsyncIterator[None]:
        """The health endpoints, with whatever else ``server`` serves, at ``listen`` if set."""
        self.health.routes(server)
        if self.listen is None:
            yield
            return
        async with serving(server, *parse_listen(self.listen)):
            watch = asyncio.create_task(supervised("getMe", self.health.keep_telegram))
            try:
                yield
            finally:
                watch.cancel()

    @contextlib.asynccontextmanager
    async def serving_dashboard(self) -> AsyncIterator[None]:
        """In long polling, the dashboard on a server of its own at DASHBOARD_LISTEN (in
        webhook mode it is on the webhook's)."""
        if self.dashboard is None or self.webhook is not None or self.dashboard_listen is None:
            yield
            return
        server = web.Application()
        self.dashboard.routes(server)
        async with serving(server, *parse_listen(self.dashboard_listen)):
            yield

    async def scheduled(self) -> None:
        """The outbox, broadcasts' status messages and the schedule, each outliving
        database and network trouble (bot/supervision.py)."""
        await together(
            supervised("outbox", self.outbox.run),
            supervised("broadcast status", self.monitor.run),
            supervised("schedule", self.keep_schedule),
        )

    async def sweep(self) -> None:
        """Expire requests that waited too long, tell coordinators of quiet pairs, ask the
        pulse of pairs whose round is due, start the recurring messages of people who have
        none yet: each its own transaction."""
        changed = 0
        for step in (
            self.programme.matching.expire_requests,
            self.programme.pairs.alert_quiet_pairs,
            self.programme.pulse.ask_due,
        ):
            async with self.sessions() as db:
                changed += await step(db)
                await db.commit()
        changed += await plan_schedule(self.sessions, self.scheduler)
        changed += await self.keep_retention()
        if changed:
            self.outbox.wake()

    async def keep_retention(self) -> int:
        """The day's retention (bot/services/retention.py), by the one process that claims
        the day, in the claim's transaction; then, on SQLite, the WAL is emptied so that
        no copy of what was purged stays in it. Returns how many warnings it queued."""
        try:
            async with self.sessions() as db:
                if not await self.scheduler.claim_day(db, RETENTION_TASK):
                    return 0
                done = await self.retention.run(db)
                await db.commit()
        except IntegrityError:
            return 0  # another process claimed the day first
        except SQLAlchemyError as exc:
            # Tried again at the next sweep: the claim was rolled back with the rest.
            log.warning("retention failed, tried again later: %s", type(exc).__name__)
            return 0
        if done.scrubbed or done.purged:
            await checkpoint(self.engine)
        log.info(
            "retention: %s message(s) scrubbed, %s cohort(s) warned, %s purged (%s people)",
            done.scrubbed,
            len(done.warned),
            len(done.purged),
            done.erased,
        )
        return len(done.warned)

    async def keep_schedule(self, every_seconds: float = 60.0) -> None:
        while True:
            await self.sweep()
            await asyncio.sleep(every_seconds)

    async def close(self) -> None:
        if self.webhook is not None:
            await self.webhook.locks.close()
        await self.bot.session.close()
        await self.engine.dispose()


async def plan_schedule(
    sessions: async_sessionmaker[AsyncSession], scheduler: Scheduler, chunk: int = PLAN_CHUNK
) -> int:
    """The scheduler's part of the sweep, a chunk of people per transaction; returns how
    many series were started."""
    started = 0
    for kind in RECURRING:
        while True:
            try:
                async with sessions() as db:
                    queued = await scheduler.plan(db, kind, chunk)
                    await db.commit()
            except IntegrityError:
                # Another process queued the same occurrence first: it is there, once.
                break
            started += queued
            if queued < chunk:
                break
    return started


def create_bot(settings: Settings, delivery: DeliveryMiddleware) -> Bot:
    api = (
        TelegramAPIServer.from_base(settings.telegram_api_url)
        if settings.telegram_api_url
        else None
    )
    session = BotSession(api=api) if api else BotSession()
    session.middleware(delivery)
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_dispatcher(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    i18n: I18n,
    people: PeopleService,
    dialogs: DialogService,
    programme: Programme,
    renderer: Renderer,
    privacy: PrivacyService,
) -> Dispatcher:
    dispatcher = Dispatcher(
        # Dialog state lives in the database; aiogram's FSM would only cost every update time.
        disable_fsm=True,
        privacy=privacy,
        dialogs=dialogs,
        answers=GroupWork(sessions),
        # Named so as not to be taken for a handler's own "cohorts" or "pairs".
        cohort_service=programme.cohorts,
        profiles=programme.profiles,
        pair_service=programme.pairs,
        matching=programme.matching,
        conversation=programme.conversation,
        programme=programme,
        renderer=renderer,
        people=people,
        clock=clock,
    )
    dispatcher.update.outer_middleware(DatabaseMiddleware(sessions, clock))
    dispatcher.update.outer_middleware(PersonMiddleware(people))
    # The person's language first: the policy's refusals are in it.
    PersonLocaleMiddleware(i18n).setup(dispatcher)
    policy = AccessMiddleware(dialogs.dialogs, settings.coordinator_ids)
    dispatcher.message.outer_middleware(policy)
    dispatcher.callback_query.outer_middleware(policy)
    dispatcher["policy"] = policy
    dispatcher.include_routers(
        *create_routers([d.command for d in dialogs.dialogs.values() if d.command])
    )

    async def notify_failure(person_id: int) -> None:
        bot: Bot = dispatcher["bot_instance"]
        await bot.send_message(
            person_id,
            renderer.gettext(
                N_(
                    "Sorry, something went wrong with your last message. Your earlier answers are "
                    "safe; please try again."
                ),
                settings.default_locale,
            ),
        )

    dispatcher["notify_failure"] = notify_failure
    return dispatcher


# To a person sending too fast (the flood limit), once per flood.
SLOW_DOWN = N_(
    "So many messages at once! Please slow down a little: I skip the ones that arrive too fast."
)


def slow_down_sender(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], bot: Bot, renderer: Renderer
) -> SlowDown:
    """What asks a flooding person to slow down, in the language the dispatcher would pick
    for them. The person's row is read in a transaction of its own, closed before the
    request goes."""

    async def slow_down(person_id: int, telegram_language: str | None) -> None:
        async with sessions() as db:
            person = await db.get(Person, person_id)
        locale = locale_for(person, telegram_language, settings.default_locale)
        await bot.send_message(person_id, renderer.gettext(SLOW_DOWN, locale))

    return slow_down


# Libraries that log statement parameters or request bodies at DEBUG: those hold what
# people wrote, so they never log below WARNING, whatever LOG_LEVEL says.
WORDY_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "asyncpg", "aiohttp.client")


def keep_peoples_words_out_of_logs() -> None:
    for name in WORDY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


async def create_app(settings: Settings, clock: Clock | None = None) -> App:
    keep_peoples_words_out_of_logs()
    clock = clock or SystemClock()
    keyring = settings.keyring()
    engine = create_engine(settings.database_url, keyring)
    await upgrade(engine)
    sessions = create_sessionmaker(engine)
    try:
        await data_key.verify(sessions, keyring)
    except DataKeyError:
        await engine.dispose()
        raise
    # Told once the bot can start: a refusal above stays the one line it prints.
    privacy_problem = settings.privacy_problem()
    if privacy_problem:
        log.warning(privacy_problem)
    i18n = create_i18n(str(settings.locales_dir), settings.default_locale)
    people = PeopleService(clock)

    async def blocked(person_id: int) -> None:
        """A 403: the sender marks the person unreachable, in a transaction of its own."""
        async with sessions() as db:
            await people.set_reachable(db, person_id, reachable=False)
            await db.commit()

    delivery = DeliveryMiddleware(on_blocked=blocked)
    bot = create_bot(settings, delivery)
    renderer = Renderer(i18n)
    followup = FollowUpService(clock, settings.default_timezone, settings.default_locale)
    dialogs = DialogService(
        load_dialogs(settings.dialogs_dir), clock, settings.coordinator_ids, followup.zone
    )
    people.on_consent_change.append(dialogs.consent_changed)
    dialogs.on_commitments.append(followup.schedule)
    programme = create_programme(
        dialogs, clock, settings.coordinator_ids, settings.default_locale, followup
    )
    polls = PollService(clock, settings.default_locale)

    async def undeliverable(row: Outgoing, status: str) -> None:
        async with sessions() as db:
            await programme.conversation.undeliverable(db, row, status)
            await db.commit()

    scheduler = Scheduler(clock, followup, settings.default_locale, settings.daily_message_budget)
    people.on_schedule_change.append(scheduler.replan)
    meetings = MeetingService(dialogs, followup, clock, settings.default_locale)
    scheduler.composers[MEET_REMINDER] = meetings.compose_reminder
    scheduler.composers[GAME] = polls.compose_game
    outbox = OutboxSender(
        bot,
        sessions,
        clock,
        rate=settings.outbox_rate,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        on_undeliverable=undeliverable,
        renderer=renderer,
        gate=scheduler.gate,
        on_sent=polls.on_sent,
        paused=delivery.pause_left,
        # The sender's lease is half a row's: another process takes over well before the
        # rows the stopped one had claimed come back.
        election=SenderLease(sessions, settings.outbox_lease_seconds / 2),
        shared=SharedPause(sessions, delivery),
    )
    broadcasts = BroadcastService(
        programme.cohorts, clock, settings.default_locale, settings.default_timezone
    )
    monitor = BroadcastMonitor(
        bot,
        sessions,
        clock,
        broadcasts,
        renderer,
        outbox,
        timezone=settings.default_timezone,
        every_seconds=settings.broadcast_status_seconds,
    )
    privacy = PrivacyService(clock, settings.default_locale, settings.coordinator_ids)
    privacy.on_erased.append(people.forget)
    stats = StatsService(dialogs, clock, followup.zone_of)
    retention = RetentionService(
        clock,
        privacy,
        stats,
        settings.default_locale,
        retention_days=settings.retention_days,
        warning_days=settings.retention_warning_days,
        outbox_days=settings.outbox_retention_days,
    )
    dispatcher = create_dispatcher(
        settings, sessions, clock, i18n, people, dialogs, programme, renderer, privacy
    )
    dispatcher["bot_instance"] = bot
    # /privacy tells the controller, the contact and the retention periods.
    dispatcher["settings"] = settings
    dispatcher["outbox"] = outbox
    dispatcher["broadcasts"] = broadcasts
    dispatcher["followup"] = followup
    dispatcher["scheduler"] = scheduler
    dispatcher["meetings"] = meetings
    dispatcher["pulse"] = programme.pulse
    dispatcher["polls"] = polls
    dispatcher["stats"] = stats
    dispatcher["coordination"] = CoordinationService(
        clock, settings.coordinator_ids, settings.default_locale
    )
    polling = DurablePolling(
        bot,
        dispatcher,
        sessions,
        clock,
        concurrency=settings.handler_concurrency,
        timeout=settings.polling_timeout,
        flood=FloodLimit(settings.flood_burst, settings.flood_rate),
        slow_down=slow_down_sender(settings, sessions, bot, renderer),
    )
    webhook = (
        WebhookServer(
            bot,
            polling,
            PersonLocks(engine),
            settings.webhook_url,
            settings.webhook_secret.get_secret_value(),
        )
        if settings.webhook_url
        else None
    )
    dashboard = (
        Dashboard(
            settings.dashboard_url,
            settings.bot_token.get_secret_value(),
            sessions,
            clock,
            i18n,
            renderer,
            programme,
            dispatcher["coordination"],
            stats,
            broadcasts,
            settings.coordinator_ids,
            settings.default_locale,
            settings.dashboard_session_hours,
            outbox.wake,
        )
        if settings.dashboard_url
        else None
    )
    dispatcher["dashboard"] = dashboard
    return App(
        bot,
        dispatcher,
        engine,
        sessions,
        i18n,
        polling,
        outbox,
        programme,
        scheduler,
        monitor,
        retention,
        Health(bot, sessions, clock, settings.ready_stuck_seconds),
        PollerLease(sessions, settings.poller_lease_seconds),
        webhook,
        settings.webhook_listen if webhook else settings.health_listen,
        dashboard,
        settings.dashboard_listen,
    )


async def set_commands(bot: Bot, i18n: I18n) -> None:
    """The commands menu in every language, and in the default one for a person whose
    Telegram language has no catalog."""
    for language in (None, *LOCALES):
        locale = language or i18n.default_locale
        commands = [
            BotCommand(command=name, description=i18n.gettext(text, locale=locale))
            for name, text in COMMANDS
        ]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=language)


# A young collection once this many objects are allocated rather than 700: handling one
# update allocates hundreds (pydantic and SQLAlchemy objects), and reference counting
# frees nearly all of them.
GC_YOUNG_THRESHOLD = 20_000


def tune_gc() -> None:
    """For a long-running bot process, once it has started: what start-up made lives as
    long as the process, so collections need not walk it again and again (``gc.freeze``),
    and young collections come less often."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, oldest)


async def run_worker(settings: Settings) -> None:
    app = await create_app(settings)
    tune_gc()
    current = asyncio.current_task()
    if current is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, current.cancel)
    try:
        await introduce(app.bot, settings.telegram_api_url)
        log.info("mentorbot worker is running")
        await app.run_worker()
    except asyncio.CancelledError:
        pass
    finally:
        await app.close()


async def run_polling(settings: Settings) -> None:
    app = await create_app(settings)
    tune_gc()
    current = asyncio.current_task()
    if current is not None:
        # A service manager's stop (SIGTERM) lets updates in hand finish, like Ctrl+C.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, current.cancel)
    try:
        me = await introduce(app.bot, settings.telegram_api_url)
        if app.webhook is None:
            await app.bot.delete_webhook(drop_pending_updates=False)
        await set_commands(app.bot, app.i18n)
        mode = f"webhook, listening on {app.listen}" if app.webhook else "long polling"
        log.info("mentorbot is running as @%s (%s)", me.username, mode)
        await app.run()
    except asyncio.CancelledError:
        pass
    finally:
        await app.polling.drain()
        await app.close()
