"""The open-transaction probe: no Bot API request may be made while the asyncio task that
makes it holds an open database transaction. (A request waits on the network; meanwhile the
transaction holds its locks, on SQLite the one write lock of the whole database.)

SQLAlchemy's ``Session`` events record which task began each session's transaction and
forget it when that transaction ends (commit, rollback, close); ``asyncio.current_task()``
works inside SQLAlchemy's greenlet bridge, since the greenlet runs within the task's step. A
request middleware on every Bot API session asks, for each request, whether the current
task holds an open transaction; if it does, the request is recorded as a violation with the
method and where in the watched code (the bot's, by default) it was made.

``MENTORBOT_TX_PROBE`` says what a violation does: ``fail`` (the default) fails the test
that made them; ``report`` collects them over the run and writes them, grouped by place, to
``tx-probe-report.txt`` at the root of the repository.
"""

from __future__ import annotations

import asyncio
import os
import sys
import weakref
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction

ROOT = Path(__file__).resolve().parent.parent
BOT_CODE = ROOT / "bot"
REPORT = ROOT / "tx-probe-report.txt"
MODE_ENV = "MENTORBOT_TX_PROBE"
MODES = ("report", "fail")
# The bot's own request plumbing: a request is placed where the code that asked for it is.
PLUMBING = (BOT_CODE / "telegram" / "sender.py",)
STACK_DEPTH = 4


def mode() -> str:
    chosen = os.environ.get(MODE_ENV, "fail").strip().lower() or "fail"
    if chosen not in MODES:
        raise ValueError(f"{MODE_ENV} must be one of {', '.join(MODES)}, not {chosen!r}")
    return chosen


@dataclass(frozen=True)
class Violation:
    method: str  # the Bot API method, as Telegram names it
    stack: tuple[str, ...]  # "file:line in function" of the watched code, innermost first
    test: str = ""

    @property
    def location(self) -> str:
        return self.stack[0]

    def describe(self) -> str:
        return f"{self.method} at {' <- '.join(self.stack)}"


class TxProbe:
    def __init__(self, code: Path = BOT_CODE, plumbing: tuple[Path, ...] = PLUMBING) -> None:
        self.code = str(code)
        self.plumbing = tuple(str(path) for path in plumbing)
        # Sessions with an open transaction, and the task that began it.
        self.open: weakref.WeakKeyDictionary[Session, weakref.ref[asyncio.Task[Any]]] = (
            weakref.WeakKeyDictionary()
        )
        self.violations: list[Violation] = []
        self.test = ""  # the test running now, named in its violations
        self.installed = False

    # -- transactions -------------------------------------------------------------------------

    def install(self) -> None:
        if not self.installed:
            event.listen(Session, "after_begin", self._began)
            event.listen(Session, "after_transaction_end", self._ended)
            self.installed = True

    def uninstall(self) -> None:
        if self.installed:
            event.remove(Session, "after_begin", self._began)
            event.remove(Session, "after_transaction_end", self._ended)
            self.installed = False

    def _began(
        self, session: Session, transaction: SessionTransaction, connection: Connection
    ) -> None:
        if transaction.parent is not None:  # a savepoint within the open transaction
            return
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no event loop: synchronous use, no task to hold it
            return
        if task is not None:
            self.open[session] = weakref.ref(task)

    def _ended(self, session: Session, transaction: SessionTransaction) -> None:
        # The end may come in another task (AsyncSession closes in a shielded task of its
        # own): the session's entry goes, whoever ends it.
        if transaction.parent is None:
            self.open.pop(session, None)

    def held_here(self) -> bool:
        """Whether the current task holds an open transaction."""
        task = asyncio.current_task()
        return task is not None and any(ref() is task for ref in list(self.open.values()))

    # -- requests -----------------------------------------------------------------------------

    def attach(self, session: BaseSession) -> None:
        """Watch every request of this Bot API session (first in line, before the bot's own
        middlewares, so a request retried after a 429 counts once)."""
        session.middleware(ProbeMiddleware(self))

    def check(self, method: TelegramMethod[Any]) -> None:
        if not self.held_here():
            return
        stack = self._stack(sys._getframe(2))
        if stack:  # made by the watched code, not by a test's own calls
            self.violations.append(Violation(method.__api_method__, stack, self.test))

    def _stack(self, frame: FrameType | None) -> tuple[str, ...]:
        found: list[str] = []
        while frame is not None and len(found) < STACK_DEPTH:
            filename = frame.f_code.co_filename
            if filename.startswith(self.code) and not filename.startswith(self.plumbing):
                where = os.path.relpath(filename, ROOT)
                found.append(f"{where}:{frame.f_lineno} in {frame.f_code.co_name}")
            frame = frame.f_back
        return tuple(found)

    # -- results ------------------------------------------------------------------------------

    def report(self) -> str:
        if not self.violations:
            return "No Bot API request was made inside an open database transaction.\n"
        places: dict[str, list[Violation]] = defaultdict(list)
        for violation in self.violations:
            places[violation.location].append(violation)
        lines = [
            f"{len(self.violations)} Bot API requests were made inside an open database "
            f"transaction, at {len(places)} places of the bot's code (most first).",
            "",
        ]
        for location, found in sorted(places.items(), key=lambda item: (-len(item[1]), item[0])):
            methods = Counter(v.method for v in found)
            tests = {v.test for v in found}
            lines.append(f"{len(found):5}  {location}")
            lines.append(
                "       methods: "
                + ", ".join(f"{name} ×{count}" for name, count in methods.most_common())
            )
            callers = Counter(" <- ".join(v.stack[1:]) for v in found if len(v.stack) > 1)
            for caller, count in callers.most_common(3):
                lines.append(f"       called from ({count}): {caller}")
            lines.append(f"       in {len(tests)} test(s), e.g. {min(tests)}")
            lines.append("")
        return "\n".join(lines)


class ProbeMiddleware(BaseRequestMiddleware):
    def __init__(self, probe: TxProbe) -> None:
        self.probe = probe

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        self.probe.check(method)
        return await make_request(bot, method)
