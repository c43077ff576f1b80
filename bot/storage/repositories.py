"""Queries and writes. Every function takes the session of the caller's unit of
work and never commits: the caller decides when the work is complete."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from bot.domain.pacing import BULK_KINDS, PERSON_KINDS, Lane
from bot.domain.pairs import PairStatus
from bot.storage.models import (
    Answer,
    BotState,
    Commitment,
    DialogSession,
    InboxUpdate,
    Outgoing,
    Pair,
    Person,
    Profile,
)

ACTIVE = "active"
PAUSED = "paused"
FINISHED = "finished"
ABANDONED = "abandoned"


# People ----------------------------------------------------------------------


LAST_SEEN_RESOLUTION = timedelta(minutes=10)


async def upsert_person(
    session: AsyncSession,
    person_id: int,
    first_name: str,
    telegram_language: str | None,
    now: datetime,
) -> Person:
    """The person, recorded or brought up to date. Nothing is written when nothing
    changed: last_seen_at moves in steps of ten minutes."""
    person = await session.get(Person, person_id)
    if person is None:
        person = Person(
            id=person_id,
            first_name=first_name[:128],
            telegram_language=telegram_language,
            created_at=now,
            last_seen_at=now,
        )
        session.add(person)
        await session.flush()
        return person
    if person.first_name != first_name[:128]:
        person.first_name = first_name[:128]
    if person.telegram_language != telegram_language:
        person.telegram_language = telegram_language
    if person.unreachable_at is not None:
        person.unreachable_at = None
    if now - person.last_seen_at >= LAST_SEEN_RESOLUTION:
        person.last_seen_at = now
    return person


async def set_language(session: AsyncSession, person_id: int, code: str) -> None:
    await session.execute(update(Person).where(Person.id == person_id).values(language=code))


async def mark_unreachable(session: AsyncSession, person_id: int, now: datetime) -> None:
    await session.execute(
        update(Person)
        .where(Person.id == person_id, Person.unreachable_at.is_(None))
        .values(unreachable_at=now)
    )


async def mark_reachable(session: AsyncSession, person_id: int) -> None:
    await session.execute(update(Person).where(Person.id == person_id).values(unreachable_at=None))


# Dialog sessions and answers -------------------------------------------------


CURRENT_SESSION = (
    select(DialogSession)
    .where(DialogSession.person_id == bindparam("b_person"), DialogSession.status == ACTIVE)
    .order_by(DialogSession.updated_at.desc())
    .limit(1)
)
SESSION_BY_ID = select(DialogSession).where(DialogSession.id == bindparam("b_id"))


async def current_session(session: AsyncSession, person_id: int) -> DialogSession | None:
    result = await session.execute(CURRENT_SESSION, {"b_person": person_id})
    return result.scalar_one_or_none()


async def resumable_session(
    session: AsyncSession, person_id: int, dialog_id: str | None = None
) -> DialogSession | None:
    """The most recently touched unfinished session, of one dialog or of any."""
    query = select(DialogSession).where(
        DialogSession.person_id == person_id, DialogSession.status.in_((ACTIVE, PAUSED))
    )
    if dialog_id is not None:
        query = query.where(DialogSession.dialog_id == dialog_id)
    result = await session.execute(query.order_by(DialogSession.updated_at.desc()).limit(1))
    return result.scalar_one_or_none()


async def get_session(
    session: AsyncSession, person_id: int, session_id: int
) -> DialogSession | None:
    record = (await session.execute(SESSION_BY_ID, {"b_id": session_id})).scalar_one_or_none()
    return record if record is not None and record.person_id == person_id else None


SESSIONS = cast(Table, DialogSession.__table__)
ADVANCE_SESSION = (
    SESSIONS.update()
    .where(SESSIONS.c.id == bindparam("b_id"), SESSIONS.c.version == bindparam("b_version"))
    .values(
        state=bindparam("state"),
        last_update_id=bindparam("last_update_id"),
        updated_at=bindparam("updated_at"),
        status=bindparam("status"),
        finished_at=bindparam("finished_at"),
        version=bindparam("version"),
    )
)


async def advance_session(
    session: AsyncSession,
    record: DialogSession,
    state: dict[str, Any],
    update_id: int,
    now: datetime,
    finished: bool,
) -> None:
    """Store a session's new position, if nothing else has changed the session since it was
    read (else StaleDataError, and the update is handled again)."""
    values: dict[str, Any] = {
        "state": state,
        "last_update_id": update_id,
        "updated_at": now,
        "status": FINISHED if finished else record.status,
        "finished_at": now if finished else record.finished_at,
        "version": record.version + 1,
    }
    result = cast(
        CursorResult[Any],
        await session.execute(
            ADVANCE_SESSION, {"b_id": record.id, "b_version": record.version, **values}
        ),
    )
    if result.rowcount != 1:
        raise StaleDataError(f"dialog session {record.id} was changed meanwhile")
    # The record is kept as written, without the session writing it a second time.
    for key, value in values.items():
        set_committed_value(record, key, value)


async def pause_others(
    session: AsyncSession, person_id: int, keep_id: int | None, now: datetime
) -> list[DialogSession]:
    result = await session.execute(
        select(DialogSession).where(
            DialogSession.person_id == person_id,
            DialogSession.status == ACTIVE,
            DialogSession.id != (keep_id or -1),
        )
    )
    paused = list(result.scalars())
    for record in paused:
        record.status = PAUSED
        record.updated_at = now
    return paused


async def load_answers(session: AsyncSession, session_id: int) -> dict[str, Any]:
    result = await session.execute(
        select(Answer.key, Answer.value).where(Answer.session_id == session_id)
    )
    return {key: value for key, value in result.all()}


ANSWERS = cast(Table, Answer.__table__)
INSERT_ANSWER = ANSWERS.insert()
UPDATE_ANSWER = (
    ANSWERS.update()
    .where(ANSWERS.c.session_id == bindparam("b_session"), ANSWERS.c.key == bindparam("b_key"))
    .values(value=bindparam("value"), answered_at=bindparam("answered_at"))
)


async def save_answers(
    session: AsyncSession,
    session_id: int,
    before: dict[str, Any],
    after: dict[str, Any],
    now: datetime,
) -> None:
    """Write the answers that are new or changed. ``before`` holds every answer stored for
    the session (answers are replaced, never removed), so no read is needed to tell a new
    answer from a changed one."""
    changed = {k: v for k, v in after.items() if k not in before or before[k] != v}
    added = [
        {"session_id": session_id, "key": k, "value": v, "answered_at": now}
        for k, v in changed.items()
        if k not in before
    ]
    replaced = [
        {"b_session": session_id, "b_key": k, "value": v, "answered_at": now}
        for k, v in changed.items()
        if k in before
    ]
    if added:
        await session.execute(INSERT_ANSWER, added)
    if replaced:
        await session.execute(UPDATE_ANSWER, replaced)


async def finished_sessions(
    session: AsyncSession, person_id: int, dialog_ids: Sequence[str], limit: int
) -> Sequence[DialogSession]:
    result = await session.execute(
        select(DialogSession)
        .where(
            DialogSession.person_id == person_id,
            DialogSession.status == FINISHED,
            DialogSession.dialog_id.in_(dialog_ids),
        )
        .order_by(DialogSession.finished_at.desc())
        .limit(limit)
    )
    return result.scalars().all()


async def finished_answers(
    session: AsyncSession, person_id: int, dialog_id: str, keys: Iterable[str]
) -> list[tuple[datetime, dict[str, Any]]]:
    """(finished at, answers with these keys) of each finished session, oldest first."""
    result = await session.execute(
        select(DialogSession.id, DialogSession.finished_at, Answer.key, Answer.value)
        .join(Answer, Answer.session_id == DialogSession.id)
        .where(
            DialogSession.person_id == person_id,
            DialogSession.dialog_id == dialog_id,
            DialogSession.status == FINISHED,
            Answer.key.in_(list(keys)),
        )
        .order_by(DialogSession.finished_at, DialogSession.id)
    )
    by_session: dict[int, tuple[datetime, dict[str, Any]]] = {}
    for session_id, finished_at, key, value in result.all():
        by_session.setdefault(session_id, (finished_at, {}))[1][key] = value
    return list(by_session.values())


async def latest_finished(session: AsyncSession, person_id: int, dialog_id: str) -> int | None:
    """The id of the person's most recently finished session of a dialog."""
    found = await session.scalar(
        select(DialogSession.id)
        .where(
            DialogSession.person_id == person_id,
            DialogSession.dialog_id == dialog_id,
            DialogSession.status == FINISHED,
        )
        .order_by(DialogSession.finished_at.desc(), DialogSession.id.desc())
        .limit(1)
    )
    return int(found) if found is not None else None


