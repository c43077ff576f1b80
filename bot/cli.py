"""The mentorbot command: run the bot, migrate the database, move people and pairs as CSV,
report a cohort's statistics, erase a person, apply the retention periods."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from pydantic import ValidationError

from bot.config import LogFormat, Settings, catalog_languages
from bot.errors import OperatorError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.services.clock import Clock
    from bot.services.stats import StatsService

T = TypeVar("T")


class RedactSecrets(logging.Filter):
    """Keeps the bot token out of every log line, whoever writes it."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secret:
            message = record.getMessage()
            if self.secret in message:
                record.msg = message.replace(self.secret, "<token>")
                record.args = None
        return True


class JsonLines(logging.Formatter):
    """One JSON object a line, for log shippers: the time (UTC, ISO 8601), level, logger,
    message and the exception's type. Never its text or traceback: an exception's message
    can quote what it was given."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        from datetime import UTC, datetime

        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonLines()
        if settings.log_format == LogFormat.JSON
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactSecrets(settings.bot_token.get_secret_value()))
    logging.basicConfig(level=settings.log_level.value, handlers=[handler], force=True)
    # aiogram logs every handled update at INFO, and Alembic its plugins and set-up at
    # every start: noise, not news (bot/storage/database.py says when it migrates).
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        print(f"mentorbot: configuration error: {problems}", file=sys.stderr)
        raise SystemExit(2) from None


def fail(problem: str) -> SystemExit:
    print(f"mentorbot: {problem}", file=sys.stderr)
    return SystemExit(2)


def with_database(
    settings: Settings, work: Callable[[AsyncSession], Awaitable[T]], *, checkpoint: bool = False
) -> T:
    """One unit of work on the configured database, for a command: committed once ``work``
    returns (the services it calls never commit), rolled back if it fails. With
    ``checkpoint`` (after erasing), SQLite's WAL is emptied into the file once committed."""
    from bot.storage import data_key, database

    async def run() -> T:
        keyring = settings.keyring()
        engine = database.create_engine(settings.database_url, keyring)
        try:
            await database.require_schema(engine)
            await data_key.verify(database.create_sessionmaker(engine), keyring)
            async with database.create_sessionmaker(engine)() as db:
                result = await work(db)
                await db.commit()
            if checkpoint:
                await database.checkpoint(engine)
            return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


def run_import(settings: Settings, path: Path, cohort: str, role: str) -> NoReturn:
    from bot.services.clock import SystemClock
    from bot.services.people_csv import (
        PeopleFileError,
        UnknownCohort,
        decode,
        import_people,
        parse_people,
    )

    try:
        rows, errors = parse_people(decode(path.read_bytes()), role)
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from None
    except PeopleFileError as exc:
        raise fail(f"{path}: {exc}") from None
    try:
        result = with_database(
            settings, lambda db: import_people(db, cohort, role, rows, SystemClock().now())
        )
    except UnknownCohort as exc:
        raise fail(str(exc)) from None
    for error in errors:
        print(error, file=sys.stderr)
    skipped = len({error.line for error in errors})
    print(
        f"imported {result.imported}, skipped {skipped} "
        f"({result.added} new, {result.updated} updated)"
    )
    raise SystemExit(0 if result.imported else 1)


def run_export(settings: Settings, what: str, cohort: str, out: Path | None) -> None:
    from bot.domain.dialogs import load_dialogs
    from bot.services.exports import export
    from bot.services.people_csv import UnknownCohort

    coaching = [d.id for d in load_dialogs(settings.dialogs_dir).values() if d.kind == "coaching"]
    try:
        text = with_database(settings, lambda db: export(db, what, cohort, coaching))
    except UnknownCohort as exc:
        raise fail(str(exc)) from None
    write_out(text, out)


def write_out(text: str, out: Path | None) -> None:
    """To standard output, or to a file only its owner may read (it holds people's data)."""
    if out is None:
        sys.stdout.write(text)
        return
    from bot.storage.database import private_file

    try:
        private_file(out)
        with out.open("w", encoding="utf-8") as file:
            file.write(text)
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror}") from None


def run_erase(settings: Settings, person_id: int) -> None:
    """Erase a person as /deleteme does: their partners and coordinators are told when the
    bot next sends."""
    from bot.services.clock import SystemClock
    from bot.services.privacy import PrivacyService

    privacy = PrivacyService(SystemClock(), settings.default_locale, settings.coordinator_ids)
    erased = with_database(settings, lambda db: privacy.erase(db, person_id), checkpoint=True)
    if not erased.found:
        print(f"mentorbot: nobody with the id {person_id} is stored; nothing to erase")
        return
    print(f"erased {person_id}; pairs ended: {len(erased.ended)}")


