"""A cohort's statistics against a seeded database, on SQLite and PostgreSQL; the HTML
report the command writes; the CSV exports and what they must never hold."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.consent import ConsentKind
from bot.domain.dialogs import load_dialogs
from bot.domain.stats import median, weekly
from bot.i18n import create_i18n
from bot.services.dialogs import DialogService
from bot.services.exports import export
from bot.services.followup import FollowUpService
from bot.services.stats import StatsService
from bot.storage import consents as consent_store
from bot.storage.database import create_engine, create_sessionmaker, upgrade
from bot.storage.models import (
    Answer,
    Cohort,
    Commitment,
    DialogSession,
    Membership,
    Outgoing,
    Pair,
    Person,
    Profile,
)
from bot.telegram.render import Renderer
from tests.conftest import TEST_KEYRING
from tests.forkserver import ForkServer

# Storage: on both databases.
pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
TODAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
COHORT = "Riga <spring>"
SECRET_NOTE = "a note only my mentor may read"
SECRET_GOAL = "my private goal"
LOOK_BACK = "weekly calls worked well"


class FixedClock:
    def now(self) -> datetime:
        return TODAY


def stats_service(clock: Any = None) -> StatsService:
    clock = clock or FixedClock()
    zones = FollowUpService(clock, "Europe/Riga", "lv")
    return StatsService(DialogService(load_dialogs(ROOT / "dialogs"), clock), clock, zones.zone_of)


async def seed(engine: AsyncEngine) -> None:
    """Mentees 101, 102 (active), 103 (in intake), 104 (left); mentors 201, 202; and
    someone of another cohort (301), whose data must not count."""
    async with create_sessionmaker(engine)() as db:
        for pid in (101, 102, 103, 104, 201, 202, 301, 302):
            db.add(Person(id=pid, first_name=f"P{pid}", created_at=T0, last_seen_at=T0))
        spring = Cohort(name=COHORT, mode="coordinator", created_by=1, created_at=T0)
        other = Cohort(name="Other", mode="coordinator", created_by=1, created_at=T0)
        db.add_all([spring, other])
        await db.flush()
        for pid, role, status in (
            (101, "mentee", "active"),
            (102, "mentee", "active"),
            (103, "mentee", "intake"),
            (104, "mentee", "left"),
            (201, "mentor", "active"),
            (202, "mentor", "active"),
        ):
            db.add(
                Membership(
                    cohort_id=spring.id, person_id=pid, role=role, status=status, joined_at=T0
                )
            )
        db.add(
            Membership(
                cohort_id=other.id, person_id=301, role="mentee", status="active", joined_at=T0
            )
        )
        db.add(
            Membership(
                cohort_id=other.id, person_id=302, role="mentor", status="active", joined_at=T0
            )
        )
        db.add(Profile(person_id=101, role="mentee", data={"show_name": True}, updated_at=T0))
        db.add(Profile(person_id=102, role="mentee", data={"show_name": False}, updated_at=T0))

        def pair(cohort: Cohort, mentee: int, mentor: int, status: str, **more: Any) -> Pair:
            return Pair(
                cohort_id=cohort.id,
                mentee_id=mentee,
                mentor_id=mentor,
                status=status,
                score=80,
                reasons=[],
                created_at=T0,
                **more,
            )

        p1 = pair(spring, 101, 201, "active", decided_at=T0)
        p2 = pair(
            spring,
            102,
            202,
            "ended",
            decided_at=T0,
            ended_at=T0 + timedelta(days=10),
            end_reason="moved abroad",
            feedback={"102": {"worked": LOOK_BACK, "rating": 4, "recommend": True}},
        )
        p3 = pair(spring, 103, 201, "proposed")
        p4 = pair(other, 301, 302, "active", decided_at=T0)
        db.add_all([p1, p2, p3, p4])
        await db.flush()

        def relay(pair_id: int, hours: float) -> Outgoing:
            return Outgoing(
                kind="relay",
                chat_id=201,
                method="sendMessage",
                payload={"text": "hello"},
                context={"pair": pair_id, "from": 101},
                status="sent",
                due_at=T0,
                created_at=T0 + timedelta(hours=hours),
            )

        # First contact: 2 h for pair 1 (its later message does not count), 10 h for pair 2.
        db.add_all([relay(p1.id, 5), relay(p1.id, 2), relay(p2.id, 10), relay(p4.id, 100)])

        def session(pid: int, dialog: str, finished: datetime | None, **answers: Any) -> None:
            record = DialogSession(
                person_id=pid,
                dialog_id=dialog,
                status="finished" if finished else "paused",
                state={},
                started_at=(finished or T0) - timedelta(minutes=20),
                updated_at=finished or T0,
                finished_at=finished,
            )
            db.add(record)
            sessions.append(record)
            pending.append((record, answers))

        sessions: list[DialogSession] = []
        pending: list[tuple[DialogSession, dict[str, Any]]] = []
        day = timedelta(days=1)
        session(101, "grow", T0 + day, goal=SECRET_GOAL)
        session(101, "dilts", None, situation="unfinished")
        session(101, "wheel", T0 + day, family=3, career=5)
        session(101, "wheel", T0 + 15 * day, family=6, career=4)
        session(103, "wheel", T0 + 2 * day, family=4)
        session(103, "wheel", T0 + 9 * day, family=5)
        session(102, "wheel", T0 + 3 * day, family=9)
        session(101, "checkin", T0 + timedelta(hours=1), mood=2, talked="no", note=SECRET_NOTE)
        session(101, "checkin", T0 + 2 * day, mood=4, talked="yes")
        session(102, "checkin", T0 + 8 * day, mood=5, talked="rescheduled")
        session(301, "checkin", T0 + 2 * day, mood=1, talked="no")
        session(301, "grow", T0 + 2 * day, goal="other cohort")
        await db.flush()
        for record, answers in pending:
            db.add_all(
                Answer(session_id=record.id, key=k, value=v, answered_at=T0)
                for k, v in answers.items()
            )
        # Regular check-ins asked: 101 answered within the week, 102 only after the next.
        for pid in (101, 102, 301):
            db.add(
                Outgoing(
                    kind="checkin_invite",
                    chat_id=pid,
                    person_id=pid,
                    method="sendMessage",
                    payload={},
                    status="sent",
                    due_at=T0,
                    sent_at=T0,
                    stale_at=T0 + 7 * day,
                    series=f"checkin_invite:{pid}:2026-11-02",
                    created_at=T0,
                )
            )
        grow = sessions[0]
        for due, status in (
            (date(2026, 10, 1), "done"),
            (date(2026, 10, 1), "open"),
            (date(2026, 11, 20), "open"),
            (date(2030, 1, 1), "open"),
            (date(2026, 10, 5), "dropped"),
        ):
            db.add(
                Commitment(
                    person_id=101,
                    session_id=grow.id,
                    text=SECRET_GOAL,
                    due_on=due,
                    status=status,
                    created_at=T0,
                )
            )
        # Every mentee here consents to sharing their mood and Wheel ratings.
        for pid in (101, 102, 301):
            consent_store.record(db, pid, ConsentKind.MOOD, True, T0)
        for pid in (101, 102, 103):
            consent_store.record(db, pid, ConsentKind.WHEEL, True, T0)
        # A summary of the GROW session went to the mentor.
        db.add(
            Outgoing(
                kind="summary",
                chat_id=201,
                method="sendMessage",
                payload={"text": SECRET_GOAL},
                context={"from": 101, "session": grow.id},
                status="sent",
                due_at=T0,
                created_at=T0,
            )
        )
        await db.commit()


async def test_the_figures_of_a_cohort(db_engine: AsyncEngine) -> None:
    await seed(db_engine)
    service = stats_service()
    async with create_sessionmaker(db_engine)() as db:
        cohort = await db.get(Cohort, 1)
        assert cohort is not None
        stats = await service.cohort_stats(db, cohort)
    assert stats.people == {
        ("mentee", "active"): 2,
        ("mentee", "intake"): 1,
        ("mentee", "left"): 1,
        ("mentor", "active"): 2,
    }
    assert stats.pairs == {"active": 1, "ended": 1, "proposed": 1}
    assert (stats.pair_count("active"), stats.pair_count("proposed", "requested")) == (1, 1)
    assert (stats.matched_mentees, stats.mentees, stats.match_rate) == (2, 4, 0.5)
    assert sorted(stats.first_contact_hours) == [2.0, 10.0]
    assert stats.median_first_contact_hours == 6.0
    assert stats.dialogs == {"grow": 1, "wheel": 5, "checkin": 3}
    assert (stats.checkins_asked, stats.checkins_answered, stats.checkins_done) == (2, 1, 3)
    assert stats.checkin_response_rate == 0.5
    assert stats.mood == [(date(2026, 11, 2), 3.0, 2), (date(2026, 11, 9), 5.0, 1)]
    assert stats.commitments == {"done": 1, "overdue": 2, "open": 1, "dropped": 1}
    assert stats.wheel_change == {"family": (2.0, 2), "career": (-1.0, 1)}

    renderer = Renderer(create_i18n(str(ROOT / "locales"), "en"))
    text = service.message(stats, lambda msg: renderer.text(msg, "en"))
    assert "<b>Statistics for Riga &lt;spring&gt;</b>" in text
    for line in (
        "Mentees: 2 active, 1 in intake, 1 left",
        "Match rate: 50% (2 of 4 mentees)",
        "Median time to first contact: 6.0 h (2 pairs)",
        "Wheel of Life: 5",
        "Response rate: 50% (1 of 2)",
        "Week of November 2, 2026: mood 3.0 (2 check-ins)",
        "overdue: 2",
        "Family and friends: +2.0 (2 people)",
        "Career: -1.0 (1 person)",
    ):
        assert line in text, line
    lv = service.message(stats, lambda msg: renderer.text(msg, "lv"))
    assert "Match rate" not in lv and "50%" in lv
    assert "Mentorējamie: 2 aktīvi, 1 aizpilda anketu, 1 izstājies" in lv
    assert "Karjera: -1.0 (1 cilvēks)" in lv


@pytest.mark.postgres  # The consent's condition is SQL of its own.
async def test_moods_and_wheels_count_only_with_consent_as_it_stands_now(
    db_engine: AsyncEngine,
) -> None:
    await seed(db_engine)
    async with create_sessionmaker(db_engine)() as db:
        # 101 withdraws the mood consent, 103 the Wheel's: what they gave before goes too.
        consent_store.record(db, 101, ConsentKind.MOOD, False, TODAY)
        consent_store.record(db, 103, ConsentKind.WHEEL, False, TODAY)
        await db.commit()
        cohort = await db.get(Cohort, 1)
        assert cohort is not None
        stats = await stats_service().cohort_stats(db, cohort)
        checkins = await export(db, "checkins", COHORT, stats_service().coaching())
    assert stats.checkins_done == 3
    assert stats.mood == [(date(2026, 11, 9), 5.0, 1)]
    assert stats.wheel_change == {"family": (3.0, 1), "career": (-1.0, 1)}
    assert [(row["person_id"], row["mood"]) for row in csv.DictReader(io.StringIO(checkins))] == [
        ("101", ""),
        ("101", ""),
        ("102", "5"),
    ]


async def test_overdue_is_by_each_mentees_own_date(db_engine: AsyncEngine) -> None:
    """At 02:30 UTC it is still the 25th in New York and already the 26th in Riga: a
    commitment dated the 25th is overdue for the Riga mentee only."""
    await seed(db_engine)
    late_evening_in_new_york = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)

    class Clock:
        def now(self) -> datetime:
            return late_evening_in_new_york

    async with create_sessionmaker(db_engine)() as db:
        grow = await db.scalar(select(DialogSession.id).where(DialogSession.dialog_id == "grow"))
        for person_id, zone in ((101, "America/New_York"), (102, "Europe/Riga")):
            person = await db.get(Person, person_id)
            assert person is not None
            person.timezone = zone
            db.add(
                Commitment(
                    person_id=person_id,
                    session_id=grow,
                    text="call the client",
                    due_on=date(2026, 11, 25),
                    status="open",
                    created_at=T0,
                )
            )
        await db.commit()
        cohort = await db.get(Cohort, 1)
        assert cohort is not None
        stats = await stats_service(Clock()).cohort_stats(db, cohort)
    # The seed's two overdue and one open, and the two of the 25th: Riga's overdue, New York's open.
    assert stats.commitments == {"done": 1, "overdue": 3, "open": 2, "dropped": 1}


def test_median_and_weeks() -> None:
    assert median([]) is None
    assert median([3.0]) == 3.0
    assert median([4.0, 1.0, 2.0, 10.0]) == 3.0
    days = [(date(2026, 11, 8), 6, 2), (date(2026, 11, 2), 3, 1), (date(2026, 11, 9), 4, 1)]
    assert weekly(days) == [(date(2026, 11, 2), 3.0, 3), (date(2026, 11, 9), 4.0, 1)]


async def test_the_exports_hold_only_what_coordinators_may_see(db_engine: AsyncEngine) -> None:
    await seed(db_engine)
    dialogs = stats_service().coaching()
    async with create_sessionmaker(db_engine)() as db:
        files = {
            what: await export(db, what, COHORT, dialogs)
            for what in ("pairs", "sessions", "checkins")
        }
    for text in files.values():
        assert SECRET_NOTE not in text and SECRET_GOAL not in text and "unfinished" not in text
    pairs = list(csv.DictReader(io.StringIO(files["pairs"])))
    ended = next(p for p in pairs if p["status"] == "ended")
    # The ending forms told people their answers go to the coordinator.
    assert (ended["end_reason"], ended["mentee_worked"], ended["mentee_rating"]) == (
        "moved abroad",
        LOOK_BACK,
        "4",
    )
    assert ended["mentee_name"] == f"#{ended['pair_id']}"  # the pseudonym 102 chose
    sessions = list(csv.DictReader(io.StringIO(files["sessions"])))
    assert [
        (s["person_id"], s["dialog"], s["status"], s["summary_shared_with_mentor"])
        for s in sessions
    ] == [
        ("101", "grow", "finished", "yes"),
        ("101", "dilts", "paused", "no"),
        ("101", "wheel", "finished", "no"),
        ("101", "wheel", "finished", "no"),
        ("103", "wheel", "finished", "no"),
        ("103", "wheel", "finished", "no"),
        ("102", "wheel", "finished", "no"),
    ]
    checkins = list(csv.reader(io.StringIO(files["checkins"])))
    assert checkins[0] == ["session_id", "person_id", "finished_at", "mood", "talked_with_mentor"]
    assert [row[1:] for row in checkins[1:]] == [
        ["101", "2026-11-02T10:00:00+00:00", "2", "no"],
        ["101", "2026-11-04T09:00:00+00:00", "4", "yes"],
        ["102", "2026-11-10T09:00:00+00:00", "5", "rescheduled"],
    ]


def mentorbot(
    forks: ForkServer, tmp_path: Path, url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    return forks.run(args, {**env, "DATABASE_URL": url}, tmp_path)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_command_writes_a_self_contained_report(
    tmp_path: Path, database_url: str, forkserver: ForkServer
) -> None:
    engine = create_engine(database_url, TEST_KEYRING)
    await upgrade(engine)
    await seed(engine)
    await engine.dispose()
    out = tmp_path / "report.html"
    done = mentorbot(
        forkserver, tmp_path, database_url, "report", "--cohort", COHORT, "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<h1>Statistics for Riga &lt;spring&gt;</h1>" in page
    for figure in ("50% (2 of 4 mentees)", "6.0 h (2 pairs)", "50% (1 of 2)", "+2.0 (2 people)"):
        assert figure in page, figure
    assert 'src="data:image/png;base64,' in page
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert SECRET_NOTE not in page and SECRET_GOAL not in page

    unknown = mentorbot(forkserver, tmp_path, database_url, "report", "--cohort", "Nope")
    assert unknown.returncode == 2 and "no cohort named 'Nope'" in unknown.stderr
    sessions = mentorbot(
        forkserver, tmp_path, database_url, "export", "checkins", "--cohort", COHORT
    )
    assert sessions.returncode == 0 and sessions.stdout.count("\n") == 4
    assert SECRET_NOTE not in sessions.stdout