async def finished_wheels(
    session: AsyncSession, person_id: int
) -> list[tuple[int, dict[str, int]]]:
    """(session id, ratings by area) of each finished Wheel of Life, oldest first."""
    result = await session.execute(
        select(DialogSession.id, Answer.key, Answer.value)
        .join(Answer, Answer.session_id == DialogSession.id)
        .where(
            DialogSession.person_id == person_id,
            DialogSession.dialog_id == "wheel",
            DialogSession.status == FINISHED,
        )
        .order_by(DialogSession.finished_at, DialogSession.id)
    )
    wheels: dict[int, dict[str, int]] = {}
    for session_id, key, value in result.all():
        ratings = wheels.setdefault(session_id, {})
        if "." not in key and isinstance(value, int) and not isinstance(value, bool):
            ratings[key] = value
    return list(wheels.items())


async def add_commitments(session: AsyncSession, commitments: Iterable[Commitment]) -> None:
    session.add_all(list(commitments))


# Inbox and bot state ---------------------------------------------------------


INBOX = cast(Table, InboxUpdate.__table__)


def insert_new_updates(dialect: str) -> Any:
    """An insert of updates that skips those stored already (their id is the key) and
    returns the ids it stored: a repeat, or the same update stored by another process at
    the same moment, is dropped by the database, never an error."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(INBOX)
        .on_conflict_do_nothing(index_elements=[INBOX.c.update_id])
        .returning(INBOX.c.update_id)
    )


INSERT_NEW_UPDATES = {dialect: insert_new_updates(dialect) for dialect in ("postgresql", "sqlite")}


async def store_updates(
    session: AsyncSession,
    updates: Sequence[tuple[int, int | None, dict[str, Any]]],
    now: datetime,
    dropped: Mapping[int, str] | None = None,
) -> list[int]:
    """Keep the updates not seen before; return their ids. A repeat is dropped here.
    Those in ``dropped`` (update id: why) are kept as handled already, with the reason in
    ``failure``, and never handled."""
    if not updates:
        return []
    dropped = dropped or {}
    rows: dict[int, dict[str, Any]] = {}
    for update_id, person_id, payload in updates:
        if update_id not in rows:
            reason = dropped.get(update_id)
            # One dropped is handled already: it keeps nothing of what it said.
            rows[update_id] = {
                "update_id": update_id,
                "person_id": person_id if reason is None else None,
                "payload": payload if reason is None else {},
                "received_at": now,
                "handled_at": None if reason is None else now,
                "failure": reason,
                "attempts": 0,
            }
    insert = INSERT_NEW_UPDATES[session.get_bind().dialect.name]
    stored = await session.execute(insert, list(rows.values()))
    return sorted(stored.scalars().all())


async def pending_updates(session: AsyncSession) -> Sequence[InboxUpdate]:
    result = await session.execute(
        select(InboxUpdate).where(InboxUpdate.handled_at.is_(None)).order_by(InboxUpdate.update_id)
    )
    return result.scalars().all()


async def person_pending(session: AsyncSession, person_id: int | None) -> list[int]:
    """The ids of a person's stored updates not yet handled, oldest first (None: those of
    nobody in particular)."""
    whose = (
        InboxUpdate.person_id.is_(None) if person_id is None else InboxUpdate.person_id == person_id
    )
    result = await session.execute(
        select(InboxUpdate.update_id)
        .where(InboxUpdate.handled_at.is_(None), whose)
        .order_by(InboxUpdate.update_id)
    )
    return list(result.scalars())


async def stored_updates(session: AsyncSession, ids: Sequence[int]) -> Sequence[InboxUpdate]:
    """Stored updates by id, oldest first."""
    result = await session.execute(
        select(InboxUpdate).where(InboxUpdate.update_id.in_(ids)).order_by(InboxUpdate.update_id)
    )
    return result.scalars().all()


async def pending_people(session: AsyncSession, received_before: datetime) -> list[int | None]:
    """Whose updates wait unhandled since before ``received_before`` (None: updates of
    nobody in particular)."""
    result = await session.execute(
        select(InboxUpdate.person_id)
        .where(InboxUpdate.handled_at.is_(None), InboxUpdate.received_at < received_before)
        .group_by(InboxUpdate.person_id)
    )
    return list(result.scalars())


async def is_handled(session: AsyncSession, update_id: int) -> bool:
    handled = await session.scalar(
        select(InboxUpdate.handled_at).where(InboxUpdate.update_id == update_id)
    )
    return handled is not None


# A handled update keeps only what exactly-once needs (its id, that it was handled, and
# why it failed if it did): nothing of what it said, nor whose it was.
MARK_HANDLED = (
    INBOX.update()
    .where(INBOX.c.update_id == bindparam("b_update"))
    .values(
        handled_at=bindparam("handled_at"),
        failure=bindparam("failure"),
        attempts=INBOX.c.attempts + 1,
        payload={},
        person_id=None,
    )
)

# Update id, when, and why it failed if it did (an exception's type), or why it was dropped.
Handled = tuple[int, datetime, str | None]


async def mark_handled(session: AsyncSession, handled: Sequence[Handled]) -> None:
    await session.execute(
        MARK_HANDLED,
        [
            {"b_update": update_id, "handled_at": when, "failure": failure}
            for update_id, when, failure in handled
        ],
    )


STATE = cast(Table, BotState.__table__)
GET_STATE = select(STATE.c.value).where(STATE.c.key == bindparam("b_key"))
SET_STATE = STATE.update().where(STATE.c.key == bindparam("b_key"))


async def get_state(session: AsyncSession, key: str) -> str | None:
    return cast(str | None, await session.scalar(GET_STATE, {"b_key": key}))


async def set_state(session: AsyncSession, key: str, value: str) -> None:
    result = cast(
        CursorResult[Any], await session.execute(SET_STATE, {"b_key": key, "value": value})
    )
    if result.rowcount == 0:
        await session.execute(STATE.insert(), {"key": key, "value": value})


async def advance_state(session: AsyncSession, key: str, value: str) -> bool:
    """Move a state forward to ``value`` (compared as text) unless it is there already:
    True for the one transaction that moved it. Two processes racing on a key not yet
    stored: one of them gets an IntegrityError."""
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(BotState).where(BotState.key == key, BotState.value < value).values(value=value)
        ),
    )
    if result.rowcount:
        return True
    if await get_state(session, key) is not None:
        return False
    await session.execute(STATE.insert(), {"key": key, "value": value})
    return True


def moment_text(moment: datetime) -> str:
    """A moment as ``bot_state`` keeps it (leases, pauses): UTC, fixed width, so that
    comparing the text compares the time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


