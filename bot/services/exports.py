"""A cohort's sessions and check-ins as CSV, for its coordinators.

What a coordinator may see (the rule every export keeps):
- numbers, choices, dates and statuses: which dialogs people finished and when, the mood
  (1-5, only of those who consent to sharing it: bot/domain/consent.py) and whether the
  mentee talked with the mentor, whether a summary went to the mentor;
- free text only where the person was told it goes to the coordinator: the ending forms
  (/end, /feedback: "your answers go to the programme coordinator"), in the pairs export;
- never what people wrote in their coaching sessions (goals, obstacles, actions,
  reflections) nor the check-in note, which is written for the mentor and goes to them
  only as the mentee chose with /share.
People are named by their id only; the pairs export maps ids to names (a mentee who chose
a pseudonym keeps it there)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Integer, String, and_, cast, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.domain.consent import ConsentKind
from bot.domain.spreadsheet import csv_text
from bot.services.people_csv import _cohort, _moment
from bot.storage.consents import gives
from bot.storage.models import Answer, DialogSession, Membership, Outgoing

SESSION_COLUMNS = (
    "session_id",
    "person_id",
    "role",
    "dialog",
    "status",
    "started_at",
    "finished_at",
    "summary_shared_with_mentor",
)
CHECKIN_COLUMNS = ("session_id", "person_id", "finished_at", "mood", "talked_with_mentor")
EXPORTS = ("pairs", "sessions", "checkins")


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    return csv_text(header, rows)


async def export_sessions(db: AsyncSession, cohort_name: str, dialogs: Sequence[str]) -> str:
    """The cohort members' coaching sessions (not check-ins or forms), without answers."""
    cohort = await _cohort(db, cohort_name)
    shared = (
        select(Outgoing.context["session"].as_integer().label("session_id"))
        .where(Outgoing.kind == "summary")
        .distinct()
        .subquery()
    )
    result = await db.execute(
        select(
            DialogSession.id,
            DialogSession.person_id,
            Membership.role,
            DialogSession.dialog_id,
            DialogSession.status,
            DialogSession.started_at,
            DialogSession.finished_at,
            shared.c.session_id,
        )
        .join(
            Membership,
            and_(
                Membership.person_id == DialogSession.person_id,
                Membership.cohort_id == cohort.id,
            ),
        )
        .outerjoin(shared, shared.c.session_id == DialogSession.id)
        .where(DialogSession.dialog_id.in_(list(dialogs)))
        .order_by(DialogSession.id)
    )
    rows = [
        [sid, pid, role, dialog, status, _moment(started), _moment(finished), "yes" if s else "no"]
        for sid, pid, role, dialog, status, started, finished, s in result.tuples()
    ]
    return _csv(SESSION_COLUMNS, rows)


async def export_checkins(db: AsyncSession, cohort_name: str) -> str:
    """Finished check-ins of the cohort's members: the mood (empty for those who do not
    consent to sharing it) and whether they talked with the mentor. The note for the mentor
    is never in it."""
    cohort = await _cohort(db, cohort_name)
    mood, talked = aliased(Answer), aliased(Answer)
    result = await db.execute(
        select(
            DialogSession.id,
            DialogSession.person_id,
            DialogSession.finished_at,
            cast(cast(mood.value, String), Integer),
            talked.value,
        )
        .join(
            Membership,
            and_(
                Membership.person_id == DialogSession.person_id,
                Membership.cohort_id == cohort.id,
            ),
        )
        .outerjoin(
            mood,
            and_(
                mood.session_id == DialogSession.id,
                mood.key == "mood",
                gives(ConsentKind.MOOD, DialogSession.person_id),
            ),
        )
        .outerjoin(talked, and_(talked.session_id == DialogSession.id, talked.key == "talked"))
        .where(DialogSession.dialog_id == "checkin", DialogSession.status == "finished")
        .order_by(DialogSession.finished_at, DialogSession.id)
    )
    rows = [
        [sid, pid, _moment(finished), "" if m is None else m, t if isinstance(t, str) else ""]
        for sid, pid, finished, m, t in result.tuples()
    ]
    return _csv(CHECKIN_COLUMNS, rows)


async def export(db: AsyncSession, what: str, cohort_name: str, dialogs: Sequence[str]) -> str:
    from bot.services.people_csv import export_pairs

    if what == "pairs":
        return await export_pairs(db, cohort_name)
    if what == "sessions":
        return await export_sessions(db, cohort_name, [d for d in dialogs if d != "checkin"])
    if what == "checkins":
        return await export_checkins(db, cohort_name)
    raise ValueError(what)
