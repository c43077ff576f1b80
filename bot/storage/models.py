"""The database schema. Alembic migrations in migrations/versions mirror it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.storage.sealing import SealedJSON, SealedText

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        dict[str, Any]: JSON,
        datetime: UTCDateTime(),
    }


class Person(Base):
    """Someone who has written to the bot; the id is their Telegram user id."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Local hours between which the bot starts nothing (from > to wraps past midnight).
    quiet_from: Mapped[int] = mapped_column(Integer, default=21)
    quiet_to: Mapped[int] = mapped_column(Integer, default=8)
    paused_until: Mapped[datetime | None]
    # The regular check-in: local weekday (0 = Monday) and hour; stopped by the person.
    checkin_weekday: Mapped[int] = mapped_column(Integer, default=0)
    checkin_hour: Mapped[int] = mapped_column(Integer, default=10)
    checkins_stopped: Mapped[bool] = mapped_column(default=False)
    # Mentors: the digest of their mentees daily instead of weekly.
    digest_daily: Mapped[bool] = mapped_column(default=False)
    unreachable_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class InboxUpdate(Base):
    """A received Telegram update, kept until it has been handled."""

    __tablename__ = "inbox_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    person_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(SealedJSON("inbox_updates.payload"))
    received_at: Mapped[datetime]
    handled_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failure: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_inbox_updates_pending", "handled_at", "update_id"),)


class BotState(Base):
    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class DialogSession(Base):
    """One run of a coaching dialog. ``state`` is the engine's position; answers are rows."""

    __tablename__ = "dialog_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    dialog_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    state: Mapped[dict[str, Any]]
    last_update_id: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_dialog_sessions_person_status", "person_id", "status"),)


class Answer(Base):
    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("dialog_sessions.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(96))
    value: Mapped[Any] = mapped_column(SealedJSON("answers.value", clear_numbers=True))
    answered_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("session_id", "key"),)


class Commitment(Base):
    """An action the person committed to, with the date it is due."""

    __tablename__ = "commitments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("dialog_sessions.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(SealedText("commitments.text"))
    context: Mapped[str | None] = mapped_column(String(64))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime]
    # When it was marked done or dropped.
    closed_at: Mapped[datetime | None]


