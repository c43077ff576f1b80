"""Settings from the environment or a .env file."""

from __future__ import annotations

import re
import zoneinfo
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.storage.sealing import DataKeyError, Keyring

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent


def bundled(name: str) -> Path:
    """The dialogs or the catalogs that came with the bot: inside the installed package
    (the wheel carries them, setup.py), else beside it in a source checkout."""
    installed = PACKAGE / name
    return installed if installed.is_dir() else ROOT / name


def catalog_languages(locales_dir: Path) -> tuple[str, ...]:
    """The languages the bot speaks: one per catalog in the folder (a source checkout has
    the .po files, an installed bot the compiled .mo files)."""
    return tuple(
        sorted(
            catalog.name
            for catalog in locales_dir.glob("*")
            if any(
                (catalog / "LC_MESSAGES" / name).is_file()
                for name in ("messages.po", "messages.mo")
            )
        )
    )


# Adding a catalog to locales/ adds a language (README.md says how).
LOCALES = catalog_languages(bundled("locales"))
TOKEN_PATTERN = re.compile(r"^\d{5,16}:[A-Za-z0-9_-]{30,64}$")
# Telegram's rule for a webhook's secret token.
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def parse_listen(value: str) -> tuple[str, int]:
    """``host:port`` as (host, port)."""
    host, colon, port = value.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("must be host:port, like 127.0.0.1:8080")
    return host.strip("[]"), int(port)


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr = SecretStr("")
    # The key (or keys, comma-separated, the current one first) that seals people's words
    # in the database; kept here, apart from the database. ``mentorbot new-key`` makes one.
    data_key: SecretStr = SecretStr("")
    # Off only to measure what sealing costs: words are then stored in the clear.
    encrypt_data: bool = True
    # Where a new SQLite database may be made (relative paths from the working directory,
    # where .env is read too); the default database is mentorbot.db in it.
    data_dir: Path = Path("data")
    database_url: str = ""
    telegram_api_url: str | None = None
    default_locale: str = "en"
    default_timezone: str = "Europe/Riga"
    log_level: LogLevel = LogLevel.INFO
    # json: one JSON object a line, for a log shipper.
    log_format: LogFormat = LogFormat.TEXT
    dialogs_dir: Path = Field(default_factory=lambda: bundled("dialogs"))
    locales_dir: Path = Field(default_factory=lambda: bundled("locales"))
    coordinator_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    polling_timeout: int = Field(default=25, ge=0, le=50)
    handler_concurrency: int = Field(default=64, ge=1, le=1000)
    # Updates (messages, presses) one person may send at once, and then per second; what
    # comes faster is dropped, and the person is asked once to slow down. 0: no limit.
    flood_burst: int = Field(default=8, ge=0, le=1000)
    flood_rate: float = Field(default=2.0, ge=0, le=1000)
    # Messages the bot may start to one person in a day (reminders, check-ins, a digest).
    daily_message_budget: int = Field(default=3, ge=1, le=20)
    # Messages the bot starts, in all, per second (Telegram allows about 30).
    outbox_rate: float = Field(default=25.0, gt=0, le=1000)
    # A message claimed by a process that died is sent by another after this long (the
    # living process renews its claims every third of it).
    outbox_lease_seconds: float = Field(default=15.0, ge=1, le=3600)
    # How often a broadcast's status message is brought up to date.
    broadcast_status_seconds: float = Field(default=2.5, ge=0.1)
    # Who is responsible for the data people give the bot (the controller in GDPR's terms:
    # the university, NGO or employer running the programme) and how to reach them about
    # it (an e-mail address, a data-protection officer). /privacy tells everyone.
    privacy_controller: str = Field(default="", max_length=300)
    privacy_contact: str = Field(default="", max_length=300)
    # Retention: the days after a cohort's end date when its people's data is purged (its
    # statistics stay), how many days before that its coordinators are warned, and the
    # days after which a message the bot has sent (or given up on) loses its words.
    retention_days: int = Field(default=180, ge=1, le=3650)
    retention_warning_days: int = Field(default=14, ge=1, le=365)
    outbox_retention_days: int = Field(default=30, ge=1, le=3650)
    # Of several `run` processes, one polls: the one holding a lease it renews every third
    # of this; when it dies another takes over within about this long.
    poller_lease_seconds: float = Field(default=6.0, ge=0.5, le=300)
    # Webhook mode instead of long polling: the public HTTPS address Telegram posts to,
    # the secret it sends with each post, and where this process listens for them.
    webhook_url: str | None = None
    webhook_secret: SecretStr = SecretStr("")
    webhook_listen: str = "127.0.0.1:8080"
    # In long polling, where /healthz, /readyz and /metrics are served (off unless set);
    # in webhook mode they are served beside the webhook.
    health_listen: str | None = None
    # The coordinators' dashboard (bot/dashboard): the public HTTPS address the reverse
    # proxy serves it at (what the sign-in links and the Mini App's menu button open; off
    # unless set), and in long polling where this process serves it (off unless set; in
    # webhook mode it is served beside the webhook, at WEBHOOK_LISTEN).
    dashboard_url: str | None = None
    dashboard_listen: str | None = None
    # A dashboard sign-in lasts this long; a sign-in link works once, for a few minutes.
    dashboard_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    # /readyz says not ready when an update has waited this long to be handled, or a due
    # message this long to be sent.
    ready_stuck_seconds: float = Field(default=300.0, ge=1)
    # Where `mentorbot playground` serves its page (loopback: the page acts as anyone).
    playground_listen: str = "127.0.0.1:8080"

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().absolute()
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'mentorbot.db'}"
        return self

    @field_validator("coordinator_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in LOCALES:
            raise ValueError(f"must be one of {', '.join(LOCALES)}")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in zoneinfo.available_timezones():
            raise ValueError("must be an IANA time zone name such as Europe/Riga")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://[^/\s]+/?$", value):
            raise ValueError("must be a base URL like http://127.0.0.1:8081")
        return value.rstrip("/") if value else None

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError(
                "must be the address Telegram posts to, like https://bot.example.org/telegram"
            )
        return value or None

    @field_validator("dashboard_url")
    @classmethod
    def _dashboard_url(cls, value: str | None) -> str | None:
        # The dashboard's pages are at the root of its address (a name of its own, or the
        # webhook's name, whose path the webhook keeps).
        if value and not re.match(r"^https?://[^/\s]+/?$", value):
            raise ValueError(
                "must be the dashboard's public address without a path, like "
                "https://bot.example.org"
            )
        return value.rstrip("/") if value else None

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() and not SECRET_PATTERN.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("webhook_listen", "health_listen", "playground_listen", "dashboard_listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is not None:
            parse_listen(value)
        return value

    def webhook_problem(self) -> str | None:
        """Why webhook mode cannot start, in one line for the operator; None when it can
        (or when it is off)."""
        if self.webhook_url and not self.webhook_secret.get_secret_value():
            return (
                "WEBHOOK_URL is set without WEBHOOK_SECRET: anyone could post updates to it. "
                "Set WEBHOOK_SECRET to 32 or more random letters and digits."
            )
        return None

    def keyring(self) -> Keyring | None:
        """The keys that seal and open people's words; None with encryption off. A missing
        or malformed key is a DataKeyError, with a line for the operator."""
        if not self.encrypt_data:
            return None
        key = self.data_key.get_secret_value().strip()
        if not key:
            raise DataKeyError(
                "DATA_KEY is not set: it seals what people write. Make one with "
                "`mentorbot new-key` and keep it apart from the database (it cannot be "
                "recovered from it)."
            )
        return Keyring.parse(key)

    def database_problem(self) -> str | None:
        """Why DATABASE_URL cannot be used, in one line for the operator; None when it can.
        A SQLite file must exist, or be in DATA_DIR, where the first start makes it: a
        mistyped path never becomes a new, empty database."""
        try:
            url = make_url(self.database_url)
        except ArgumentError:
            return (
                "DATABASE_URL is not a database URL: use sqlite+aiosqlite:///path/to/file.db "
                "or postgresql+asyncpg://user:password@host:5432/name"
            )
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            return (
                f"DATABASE_URL names {url.get_backend_name()!r}: mentorbot stores in SQLite "
                "(sqlite+aiosqlite:///...) or PostgreSQL (postgresql+asyncpg://...)"
            )
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        path = Path(url.database).expanduser().absolute()
        if path.is_file() or path.parent == self.data_dir:
            return None
        return (
            f"DATABASE_URL names the SQLite file {path}, which does not exist: check the path. "
            f"A new database is made only in DATA_DIR ({self.data_dir}); to start one "
            "elsewhere, set DATA_DIR to its folder"
        )

    def new_sqlite_file(self) -> bool:
        """Whether DATABASE_URL is a SQLite file that the first start is to make."""
        url = make_url(self.database_url)
        return (
            url.get_backend_name() == "sqlite"
            and url.database not in (None, "", ":memory:")
            and not Path(url.database).expanduser().is_file()
        )

    def files_problem(self) -> str | None:
        """Why the dialogs or the compiled catalogs cannot be read, in one line for the
        operator; None when both are there."""
        if not any(self.dialogs_dir.glob("*.yaml")):
            return (
                f"no dialog files (*.yaml) in {self.dialogs_dir}: set DIALOGS_DIR to the folder "
                "with grow.yaml, or reinstall mentorbot"
            )
        missing = [
            locale
            for locale in LOCALES
            if not (self.locales_dir / locale / "LC_MESSAGES" / "messages.mo").is_file()
        ]
        if missing:
            return (
                f"no compiled catalog for {', '.join(missing)} in {self.locales_dir}: in a "
                "source checkout run `make`, else set LOCALES_DIR to the folder with "
                f"{missing[0]}/LC_MESSAGES/messages.mo, or reinstall mentorbot"
            )
        return None

    def privacy_problem(self) -> str | None:
        """What /privacy cannot tell because the operator has not set it, in one line for
        the operator; None when both are set."""
        missing = [
            name
            for name, value in (
                ("PRIVACY_CONTROLLER", self.privacy_controller),
                ("PRIVACY_CONTACT", self.privacy_contact),
            )
            if not value.strip()
        ]
        if not missing:
            return None
        return (
            f"{' and '.join(missing)} not set: /privacy tells people that the operator has not "
            "said who is responsible for their data. Set PRIVACY_CONTROLLER to who runs the "
            "programme and PRIVACY_CONTACT to how to reach them (see the README)."
        )

    def token_problem(self) -> str | None:
        """Why the token cannot be used, in one line for the operator; None when it looks right."""
        token = self.bot_token.get_secret_value()
        how = (
            "Create a bot with @BotFather in Telegram (/newbot), copy the token it gives you "
            "and put it in a .env file beside the Makefile as BOT_TOKEN=123456789:AA... "
            "(or export BOT_TOKEN)."
        )
        if not token:
            return f"BOT_TOKEN is not set. {how}"
        if not TOKEN_PATTERN.match(token):
            return f"BOT_TOKEN does not look like a Telegram bot token. {how}"
        return None
