"""Who is signed in to the dashboard, and how they got there.

Two ways in, both ending in a session (a random secret in an HttpOnly cookie; the database
keeps only its SHA-256, with the moment it expires):

- **Inside Telegram** (the Mini App behind a coordinator's menu button): the page posts the
  ``initData`` Telegram gave it; it is signed with the bot's token (HMAC-SHA256, the Bot
  API's "Validating data received via the Mini App", checked by aiogram's
  ``check_webapp_signature``) and must be fresh: an ``auth_date`` over an hour old is
  refused, so a copied initData does not work for long.
- **In a desktop browser**: ``/dashboard`` in the bot gives a one-time link, valid for a few
  minutes; using it spends it (one UPDATE ... RETURNING), so a second use is refused.

Every change (a POST) carries a CSRF token derived from the session's secret, compared in
constant time; a form without it, or with another session's, is refused.

Nothing here commits: the request's unit of work does."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram.utils.web_app import check_webapp_signature, parse_webapp_init_data
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.clock import Clock
from bot.storage import dashboard as store

# initData older than this is refused (Telegram signs it when the Mini App opens).
INIT_DATA_MAX_AGE = timedelta(hours=1)
# A sign-in link works once, within this long.
LINK_MINUTES = 10
COOKIE = "mentorbot_dashboard"


def key_hash(secret: str) -> str:
    """What the database keeps of a link's or a session's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token(session_secret: str) -> str:
    """The token every form of this session carries."""
    return hmac.new(session_secret.encode(), b"csrf", hashlib.sha256).hexdigest()


def csrf_matches(session_secret: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(csrf_token(session_secret), given)


class InitDataRefusal(enum.StrEnum):
    SIGNATURE = "signature"  # not signed with this bot's token (or altered)
    STALE = "stale"  # signed more than an hour ago
    NO_USER = "no_user"


@dataclass(frozen=True)
class InitDataCheck:
    user_id: int | None = None
    refusal: InitDataRefusal | None = None


def check_init_data(token: str, init_data: str, now: datetime) -> InitDataCheck:
    """Whose Mini App this is, if Telegram signed it with this bot's token lately."""
    if not init_data or not check_webapp_signature(token, init_data):
        return InitDataCheck(refusal=InitDataRefusal.SIGNATURE)
    try:
        parsed = parse_webapp_init_data(init_data)
    except ValueError:
        return InitDataCheck(refusal=InitDataRefusal.SIGNATURE)
    signed = parsed.auth_date
    if signed > now + timedelta(minutes=5) or now - signed > INIT_DATA_MAX_AGE:
        return InitDataCheck(refusal=InitDataRefusal.STALE)
    if parsed.user is None:
        return InitDataCheck(refusal=InitDataRefusal.NO_USER)
    return InitDataCheck(user_id=parsed.user.id)


class DashboardAuth:
    def __init__(self, clock: Clock, session_hours: float) -> None:
        self.clock = clock
        self.session_length = timedelta(hours=session_hours)

    def mint_link(self, db: AsyncSession, person_id: int) -> str:
        """A one-time sign-in secret for this person; the link carries it."""
        secret = secrets.token_urlsafe(32)
        now = self.clock.now()
        store.add_key(
            db, key_hash(secret), store.LINK, person_id, now, now + timedelta(minutes=LINK_MINUTES)
        )
        return secret

    async def spend_link(self, db: AsyncSession, secret: str) -> int | None:
        """Whom a sign-in link lets in, the first time only."""
        return await store.spend_link(db, key_hash(secret), self.clock.now())

    def open_session(self, db: AsyncSession, person_id: int) -> str:
        """A new session's secret (the cookie's value)."""
        secret = secrets.token_urlsafe(32)
        now = self.clock.now()
        store.add_key(
            db, key_hash(secret), store.SESSION, person_id, now, now + self.session_length
        )
        return secret

    async def session_person(self, db: AsyncSession, secret: str) -> int | None:
        return await store.session_person(db, key_hash(secret), self.clock.now())

    async def end_session(self, db: AsyncSession, secret: str) -> None:
        await store.end_session(db, key_hash(secret))

    async def drop_expired(self, db: AsyncSession) -> None:
        await store.drop_expired(db, self.clock.now())
