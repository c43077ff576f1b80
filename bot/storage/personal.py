"""Where the database holds a person, in one registry: every table that refers to someone,
which of its rows do (by a column holding their id, a key of a JSON column, or through
another table), and what erasing the person does to such a row. Erasure (``erase``) and
the copy of someone's data (``records``) both walk it, so neither can miss a table the
other knows; a test fails when a table has a column that refers to a person and is not
registered here. A new table that refers to people adds its ``Reference`` (``register``).

Like repositories.py: each function takes the caller's session and never commits.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    case,
    cast,
    delete,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import (
    Answer,
    Base,
    Broadcast,
    Cohort,
    CohortCoordinator,
    Commitment,
    Consent,
    DashboardKey,
    DialogSession,
    InboxUpdate,
    Meeting,
    Membership,
    Outgoing,
    Pair,
    Person,
    Poll,
    PollDelivery,
    PollVote,
    Profile,
    PulseAnswer,
    QuizGame,
    QuizPlay,
    QuizPlayer,
    TelegramGroup,
)

# What the partner's messages and choices name, once the other side of their pair was
# erased: a pair that is over and is nobody's (ids start at 1), so a reply to one of those
# messages, or a mentor's choice of whom to write to, is never taken for another pair.
ERASED_PAIR = 0


class Erase(StrEnum):
    DELETE = "delete"  # the row goes
    FORGET = "forget"  # the row stays; the column names nobody any more (NULL, or 0)
    SCRUB = "scrub"  # the row stays without what it said (the reference's ``scrub``)


Rows = Callable[[int], ColumnElement[bool]]
Scrub = Callable[[datetime], Mapping[str, Any]]


@dataclass(frozen=True)
class Reference:
    """Rows of ``model`` that refer to a person: ``rows(person_id)`` selects them;
    ``columns`` are the columns whose values name the person (what the registry's test
    checks), ``erase`` what becomes of the rows."""

    model: type[Base]
    columns: tuple[str, ...]
    rows: Rows
    erase: Erase
    scrub: Scrub | None = None
    what: str = ""

    @property
    def table(self) -> str:
        return str(self.model.__tablename__)


def _pairs_of(person_id: int) -> Any:
    return select(Pair.id).where(or_(Pair.mentee_id == person_id, Pair.mentor_id == person_id))


def _sessions_of(person_id: int) -> Any:
    return select(DialogSession.id).where(DialogSession.person_id == person_id)


def _names(column: Any, key: str) -> ColumnElement[Any]:
    """A person's id kept under ``key`` of a JSON column (as big as Telegram's ids get)."""
    return cast(column[key].as_string(), BigInteger)


def _to(person_id: int) -> ColumnElement[bool]:
    return or_(Outgoing.person_id == person_id, Outgoing.chat_id == person_id)


def _about(person_id: int) -> ColumnElement[bool]:
    """Rows in other people's chats that carry the person's words or name them: what they
    sent through the bot (relayed, shared summaries), what is about their pairs, meetings,
    commitments and sessions (introductions, notices, nudges, alerts, reminders), and the
    broadcasts and polls they wrote."""
    context = Outgoing.context
    return (
        (Outgoing.person_id.is_(None) | (Outgoing.person_id != person_id))
        & (Outgoing.chat_id != person_id)
        & or_(
            # What they sent, as text or as a copy of their message.
            _names(context, "from") == person_id,
            context["pair"].as_integer().in_(_pairs_of(person_id)),
            context["meeting"]
            .as_integer()
            .in_(select(Meeting.id).where(Meeting.pair_id.in_(_pairs_of(person_id)))),
            context["commitment"]
            .as_integer()
            .in_(select(Commitment.id).where(Commitment.person_id == person_id)),
            context["session"].as_integer().in_(_sessions_of(person_id)),
            Outgoing.broadcast_id.in_(
                select(Broadcast.id).where(Broadcast.coordinator_id == person_id)
            ),
        )
    )


def _scrub_about(now: datetime) -> Mapping[str, Any]:
    return {
        "payload": {},
        "context": {"pair": ERASED_PAIR},
        # What was still to go does not go.
        "status": case(
            (Outgoing.status.in_(("pending", "sending")), "cancelled"), else_=Outgoing.status
        ),
    }


def _scrub_inbox(now: datetime) -> Mapping[str, Any]:
    # Handled from now on: an update of theirs still waiting is handled from memory (a
    # person who writes again starts afresh); after a restart there is nothing to handle.
    return {
        "payload": {},
        "person_id": None,
        "handled_at": func.coalesce(InboxUpdate.handled_at, now),
    }


# Columns whose names look as if they held a person's id, and do not.
NOT_A_PERSON: dict[tuple[str, str], str] = {
    ("telegram_groups", "chat_id"): "a group's chat, never a person's",
    ("polls", "group_chat_id"): "a group's chat, never a person's",
}

REGISTRY: list[Reference] = [
    Reference(
        InboxUpdate,
        ("person_id",),
        lambda p: InboxUpdate.person_id == p,
        Erase.SCRUB,
        _scrub_inbox,
        "updates received from them (handled ones keep no content anyway)",
    ),
    # Before the rows it looks through (pairs, meetings, commitments, sessions) go.
    Reference(
        Outgoing,
        ("context", "payload", "broadcast_id"),
        _about,
        Erase.SCRUB,
        _scrub_about,
        "messages to others that quote or name them; those not yet sent are cancelled",
    ),
    Reference(Outgoing, ("person_id", "chat_id"), _to, Erase.DELETE, what="messages to them"),
    Reference(PollVote, ("person_id",), lambda p: PollVote.person_id == p, Erase.DELETE),
    Reference(PollDelivery, ("chat_id",), lambda p: PollDelivery.chat_id == p, Erase.DELETE),
    Reference(
        QuizPlay,
        ("person_id",),
        lambda p: QuizPlay.person_id == p,
        Erase.DELETE,
        what="the questions of quiz games they were asked, and their answers",
    ),
    Reference(
        QuizPlayer,
        ("person_id",),
        lambda p: QuizPlayer.person_id == p,
        Erase.DELETE,
        what="quiz games they played",
    ),
    Reference(
        QuizGame,
        ("created_by",),
        lambda p: QuizGame.created_by == p,
        Erase.FORGET,
        what="quiz games they wrote: the programme's, kept without their author",
    ),
    Reference(
        Poll,
        ("created_by",),
        lambda p: Poll.created_by == p,
        Erase.FORGET,
        what="polls they wrote: the programme's, kept without their author",
    ),
    Reference(
        Broadcast,
        ("coordinator_id",),
        lambda p: Broadcast.coordinator_id == p,
        Erase.DELETE,
    ),
    Reference(Commitment, ("person_id",), lambda p: Commitment.person_id == p, Erase.DELETE),
    Reference(
        Answer,
        ("session_id",),
        lambda p: Answer.session_id.in_(_sessions_of(p)),
        Erase.DELETE,
        what="answers, through their dialog sessions",
    ),
    Reference(DialogSession, ("person_id",), lambda p: DialogSession.person_id == p, Erase.DELETE),
    Reference(
        Meeting,
        ("pair_id", "set_by"),
        lambda p: or_(Meeting.pair_id.in_(_pairs_of(p)), Meeting.set_by == p),
        Erase.DELETE,
        what="meetings of their pairs",
    ),
    Reference(
        Pair,
        ("mentee_id", "mentor_id", "feedback", "contact_consent"),
        lambda p: or_(Pair.mentee_id == p, Pair.mentor_id == p),
        Erase.DELETE,
        what="their pairs (ended first, the other side told)",
    ),
    Reference(
        Pair,
        ("ended_by",),
        lambda p: Pair.ended_by == p,
        Erase.FORGET,
        what="pairs of others they ended as a coordinator",
    ),
    Reference(
        PulseAnswer,
        ("person_id",),
        lambda p: PulseAnswer.person_id == p,
        Erase.DELETE,
        what="their answers to the relationship pulse (their partner's go with the pair)",
    ),
    Reference(Profile, ("person_id",), lambda p: Profile.person_id == p, Erase.DELETE),
    Reference(
        Consent,
        ("person_id",),
        lambda p: Consent.person_id == p,
        Erase.DELETE,
        what="their consents and withdrawals, with their times",
    ),
    Reference(Membership, ("person_id",), lambda p: Membership.person_id == p, Erase.DELETE),
    Reference(
        DashboardKey,
        ("person_id",),
        lambda p: DashboardKey.person_id == p,
        Erase.DELETE,
        what="their dashboard sign-ins",
    ),
    Reference(
        CohortCoordinator,
        ("person_id",),
        lambda p: CohortCoordinator.person_id == p,
        Erase.DELETE,
    ),
    Reference(
        Cohort,
        ("created_by",),
        lambda p: Cohort.created_by == p,
        Erase.FORGET,
        what="cohorts they created, kept without their author",
    ),
    Reference(
        TelegramGroup,
        ("added_by",),
        lambda p: TelegramGroup.added_by == p,
        Erase.FORGET,
        what="groups they added the bot to",
    ),
    Reference(Person, ("id",), lambda p: Person.id == p, Erase.DELETE, what="the person"),
]


def register(reference: Reference, before: type[Base] = Person) -> None:
    """Add a table that refers to people, erased before the first reference to ``before``
    (a table whose rows go with a person's goes before ``people``)."""
    at = next(i for i, known in enumerate(REGISTRY) if known.model is before)
    REGISTRY.insert(at, reference)


async def erase(db: AsyncSession, person_id: int, now: datetime) -> None:
    """Every row that refers to the person is deleted, scrubbed or made to name nobody,
    in the registry's order (rows found through other tables before those go)."""
    for reference in REGISTRY:
        where = reference.rows(person_id)
        if reference.erase is Erase.DELETE:
            await db.execute(delete(reference.model).where(where))
            continue
        if reference.erase is Erase.SCRUB:
            assert reference.scrub is not None
            values = dict(reference.scrub(now))
        else:
            values = {name: _nobody(reference.model, name) for name in reference.columns}
        await db.execute(
            update(reference.model)
            .where(where)
            .values(values)
            .execution_options(synchronize_session=False)
        )


def _nobody(model: type[Base], name: str) -> Any:
    column = model.__table__.c[name]
    return None if column.nullable else 0


async def first_names(db: AsyncSession, person_ids: Collection[int]) -> dict[int, str]:
    result = await db.execute(select(Person.id, Person.first_name).where(Person.id.in_(person_ids)))
    return dict(result.tuples().all())


async def records(db: AsyncSession, person_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row that refers to the person, by table, each with all its columns as stored
    (values made JSON: moments and dates in ISO 8601), each row once."""
    found: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for reference in REGISTRY:
        mapper = inspect(reference.model)
        keys = [mapper.get_property_by_column(column).key for column in mapper.primary_key]
        rows = await db.execute(select(reference.model).where(reference.rows(person_id)))
        for row in rows.scalars():
            values = {attr.key: _json(getattr(row, attr.key)) for attr in mapper.column_attrs}
            found.setdefault(reference.table, {})[tuple(values[k] for k in keys)] = values
    return {table: list(rows.values()) for table, rows in found.items()}


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
