"""The mentorbot command: run the bot, migrate the database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from pydantic import ValidationError

from bot.config import Settings


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


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(settings.bot_token.get_secret_value()))
    logging.basicConfig(level=settings.log_level.value, handlers=[handler], force=True)
    # aiogram logs every handled update at INFO; that is noise, not news.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        print(f"mentorbot: configuration error: {problems}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mentorbot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (long polling)")
    database = commands.add_parser("db", help="database tasks")
    database.add_argument("action", choices=["upgrade"])
    commands.add_parser("check", help="validate the configuration and the dialog files")
    args = parser.parse_args(argv)

    settings = load_settings()
    setup_logging(settings)
    if args.command == "db":
        from bot.storage.database import create_engine, upgrade

        async def migrate() -> None:
            engine = create_engine(settings.database_url)
            await upgrade(engine)
            await engine.dispose()

        asyncio.run(migrate())
        return
    if args.command == "check":
        from bot.domain.dialogs import DialogError, load_dialogs

        try:
            dialogs = load_dialogs(settings.dialogs_dir)
        except DialogError as exc:
            print(f"mentorbot: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        print(f"dialogs: {', '.join(sorted(dialogs))}")
        return
    problem = settings.token_problem()
    if problem:
        print(f"mentorbot: {problem}", file=sys.stderr)
        raise SystemExit(2)
    from bot.app import run_polling
    from bot.domain.dialogs import DialogError

    try:
        asyncio.run(run_polling(settings))
    except DialogError as exc:
        print(f"mentorbot: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        pass