async def take_lease(session: AsyncSession, key: str, value: str, now: str, owner: str) -> bool:
    """Set a lease row (``<expiry>|<owner>``) to ``value`` if it has expired by ``now`` or
    is ``owner``'s: True if it was set. Two processes taking a lease not yet stored: one of
    them gets an IntegrityError."""
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(BotState)
            .where(
                BotState.key == key,
                or_(BotState.value < now, BotState.value.endswith(f"|{owner}", autoescape=True)),
            )
            .values(value=value)
        ),
    )
    if result.rowcount:
        return True
    if await get_state(session, key) is not None:
        return False
    await session.execute(STATE.insert(), {"key": key, "value": value})
    return True


def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    chat_id: int,
    method: str,
    payload: dict[str, Any],
    now: datetime,
    due_at: datetime | None = None,
    person_id: int | None = None,
    context: dict[str, Any] | None = None,
    stale_at: datetime | None = None,
    series: str | None = None,
) -> Outgoing:
    """Add a message to send; it goes out once the caller's unit of work commits."""
    row = Outgoing(
        stale_at=stale_at,
        series=series,
        kind=kind,
        chat_id=chat_id,
        method=method,
        payload=payload,
        context=context or {},
        person_id=person_id if person_id is not None else (chat_id if chat_id > 0 else None),
        status="pending",
        attempts=0,
        due_at=due_at or now,
        created_at=now,
    )
    session.add(row)
    return row


