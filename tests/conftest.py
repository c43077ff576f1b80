"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.domain.dialogs import Dialog, load_dialogs
from bot.storage.database import create_engine, upgrade

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ENV = "MENTORBOT_TEST_POSTGRES_URL"


CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


def call_failed(request: pytest.FixtureRequest) -> bool:
    """Whether the test itself failed: then a check at teardown would only add noise."""
    return request.node.stash.get(CALL_FAILED, False)


@pytest.fixture(scope="session")
def dialogs() -> dict[str, Dialog]:
    return load_dialogs(ROOT / "dialogs")


def postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.fail(
            f"{POSTGRES_ENV} is not set: run the tests with 'make test', which starts "
            "PostgreSQL, or set it to a server you can create databases on."
        )
    return url


async def create_postgres_database() -> str:
    """A fresh database for one test; the name is random so tests never share state."""
    admin = make_url(postgres_url())
    name = f"t_{uuid.uuid4().hex[:16]}"
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    await engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    admin = make_url(postgres_url())
    name = make_url(url).database
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'mentorbot.db'}"
        return
    url = await create_postgres_database()
    yield url
    await drop_postgres_database(url)


@pytest.fixture
async def db_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()
