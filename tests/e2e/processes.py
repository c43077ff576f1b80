"""The bot's commands (`mentorbot run`, `mentorbot worker`) as processes of a test, forked
by the fork server (tests/forkserver.py) and talking to the stand-in: started, killed and
started again; their logs are shown with a failure."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from types import TracebackType

import aiohttp

from bot.playground.botapi import BotAPIStandin
from tests.conftest import TEST_DATA_KEY
from tests.forkserver import ROOT, Forked, ForkServer

START_SECONDS = 30.0
# A new interpreter first imports aiogram, whose models take seconds of CPU to build: more
# on a machine busy with other tests.
FRESH_START_SECONDS = 90.0
STOP_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(standin: BotAPIStandin, **settings: str) -> dict[str, str]:
    """A bot process's environment: the stand-in's token and address, short polls and
    leases (a process started after a kill takes over within seconds), warnings only, and
    no flood limit (the simulated people answer at machine speed, see bot_settings). No
    database but the one ``settings`` name (``DATABASE_URL``, ``DATA_DIR``)."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATA_DIR")}
    return {
        **inherited,
        "BOT_TOKEN": standin.token,
        "DATA_KEY": TEST_DATA_KEY,
        "TELEGRAM_API_URL": standin.base_url,
        "POLLING_TIMEOUT": "1",
        "POLLER_LEASE_SECONDS": "2",
        "OUTBOX_LEASE_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
        "FLOOD_BURST": "0",
        **settings,
    }


class BotProcess:
    """One `mentorbot` process; ``port`` is where it serves /healthz, /readyz and /metrics
    (and, in webhook mode, the webhook), if anywhere."""

    def __init__(
        self, process: Forked | asyncio.subprocess.Process, port: int | None = None
    ) -> None:
        self.process = process
        self.port = port

    @property
    def url(self) -> str:
        assert self.port is not None, "started without listen"
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def log(self) -> str:
        return self.process.log() if isinstance(self.process, Forked) else ""

    async def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        assert await self.process.wait() == -signal.SIGKILL

    async def terminate(self) -> int:
        """SIGTERM, as a service manager stops it; returns its exit status."""
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), STOP_SECONDS)


class Processes:
    """The bot processes of a test, on one database; those still running at the end are
    killed."""

    def __init__(self, standin: BotAPIStandin, database_url: str, forks: ForkServer) -> None:
        self.standin = standin
        self.database_url = database_url
        self.forks = forks
        self.started: list[BotProcess] = []
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Processes:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        return self._http

    def spawn(self, command: str = "run", *, listen: bool = False, **settings: str) -> BotProcess:
        """``mentorbot <command>`` started (not waited for); with ``listen``, serving its
        HTTP endpoints on a port of its own (the webhook's too, with ``WEBHOOK_URL``)."""
        env = environment(self.standin, DATABASE_URL=self.database_url, **settings)
        port = None
        if listen:
            port = free_port()
            env["HEALTH_LISTEN"] = f"127.0.0.1:{port}"
            if "WEBHOOK_URL" in settings:
                env["WEBHOOK_LISTEN"] = env["HEALTH_LISTEN"]
        started = BotProcess(self.forks.spawn([command], env, ROOT), port)
        self.started.append(started)
        return started

    async def run(self, *, fresh_python: bool = False, **settings: str) -> BotProcess:
        """``mentorbot run``, once it polls: a fork of the fork server, or with
        ``fresh_python`` the command itself as it is installed (``python -m bot run``)."""
        polls = len(self.standin.calls("getUpdates"))
        if fresh_python:
            env = environment(self.standin, DATABASE_URL=self.database_url, **settings)
            started = BotProcess(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "run", cwd=ROOT, env=env
                )
            )
            self.started.append(started)
        else:
            started = self.spawn("run", **settings)
        await self.standin.wait_for(
            lambda: len(self.standin.calls("getUpdates")) > polls,
            FRESH_START_SECONDS if fresh_python else START_SECONDS,
            "the bot to start polling",
        )
        return started

    def worker(self, **settings: str) -> BotProcess:
        """``mentorbot worker``: the outbox, broadcasts' status and the schedule."""
        return self.spawn("worker", **settings)

    async def get(self, process: BotProcess, path: str) -> tuple[int, str]:
        """What a process started with ``listen`` answers at ``path``."""
        async with self.http.get(f"{process.url}{path}") as response:
            return response.status, await response.text()

    async def answering(self, process: BotProcess) -> None:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if (await self.get(process, "/healthz"))[0] == 200:
                    return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing answers at {process.url}")
            await asyncio.sleep(0.05)

    async def polls(self, process: BotProcess) -> bool:
        """What the process's own metrics say: whether it is the poller now."""
        _, body = await self.get(process, "/metrics")
        return "mentorbot_poller 1.0" in body

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        for started in self.started:
            if started.returncode is None:
                await started.kill()
            sys.stderr.write(started.log())  # shown with a failure
