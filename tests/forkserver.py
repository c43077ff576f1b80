"""The ``mentorbot`` command in a process of its own, started in milliseconds.

Tests that kill the bot (SIGKILL, SIGTERM) or run its command line need it in a separate
process. A fresh ``python -m bot`` spends seconds of CPU importing aiogram (its pydantic
models are built at import) before it does anything. Here one server process imports the
bot once; each process a test asks for is a fork of it that runs ``bot.cli.main`` with its
own arguments, environment, working directory and output, and is a process like any other:
it can be killed, and its exit status is reported. (tests/unit/test_cli.py and the SIGTERM
test in tests/e2e/test_restart.py still start ``python -m bot`` itself.)

The server reads one JSON request a line on its standard input and writes one JSON line
for each event on its standard output: ``{"pid": ...}`` for each fork, in order, and
``{"exited": pid, "returncode": n}`` when a fork ends (``-signal`` if a signal killed it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import selectors
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
READY_SECONDS = 60.0


# -- the server ---------------------------------------------------------------------------------


def _preload() -> None:
    """What every command imports, so that no fork imports it again."""
    import aiosqlite  # noqa: F401
    import asyncpg  # noqa: F401

    import bot.app  # noqa: F401
    import bot.charts.stats  # noqa: F401
    import bot.cli  # noqa: F401
    import bot.services.exports  # noqa: F401
    import bot.services.people_csv  # noqa: F401
    import bot.storage.database  # noqa: F401


def _child(request: dict[str, Any]) -> None:
    """In the fork: become the command, then exit with its status."""
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        output = os.open(request["output"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        errors = request.get("errors")
        os.dup2(output, 1)
        os.dup2(os.open(errors, os.O_WRONLY | os.O_APPEND) if errors else output, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the server's pipes and its other forks
        sys.argv = ["mentorbot", *request["args"]]
        from bot.cli import main

        try:
            main(request["args"])
            code = 0
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
                code = 1
    except BaseException:  # noqa: BLE001 - reported as a traceback, like Python does
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve() -> None:
    _preload()
    out = sys.stdout
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin, selectors.EVENT_READ)
    pidfds: dict[int, int] = {}

    def tell(event: dict[str, Any]) -> None:
        out.write(json.dumps(event) + "\n")
        out.flush()

    tell({"ready": os.getpid()})
    while True:
        for key, _ in selector.select():
            if key.fileobj is sys.stdin:
                line = sys.stdin.readline()
                if not line:  # the tests are over
                    return
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _child(request)
                pidfd = os.pidfd_open(pid)
                pidfds[pidfd] = pid
                selector.register(pidfd, selectors.EVENT_READ)
                tell({"pid": pid})
            else:
                pidfd = int(key.fd)
                pid = pidfds.pop(pidfd)
                selector.unregister(pidfd)
                os.close(pidfd)
                _, status = os.waitpid(pid, 0)
                tell({"exited": pid, "returncode": os.waitstatus_to_exitcode(status)})


# -- the tests' side ------------------------------------------------------------------------------


class Forked:
    """A command running in a fork of the server."""

    def __init__(self, pid: int, output: Path) -> None:
        self.pid = pid
        self.output = output
        self.returncode: int | None = None
        self.ended = threading.Event()
        self._guard = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[int]]] = []

    def send_signal(self, signal: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signal)

    async def wait(self) -> int:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        with self._guard:
            if self.returncode is not None:
                return self.returncode
            self._waiters.append((loop, future))
        return await future

    def _exited(self, returncode: int) -> None:
        with self._guard:
            self.returncode = returncode
            self.ended.set()
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # that test's loop is closed
                loop.call_soon_threadsafe(_resolve, future, returncode)

    def log(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""


def _resolve(future: asyncio.Future[int], returncode: int) -> None:
    if not future.done():
        future.set_result(returncode)


class ForkServer:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.server: subprocess.Popen[str] | None = None
        self.lock = threading.Lock()
        self.spawned: list[int] = []
        self.spawned_signal = threading.Condition()
        self.forks: dict[int, Forked] = {}
        self.count = 0

    def start(self) -> None:
        self.server = subprocess.Popen(
            [sys.executable, "-m", "tests.forkserver"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self.server.stdout is not None
        ready = json.loads(self.server.stdout.readline() or "{}")
        if "ready" not in ready:
            raise RuntimeError("the fork server did not start")
        threading.Thread(target=self._listen, args=(self.server.stdout,), daemon=True).start()

    def _listen(self, events: IO[str]) -> None:
        for line in events:
            event = json.loads(line)
            if "pid" in event:
                with self.spawned_signal:
                    self.spawned.append(event["pid"])
                    self.spawned_signal.notify_all()
            else:
                with self.spawned_signal:
                    self.spawned_signal.wait_for(lambda e=event: e["exited"] in self.forks)
                    fork = self.forks.pop(event["exited"])
                fork._exited(event["returncode"])

    def stop(self) -> None:
        if self.server is not None and self.server.stdin is not None:
            self.server.stdin.close()
            self.server.wait(10)
            self.server = None

    def spawn(
        self,
        args: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        errors: Path | None = None,
    ) -> Forked:
        """``mentorbot <args>`` with this environment, in ``cwd``; what it writes goes to a
        file (``Forked.log``), standard error to ``errors`` if given."""
        assert self.server is not None and self.server.stdin is not None
        with self.lock:
            self.count += 1
            output = self.workdir / f"fork-{self.count}.out"
            output.touch()
            request = {
                "args": list(args),
                "env": dict(env),
                "cwd": str(cwd),
                "output": str(output),
                "errors": str(errors) if errors else None,
            }
            with self.spawned_signal:
                before = len(self.spawned)
                self.server.stdin.write(json.dumps(request) + "\n")
                self.server.stdin.flush()
                if not self.spawned_signal.wait_for(
                    lambda: len(self.spawned) > before, READY_SECONDS
                ):
                    raise RuntimeError("the fork server did not fork")
                pid = self.spawned[before]
                fork = Forked(pid, output)
                self.forks[pid] = fork
                self.spawned_signal.notify_all()
        return fork

    def run(
        self,
        args: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        timeout: float = 120,  # noqa: ASYNC109 - the same as subprocess.run's
    ) -> subprocess.CompletedProcess[str]:
        """Like ``subprocess.run([python, -m, bot, *args], capture_output=True, text=True)``."""
        with tempfile.NamedTemporaryFile(dir=self.workdir, suffix=".err", delete=False) as err:
            errors = Path(err.name)
        fork = self.spawn(args, env, cwd, errors=errors)
        if not fork.ended.wait(timeout):
            fork.send_signal(9)
            raise subprocess.TimeoutExpired(["mentorbot", *args], timeout)
        assert fork.returncode is not None
        return subprocess.CompletedProcess(
            ["mentorbot", *args], fork.returncode, fork.log(), errors.read_text()
        )


if __name__ == "__main__":
    serve()