def stats_service(settings: Settings, clock: Clock) -> StatsService:
    """The figures as the bot computes them, for the commands that run without it."""
    from bot.domain.dialogs import load_dialogs
    from bot.services.dialogs import DialogService
    from bot.services.followup import FollowUpService
    from bot.services.stats import StatsService

    zones = FollowUpService(clock, settings.default_timezone, settings.default_locale)
    return StatsService(
        DialogService(load_dialogs(settings.dialogs_dir), clock), clock, zones.zone_of
    )


def run_purge(settings: Settings) -> None:
    """Today's retention, by hand (the schedule runs it once a day too)."""
    from bot.services.clock import SystemClock
    from bot.services.privacy import PrivacyService
    from bot.services.retention import RetentionService

    clock = SystemClock()
    retention = RetentionService(
        clock,
        PrivacyService(clock, settings.default_locale, settings.coordinator_ids),
        stats_service(settings, clock),
        settings.default_locale,
        retention_days=settings.retention_days,
        warning_days=settings.retention_warning_days,
        outbox_days=settings.outbox_retention_days,
    )
    done = with_database(settings, retention.run, checkpoint=True)
    print(
        f"scrubbed {done.scrubbed} sent message(s); warned: {', '.join(done.warned) or '-'}; "
        f"purged: {', '.join(done.purged) or '-'} ({done.erased} people erased)"
    )


def run_report(settings: Settings, cohort_name: str, out: Path | None) -> None:
    """The cohort's statistics as one self-contained HTML page."""
    from bot.charts.stats import render_stats
    from bot.i18n import create_i18n
    from bot.services.clock import SystemClock
    from bot.services.people_csv import UnknownCohort, _cohort
    from bot.telegram.render import Renderer

    clock = SystemClock()
    stats = stats_service(settings, clock)
    renderer = Renderer(create_i18n(str(settings.locales_dir), settings.default_locale))
    locale = settings.default_locale

    async def figures(db: AsyncSession) -> Any:
        return await stats.cohort_stats(db, await _cohort(db, cohort_name))

    try:
        found = with_database(settings, figures)
    except UnknownCohort as exc:
        raise fail(str(exc)) from None
    chart = render_stats(stats.chart(found, lambda msg: renderer.plain(msg, locale)))
    page = stats.page(found, lambda msg: renderer.text(msg, locale), [chart], locale)
    write_out(page, out)


def run_rotate_key(settings: Settings) -> None:
    from bot.storage import data_key
    from bot.storage.database import create_engine, create_sessionmaker, upgrade

    keyring = settings.keyring()
    if keyring is None:
        raise fail("rotate-key seals with DATA_KEY, and encryption is off (ENCRYPT_DATA)")

    async def rotate() -> dict[str, int]:
        engine = create_engine(settings.database_url, keyring)
        try:
            await upgrade(engine)
            sessions = create_sessionmaker(engine)
            await data_key.verify(sessions, keyring)
            return await data_key.rotate(engine, keyring)
        finally:
            await engine.dispose()

    rewritten = asyncio.run(rotate())
    print(
        f"sealed with key {keyring.current}: "
        + ", ".join(f"{table} {count}" for table, count in rewritten.items())
    )
    if len(keyring.openers) > 1:
        print("every value now opens with the first key: DATA_KEY can drop the others")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mentorbot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (long polling) and its scheduled sending")
    commands.add_parser("worker", help="run only the scheduled sending (no polling)")
    commands.add_parser(
        "playground",
        help="try the bot without Telegram: the real bot on an embedded Bot API server, "
        "with a web page of chats (PLAYGROUND_LISTEN, default 127.0.0.1:8080)",
    )
    database = commands.add_parser("db", help="database tasks")
    database.add_argument("action", choices=["upgrade"])
    commands.add_parser(
        "check",
        help="check the configuration, the dialog files and catalogs, the database, the data "
        "key and the token, and say what was found",
    )
    commands.add_parser("new-key", help="print a new data key for DATA_KEY")
    commands.add_parser(
        "rotate-key",
        help="seal every stored word with the first key of DATA_KEY (the old keys after it)",
    )
    people = commands.add_parser(
        "import", help="add mentees or mentors, with their intake answers, to a cohort"
    )
    people.add_argument("file", type=Path, help="a UTF-8 CSV file with a header row")
    people.add_argument("--cohort", required=True, metavar="NAME")
    people.add_argument("--role", required=True, choices=["mentee", "mentor"])
    export = commands.add_parser("export", help="write a cohort's data as CSV")
    export.add_argument("what", choices=["pairs", "sessions", "checkins"])
    export.add_argument("--cohort", required=True, metavar="NAME")
    export.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")
    report = commands.add_parser(
        "report", help="write a cohort's statistics as a self-contained HTML page"
    )
    report.add_argument("--cohort", required=True, metavar="NAME")
    report.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")
    erase = commands.add_parser(
        "erase", help="erase a person and everything about them, as /deleteme does"
    )
    erase.add_argument("--person", required=True, type=int, metavar="ID", help="Telegram id")
    commands.add_parser(
        "purge",
        help="apply the retention periods now: scrub old messages, warn about and purge "
        "cohorts past their retention",
    )
    args = parser.parse_args(argv)
    if args.command == "new-key":
        from bot.storage.sealing import new_key

        print(new_key())
        return

    settings = load_settings()
    setup_logging(settings)
    try:
        run_command(settings, args)
    except OperatorError as exc:
        raise fail(str(exc)) from None