class Outgoing(Base):
    """A message the bot starts (not a reply): written before it is sent, so a
    restart neither loses nor repeats it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int | None] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(SealedJSON("outbox.payload"))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    sent_message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    # Past this moment the message makes no sense any more (its next occurrence has come,
    # the meeting has begun): it is dropped, with status "stale", instead of sent late.
    stale_at: Mapped[datetime | None]
    # One row per occurrence of something recurring ("checkin_invite:<person>:<time>"): a
    # repeated scheduling step cannot queue it twice.
    series: Mapped[str | None] = mapped_column(String(96), unique=True)
    # The broadcast this row delivers to one recipient, if it is one.
    broadcast_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_outbox_status_due_at", "status", "due_at"),
        Index("ix_outbox_person_id_sent_at", "person_id", "sent_at"),
        # The schedule's sweep: who has no pending item of a kind.
        Index("ix_outbox_kind_status_person_id", "kind", "status", "person_id"),
        Index("ix_outbox_broadcast_id_status", "broadcast_id", "status"),
    )


class Cohort(Base):
    """A group of mentees and mentors who run through a programme together."""

    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    mode: Mapped[str] = mapped_column(String(20))  # a CohortMode
    ends_on: Mapped[date | None] = mapped_column(Date)
    # What CohortSettings (bot/domain/cohorts.py) reads; only what a coordinator changed.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    # Retention: when its coordinators were told the purge is near, and when its people's
    # data was purged (its statistics are kept in cohort_statistics from then on).
    retention_warned_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]


class CohortStatistics(Base):
    """A cohort's statistics as they were just before its people's data was purged: what
    /stats and the report show of it from then on (aggregates only, no person)."""

    __tablename__ = "cohort_statistics"

    cohort_id: Mapped[int] = mapped_column(
        ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True
    )
    figures: Mapped[dict[str, Any]]
    kept_at: Mapped[datetime]


class CohortCoordinator(Base):
    __tablename__ = "cohort_coordinators"

    cohort_id: Mapped[int] = mapped_column(
        ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )


class Invite(Base):
    """A deep link (t.me/<bot>?start=<code>) that brings someone into a cohort in a role."""

    __tablename__ = "invites"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(12))  # a Role: mentee, mentor or coordinator
    expires_at: Mapped[datetime | None]
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    # A revoked link lets nobody in any more.
    revoked_at: Mapped[datetime | None]


class Membership(Base):
    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(10))  # a Role: mentee or mentor
    status: Mapped[str] = mapped_column(String(10))  # a MembershipStatus
    joined_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("cohort_id", "person_id"),
        Index("ix_memberships_person_id", "person_id"),
    )


class Profile(Base):
    """What a mentee or mentor told in their intake: it feeds matching and introductions."""

    __tablename__ = "profiles"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(10))
    data: Mapped[dict[str, Any]] = mapped_column(SealedJSON("profiles.data"))
    updated_at: Mapped[datetime]


class Pair(Base):
    __tablename__ = "pairs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    # A PairStatus; the moves are bot/domain/pairs.py's table:
    # proposed -> active <-> paused -> ended; proposed -> excluded (by the coordinator);
    # requested (by the mentee) -> active, declined or expired (no answer in time)
    status: Mapped[str] = mapped_column(String(12))
    score: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[int | None] = mapped_column(BigInteger)
    end_reason: Mapped[str | None] = mapped_column(SealedText("pairs.end_reason"))
    # Each side's look back once it ended, by person id.
    feedback: Mapped[dict[str, Any]] = mapped_column(SealedJSON("pairs.feedback"), default=dict)
    last_contact_at: Mapped[datetime | None]
    # When the coordinators were last told this pair has had no contact for a while.
    quiet_alert_at: Mapped[datetime | None]
    # Who pressed "share my contact": contacts are swapped once both have.
    contact_consent: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The video call link the pair gave once (/meet), put in every meeting's invitation.
    video_link: Mapped[str | None] = mapped_column(SealedText("pairs.video_link"))

    __table_args__ = (
        Index("ix_pairs_cohort_status", "cohort_id", "status"),
        Index("ix_pairs_mentee_id", "mentee_id"),
        Index("ix_pairs_mentor_id", "mentor_id"),
    )


class Meeting(Base):
    """A meeting a pair agreed on (/meet); both are reminded before it."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime]
    set_by: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), default="planned")  # or "cancelled"
    created_at: Mapped[datetime]
    # The calendar event's: a changed meeting keeps its uid with the next sequence, so
    # the calendar the invitation went into updates its one event.
    uid: Mapped[str | None] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PulseAnswer(Base):
    """One side's answer to one round of a pair's relationship pulse (bot/services/pulse.py):
    asked 30 days after the pair started and then every 60; the figures are for the
    programme's coordinators only."""

    __tablename__ = "pulse_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    asked_at: Mapped[datetime]
    # When its questions were last opened: the answers finished go to the latest opened.
    started_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    useful: Mapped[int | None] = mapped_column(Integer)  # 1 to 5
    regular: Mapped[str | None] = mapped_column(String(12))  # weekly ... rarely

    __table_args__ = (
        UniqueConstraint("pair_id", "person_id", "round"),
        Index("ix_pulse_answers_person_id", "person_id"),
    )