# An outbox row's lane (bot/domain/pacing.py), from its kind.
LANE = case(
    (Outgoing.kind.in_(sorted(PERSON_KINDS)), int(Lane.PERSON)),
    (Outgoing.kind.in_(sorted(BULK_KINDS)), int(Lane.BULK)),
    else_=int(Lane.SCHEDULED),
)


def claimable(now: datetime, limit: int, lease: timedelta) -> Select[tuple[Outgoing]]:
    """The rows a claim takes: due ones, and those of a worker whose lease ran out."""
    return (
        select(Outgoing)
        .where(
            or_(
                and_(Outgoing.status == "pending", Outgoing.due_at <= now),
                and_(Outgoing.status == "sending", Outgoing.claimed_at < now - lease),
            )
        )
        # By lane: a broadcast's thousands of rows do not hold up a person's own messages.
        .order_by(LANE, Outgoing.due_at, Outgoing.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


async def claim_outgoing(
    session: AsyncSession, now: datetime, limit: int, lease: timedelta
) -> list[Outgoing]:
    """Take due messages for sending. Several workers never take the same row (on
    PostgreSQL the rows are locked and skipped; SQLite has one writer at a time). A row
    taken by a worker that died is taken again when its lease has run out."""
    return claim((await session.execute(claimable(now, limit, lease))).scalars(), now)


def claim(rows: Iterable[Outgoing], now: datetime) -> list[Outgoing]:
    """These rows are being sent, under a lease from now."""
    claimed = list(rows)
    for row in claimed:
        row.status = "sending"
        row.claimed_at = now
        row.attempts += 1
    return claimed


async def claim_due_of(
    session: AsyncSession, person_ids: Collection[int], now: datetime, excluding: Sequence[str]
) -> list[Outgoing]:
    """These people's other due rows, but those of these kinds, taken for sending with the
    ones claimed already (locked and skipped on PostgreSQL like any claim)."""
    if not person_ids:
        return []
    rows = await session.execute(
        select(Outgoing)
        .where(
            Outgoing.person_id.in_(person_ids),
            Outgoing.status == "pending",
            Outgoing.due_at <= now,
            Outgoing.kind.not_in(excluding),
        )
        .order_by(Outgoing.due_at, Outgoing.id)
        .with_for_update(skip_locked=True)
    )
    return claim(rows.scalars(), now)


async def renew_claim(
    session: AsyncSession, outgoing_id: int, claimed_at: datetime, now: datetime
) -> bool:
    """Just before sending: true if the row is still ours (nobody took it over after our
    lease ran out), and the lease starts again."""
    result = await session.execute(
        update(Outgoing)
        .where(
            Outgoing.id == outgoing_id,
            Outgoing.status == "sending",
            Outgoing.claimed_at == claimed_at,
        )
        .values(claimed_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


Outcome = tuple[int, str, datetime, dict[str, Any]]


async def settle_outgoing(session: AsyncSession, outcomes: Sequence[Outcome]) -> None:
    """Record how sending went: (row id, status, when, and sent_message_id, error or a new
    due_at). Rows with the same kind of outcome are written in one statement."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for outgoing_id, status, now, details in outcomes:
        values: dict[str, Any] = {"id": outgoing_id, "status": status, "error": None}
        values.update(details)
        if status == "sent":
            values["sent_at"] = now
        groups.setdefault(tuple(sorted(values)), []).append(values)
    for rows in groups.values():
        await session.execute(update(Outgoing), rows)


async def has_mentees(
    session: AsyncSession, mentor_id: int, statuses: Sequence[str] = (PairStatus.ACTIVE,)
) -> bool:
    found = await session.scalar(
        select(exists().where(Pair.mentor_id == mentor_id, Pair.status.in_(statuses)))
    )
    return bool(found)


async def people_with_profiles(
    session: AsyncSession, person_ids: set[int]
) -> tuple[dict[int, Person], dict[int, Profile]]:
    """These people and their profiles, by id, in two queries."""
    if not person_ids:
        return {}, {}
    people = await session.execute(select(Person).where(Person.id.in_(person_ids)))
    profiles = await session.execute(select(Profile).where(Profile.person_id.in_(person_ids)))
    return (
        {person.id: person for person in people.scalars()},
        {profile.person_id: profile for profile in profiles.scalars()},
    )


# A person's time zone, from their row and profile (FollowUpService.zone_of).
ZoneOf = Callable[[Person | None, Profile | None], tzinfo]


async def past_due(
    session: AsyncSession, person_ids: Collection[int], now: datetime, zone_of: ZoneOf
) -> ColumnElement[bool]:
    """Commitments of these people dated before today in each one's own calendar (a day
    ahead of or behind UTC's at times): two or three dates for a whole cohort."""
    people, profiles = await people_with_profiles(session, set(person_ids))
    by_day: dict[date, list[int]] = {}
    for person_id in person_ids:
        zone = zone_of(people.get(person_id), profiles.get(person_id))
        by_day.setdefault(now.astimezone(zone).date(), []).append(person_id)
    return or_(
        false(),
        *(
            and_(Commitment.person_id.in_(ids), Commitment.due_on < today)
            for today, ids in by_day.items()
        ),
    )


async def by_series_keys(session: AsyncSession, keys: Sequence[str]) -> dict[str, Outgoing]:
    if not keys:
        return {}
    result = await session.execute(select(Outgoing).where(Outgoing.series.in_(keys)))
    return {row.series: row for row in result.scalars() if row.series is not None}


async def latest_due(
    session: AsyncSession, person_ids: Sequence[int], kind: str, statuses: Sequence[str]
) -> dict[int, datetime]:
    """For each person, the due time of their latest item of a kind in these states."""
    result = await session.execute(
        select(Outgoing.person_id, func.max(Outgoing.due_at))
        .where(
            Outgoing.person_id.in_(person_ids),
            Outgoing.kind == kind,
            Outgoing.status.in_(statuses),
        )
        .group_by(Outgoing.person_id)
    )
    return {person_id: due for person_id, due in result.tuples() if person_id is not None}


async def by_series(session: AsyncSession, series: str) -> Outgoing | None:
    result = await session.execute(select(Outgoing).where(Outgoing.series == series))
    return result.scalar_one_or_none()


async def sent_times(
    session: AsyncSession, person_ids: Iterable[int], excluding: Sequence[str], since: datetime
) -> dict[int, list[datetime]]:
    """When each person was last sent messages of other kinds than these, since a moment."""
    ids = list(person_ids)
    found: dict[int, list[datetime]] = {}
    if not ids:
        return found
    result = await session.execute(
        select(Outgoing.person_id, Outgoing.sent_at).where(
            Outgoing.person_id.in_(ids),
            Outgoing.sent_at >= since,
            Outgoing.status == "sent",
            Outgoing.kind.not_in(excluding),
        )
    )
    for person_id, sent_at in result:
        if person_id is not None and sent_at is not None:
            found.setdefault(person_id, []).append(sent_at)
    return found


async def cancel_pending(session: AsyncSession, person_id: int, kinds: Sequence[str]) -> None:
    await session.execute(
        update(Outgoing)
        .where(
            Outgoing.person_id == person_id,
            Outgoing.status == "pending",
            Outgoing.kind.in_(kinds),
        )
        .values(status="cancelled")
    )


async def latest_outgoing(
    session: AsyncSession, person_id: int, kind: str, statuses: Sequence[str]
) -> Outgoing | None:
    result = await session.execute(
        select(Outgoing)
        .where(
            Outgoing.person_id == person_id,
            Outgoing.kind == kind,
            Outgoing.status.in_(statuses),
        )
        .order_by(Outgoing.due_at.desc(), Outgoing.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def abandon_unfinished(
    session: AsyncSession, person_id: int, dialog_id: str, now: datetime
) -> int:
    """Close the person's unfinished sessions of a dialog: a newer one replaces them."""
    result = await session.execute(
        select(DialogSession).where(
            DialogSession.person_id == person_id,
            DialogSession.dialog_id == dialog_id,
            DialogSession.status.in_((ACTIVE, PAUSED)),
        )
    )
    closed = 0
    for record in result.scalars():
        record.status = ABANDONED
        record.updated_at = now
        closed += 1
    return closed