def run_playground(settings: Settings) -> None:
    from bot.domain.dialogs import DialogError
    from bot.playground.web import run_playground

    try:
        asyncio.run(run_playground(settings))
    except DialogError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        pass


def run_check(settings: Settings) -> None:
    """Each part the bot needs, in the order it starts them; one line for each, and at the
    first that would stop the bot, its one line and status 2."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from bot.domain.dialogs import DialogError, load_dialogs
    from bot.storage import data_key, database
    from bot.telegram.preflight import introduce

    try:
        dialogs = load_dialogs(settings.dialogs_dir)
    except DialogError as exc:
        raise OperatorError(str(exc)) from None
    print(f"dialogs: {', '.join(sorted(dialogs))} ({settings.dialogs_dir})")
    languages = ", ".join(catalog_languages(settings.locales_dir))
    print(f"catalogs: {languages} ({settings.locales_dir})")
    keyring = settings.keyring()
    key_in_use = "encryption is off" if keyring is None else f"key {keyring.current}"
    token_problem = settings.token_problem()
    if token_problem:
        raise OperatorError(token_problem)

    async def reach() -> None:
        where = database.describe(settings.database_url)
        if settings.new_sqlite_file():
            print(f"database: {where} does not exist yet: the first start makes it")
            print(f"data key: {key_in_use}; the first start records it in the database")
        else:
            await reach_database(where)
        api = settings.telegram_api_url
        session = AiohttpSession(api=TelegramAPIServer.from_base(api)) if api else None
        bot = Bot(settings.bot_token.get_secret_value(), session=session)
        try:
            me = await introduce(bot, api)
        finally:
            await bot.session.close()
        print(f"telegram: the token is @{me.username}'s (id {me.id})")

    async def reach_database(where: str) -> None:
        engine = database.create_engine(settings.database_url, keyring)
        try:
            found = await database.schema(engine)
            problem = found.newer_problem()
            if problem:
                raise OperatorError(problem)
            if found.up_to_date:
                print(f"database: {where}, schema at {found.current} (up to date)")
            else:
                print(
                    f"database: {where}, schema at {found.current or 'nothing'}: the next "
                    f"start (or `mentorbot db upgrade`) migrates it to {found.head}"
                )
            if found.current is None:
                print(f"data key: {key_in_use}; the first start records it in the database")
            elif await data_key.verify(database.create_sessionmaker(engine), keyring, record=False):
                print(f"data key: {key_in_use}, it opens this database")
            else:
                print(f"data key: {key_in_use}; the next start records it in the database")
        finally:
            await engine.dispose()

    asyncio.run(reach())


def run_command(settings: Settings, args: argparse.Namespace) -> None:
    if args.command == "playground":
        # Its database is its own: DATABASE_URL is not used.
        problem = settings.files_problem()
        if problem:
            raise OperatorError(problem)
        run_playground(settings)
        return
    problem = settings.database_problem() or settings.files_problem()
    if problem:
        raise OperatorError(problem)
    if args.command == "rotate-key":
        run_rotate_key(settings)
        return
    if args.command == "db":
        from bot.storage.database import create_engine, upgrade

        async def migrate() -> None:
            engine = create_engine(settings.database_url)
            await upgrade(engine)
            await engine.dispose()

        asyncio.run(migrate())
        return
    if args.command == "import":
        run_import(settings, args.file, args.cohort, args.role)
    if args.command == "export":
        run_export(settings, args.what, args.cohort, args.out)
        return
    if args.command == "report":
        run_report(settings, args.cohort, args.out)
        return
    if args.command == "erase":
        run_erase(settings, args.person)
        return
    if args.command == "purge":
        run_purge(settings)
        return
    if args.command == "check":
        run_check(settings)
        return
    problem = settings.token_problem() or (
        settings.webhook_problem() if args.command == "run" else None
    )
    if problem:
        print(f"mentorbot: {problem}", file=sys.stderr)
        raise SystemExit(2)
    from bot.app import run_polling, run_worker
    from bot.domain.dialogs import DialogError

    try:
        asyncio.run(run_worker(settings) if args.command == "worker" else run_polling(settings))
    except DialogError as exc:
        print(f"mentorbot: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        pass