class TelegramGroup(Base):
    """A Telegram group or supergroup the bot was added to; coordinators link it to a cohort."""

    __tablename__ = "telegram_groups"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(256), default="")
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="SET NULL"))
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class Poll(Base):
    """A poll or quiz a coordinator wrote; sent as native Telegram polls to a group or to
    each member of a cohort."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "poll" or "quiz"
    question: Mapped[str] = mapped_column(String(300))
    options: Mapped[list[Any]] = mapped_column(JSON)
    correct_option: Mapped[int | None] = mapped_column(Integer)
    # Anonymous: Telegram tells the bot only each option's total, never who chose what.
    anonymous: Mapped[bool] = mapped_column(default=False)
    # draft -> sent; the audience is chosen when it is sent.
    status: Mapped[str] = mapped_column(String(8), default="draft")
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    group_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_polls_cohort_id_kind", "cohort_id", "kind"),)


class PollDelivery(Base):
    """One native Telegram poll that carries a poll: in a group, or in one member's chat."""

    __tablename__ = "poll_deliveries"

    telegram_poll_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    # The latest totals Telegram reported (a poll update): votes by option, and voters.
    totals: Mapped[list[Any] | None] = mapped_column(JSON)
    voters: Mapped[int | None] = mapped_column(Integer)


class PollVote(Base):
    """An option someone chose in a Telegram poll (a retracted vote is deleted; so are a
    person's votes with the person)."""

    __tablename__ = "poll_votes"

    telegram_poll_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    option: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    voted_at: Mapped[datetime]


class QuizGame(Base):
    """A quiz of several questions a coordinator sends to a cohort as one game: each member
    gets the questions one after another in their own chat, then their score."""

    __tablename__ = "quiz_games"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # [{"question": ..., "options": [...], "correct": n}, ...]
    questions: Mapped[list[Any]] = mapped_column(JSON)
    seconds: Mapped[int] = mapped_column(Integer)  # each question's time to answer
    board_to_players: Mapped[bool] = mapped_column(default=False)
    # draft -> sent -> done (the leaderboard went out)
    status: Mapped[str] = mapped_column(String(8), default="draft")
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class QuizPlayer(Base):
    """A member a game was sent to; finished once their score went out."""

    __tablename__ = "quiz_players"

    game_id: Mapped[int] = mapped_column(
        ForeignKey("quiz_games.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    finished_at: Mapped[datetime | None]


class QuizPlay(Base):
    """One question of a game asked of one player (a Telegram quiz poll), and their answer."""

    __tablename__ = "quiz_plays"

    telegram_poll_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    game_id: Mapped[int] = mapped_column(
        ForeignKey("quiz_games.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # the question's, from 0
    asked_at: Mapped[datetime]
    option: Mapped[int | None] = mapped_column(Integer)
    answered_at: Mapped[datetime | None]


class Broadcast(Base):
    """A coordinator's message to an audience. While a draft it holds the chosen audience
    and content; once confirmed, each recipient is an outbox row with its id."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    coordinator_id: Mapped[int] = mapped_column(BigInteger)
    # draft -> scheduled -> sending -> done; cancelled from any of them
    status: Mapped[str] = mapped_column(String(12))
    # What a draft waits for: audience, content, content_<language> (that language's
    # version), ready, time
    stage: Mapped[str] = mapped_column(String(16))
    audience: Mapped[dict[str, Any]]
    # By language ("all", or one per language): method, text or caption, file id.
    content: Mapped[dict[str, Any]] = mapped_column(SealedJSON("broadcasts.content"))
    send_at: Mapped[datetime | None]
    total: Mapped[int] = mapped_column(Integer, default=0)
    status_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_broadcasts_coordinator_status", "coordinator_id", "status"),
        Index("ix_broadcasts_status", "status"),
    )


class Consent(Base):
    """A person's decision about a consent (bot/domain/consent.py): given or withdrawn, and
    when. Rows are never changed: the latest for a person and kind is what holds now, the
    others are its history."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # a ConsentKind
    given: Mapped[bool]
    at: Mapped[datetime]

    __table_args__ = (Index("ix_consents_person_kind", "person_id", "kind", "id"),)


class DashboardKey(Base):
    """A coordinator's way into the dashboard (bot/dashboard): a one-time sign-in link
    (``link``, spent once used) or a signed-in browser's session (``session``). Only the
    SHA-256 of the secret is kept: the database alone lets nobody in."""

    __tablename__ = "dashboard_keys"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # link or session
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_dashboard_keys_person_id", "person_id"),
        Index("ix_dashboard_keys_expires_at", "expires_at"),
    )
