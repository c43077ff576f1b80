"""Files the bot creates hold people's data: the SQLite database (and its -wal and -shm) and
the files the commands write are readable by the bot's user only. ``mentorbot erase``
erases a person as /deleteme does."""

from __future__ import annotations

import os
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.domain.texts import msg_from_json
from bot.storage.database import create_engine, create_sessionmaker, upgrade
from bot.storage.models import (
    Cohort,
    CohortCoordinator,
    Membership,
    Outgoing,
    Pair,
    Person,
    Profile,
)
from tests.conftest import TEST_KEYRING
from tests.forkserver import ForkServer

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
CARL, DINA, DACE = 904, 905, 42


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_database_files_are_its_users_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "mentorbot.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    async with create_sessionmaker(engine)() as db:
        db.add(Person(id=1, first_name="Anna", created_at=NOW, last_seen_at=NOW))
        await db.commit()
        files = [path, path.with_name("mentorbot.db-wal"), path.with_name("mentorbot.db-shm")]
        assert all(f.exists() for f in files)
        assert [mode(f) for f in files] == [0o600, 0o600, 0o600]
    await engine.dispose()
    assert mode(path.parent) == 0o700

    # A database made before (world-readable) is made private when the bot opens it.
    os.chmod(path, 0o644)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with create_sessionmaker(engine)() as db:
        assert await db.get(Person, 1) is not None
    await engine.dispose()
    assert mode(path) == 0o600


def mentorbot(
    forks: ForkServer, tmp_path: Path, url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    # The test's folder is the data directory: the first `db upgrade` makes the file there.
    return forks.run(args, {**env, "DATABASE_URL": url, "DATA_DIR": str(tmp_path)}, tmp_path)


async def seed(url: str) -> None:
    """Carl mentors Dina (who reads Latvian) in Dace's cohort."""
    engine = create_engine(url, TEST_KEYRING)
    async with create_sessionmaker(engine)() as db:
        for person_id, name, language in (
            (CARL, "Carl", "en"),
            (DINA, "Dina", "lv"),
            (DACE, "Dace", "en"),
        ):
            db.add(
                Person(
                    id=person_id,
                    first_name=name,
                    telegram_language=language,
                    created_at=NOW,
                    last_seen_at=NOW,
                )
            )
        cohort = Cohort(name="Riga 2027", mode="coordinator", created_by=DACE, created_at=NOW)
        db.add(cohort)
        await db.flush()
        db.add(CohortCoordinator(cohort_id=cohort.id, person_id=DACE))
        for person_id, role in ((CARL, "mentor"), (DINA, "mentee")):
            db.add(
                Membership(
                    cohort_id=cohort.id,
                    person_id=person_id,
                    role=role,
                    status="active",
                    joined_at=NOW,
                )
            )
            db.add(Profile(person_id=person_id, role=role, data={}, updated_at=NOW))
        db.add(
            Pair(
                cohort_id=cohort.id,
                mentee_id=DINA,
                mentor_id=CARL,
                status="active",
                score=40,
                created_at=NOW,
                decided_at=NOW,
            )
        )
        await db.commit()
    await engine.dispose()


@pytest.mark.timeout(120)
async def test_the_commands_write_private_files_and_erase_a_person(
    tmp_path: Path, forkserver: ForkServer
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    assert mentorbot(forkserver, tmp_path, url, "db", "upgrade").returncode == 0
    await seed(url)
    out = tmp_path / "pairs.csv"
    exported = mentorbot(
        forkserver, tmp_path, url, "export", "pairs", "--cohort", "Riga 2027", "--out", str(out)
    )
    assert exported.returncode == 0, exported.stderr
    assert mode(out) == 0o600 and "Carl" in out.read_text()
    report = tmp_path / "report.html"
    done = mentorbot(
        forkserver, tmp_path, url, "report", "--cohort", "Riga 2027", "--out", str(report)
    )
    assert done.returncode == 0, done.stderr
    assert mode(report) == 0o600

    erased = mentorbot(forkserver, tmp_path, url, "erase", "--person", str(CARL))
    assert erased.returncode == 0, erased.stderr
    assert erased.stdout == f"erased {CARL}; pairs ended: 1\n"
    engine = create_engine(url, TEST_KEYRING)
    async with create_sessionmaker(engine)() as db:
        assert await db.get(Person, CARL) is None
        assert (await db.execute(select(Pair))).scalars().all() == []
        queued = (await db.execute(select(Outgoing).where(Outgoing.status == "pending"))).scalars()
        told = {
            row.chat_id: (row.payload["locale"], msg_from_json(row.payload["msg"]).id)
            for row in queued
        }
    await engine.dispose()
    assert told == {
        DINA: (
            "lv",
            "Your mentor has left the programme and had their data deleted, so your mentoring "
            "pair has ended. Your programme coordinator has been told.",
        ),
        DACE: (
            "en",
            "Pair #{pair} has ended: the mentor left the programme and had their data deleted. "
            "Their mentee {name} has been told.",
        ),
    }
    again = mentorbot(forkserver, tmp_path, url, "erase", "--person", str(CARL))
    assert again.returncode == 0
    assert "nothing to erase" in again.stdout
