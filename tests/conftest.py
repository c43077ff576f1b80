"""Shared fixtures. A test that uses ``database_url`` runs on SQLite; one marked ``postgres``
(it depends on the database: storage, claims and concurrency, migrations, statistics
queries, SQL that differs by dialect) runs on PostgreSQL as well."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiogram.client.session.base import BaseSession
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.domain.dialogs import Dialog, load_dialogs
from bot.storage.database import create_engine, upgrade
from bot.storage.sealing import Keyring
from tests.forkserver import ForkServer
from tests.txprobe import REPORT, TxProbe, mode

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ENV = "MENTORBOT_TEST_POSTGRES_URL"
# The data key of every bot the tests start, in this process or in one of its own.
TEST_DATA_KEY = "dGVzdHMnIGRhdGEga2V5OiBub3QgZm9yIHVzZSEhISE="
TEST_KEYRING = Keyring.parse(TEST_DATA_KEY)
os.environ["DATA_KEY"] = TEST_DATA_KEY
os.environ.pop("ENCRYPT_DATA", None)
T = TypeVar("T")


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


PROBE = TxProbe()


def pytest_configure(config: pytest.Config) -> None:
    try:
        mode()
    except ValueError as exc:  # a wrong MENTORBOT_TX_PROBE stops the run before any test
        raise pytest.UsageError(str(exc)) from None
    PROBE.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    PROBE.uninstall()


@pytest.fixture(autouse=True)
def tx_probe(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[TxProbe]:
    """Every Bot API session a test makes (the bot's, a worker's, a test's own client) is
    watched by the open-transaction probe (tests/txprobe.py)."""
    init = BaseSession.__init__

    def init_and_watch(self: BaseSession, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        PROBE.attach(self)

    monkeypatch.setattr(BaseSession, "__init__", init_and_watch)
    PROBE.test = request.node.nodeid
    before = len(PROBE.violations)
    yield PROBE
    PROBE.test = ""
    found = PROBE.violations[before:]
    if found and mode() == "fail" and not call_failed(request):
        listed = "\n".join(f"  {violation.describe()}" for violation in found)
        pytest.fail(
            f"Bot API requests inside an open database transaction:\n{listed}", pytrace=False
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    if mode() == "report":
        REPORT.write_text(PROBE.report(), encoding="utf-8")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if mode() == "report":
        places = len({violation.location for violation in PROBE.violations})
        terminalreporter.write_line(
            f"open-transaction probe: {len(PROBE.violations)} request(s) inside a transaction "
            f"at {places} place(s) of the bot; see {REPORT.name}"
        )


@pytest.fixture(scope="session")
def forkserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    """Starts ``mentorbot`` commands as processes of their own, fast (tests/forkserver.py)."""
    server = ForkServer(tmp_path_factory.mktemp("forks"))
    server.start()
    yield server
    server.stop()


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


async def create_postgres_database(template: str | None = None) -> str:
    """A fresh database for one test (a copy of ``template`` if given); the name is random
    so tests never share state."""
    admin = make_url(postgres_url())
    name = f"t_{uuid.uuid4().hex[:16]}"
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{make_url(template).database}"' if template else ""
    async with engine.connect() as connection:
        await connection.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    await engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    admin = make_url(postgres_url())
    name = make_url(url).database
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await engine.dispose()


BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" not in metafunc.fixturenames:
        return
    for chosen in metafunc.definition.iter_markers("parametrize"):
        names = chosen.args[0]
        if "database_url" in (names.split(",") if isinstance(names, str) else names):
            return  # the test says which databases itself
    postgres = metafunc.definition.get_closest_marker("postgres") is not None
    metafunc.parametrize("database_url", BACKENDS if postgres else BACKENDS[:1], indirect=True)


def in_a_thread(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to its end from synchronous code, whether a loop runs here or not."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(work())).result()


async def migrated(url: str) -> str:
    engine = create_engine(url, TEST_KEYRING)
    await upgrade(engine)
    await engine.dispose()
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated once for the whole run (the migrations run from the start here);
    each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "mentorbot.db"
    in_a_thread(lambda: migrated(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    url = in_a_thread(create_postgres_database)
    in_a_thread(lambda: migrated(url))
    yield url
    in_a_thread(lambda: drop_postgres_database(url))


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database of the test's own."""
    if request.param == "sqlite":
        path = tmp_path / "mentorbot.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url = await create_postgres_database(template=request.getfixturevalue("postgres_template"))
    yield url
    await drop_postgres_database(url)


@pytest.fixture
async def db_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, TEST_KEYRING)
    await upgrade(engine)
    yield engine
    await engine.dispose()
