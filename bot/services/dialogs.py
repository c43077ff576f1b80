"""Use cases of the coaching dialogs: start, answer, pause, resume, look back.

No method commits: each reads and writes in the caller's unit of work, and the caller
commits (for an update, the database middleware, before any reply is sent). Answers are
most of the traffic: the adapter runs those of many people in one transaction
(bot/storage/group_commit.py), which commits them.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import access, consent, engine
from bot.domain.consent import ConsentKind
from bot.domain.dialogs import Dialog
from bot.domain.engine import Input, Progress, ShowWheel, SummaryLine
from bot.domain.texts import N_, Msg, Value
from bot.services.clock import Clock
from bot.storage import access as access_store
from bot.storage import consents as consent_store
from bot.storage import repositories as repo
from bot.storage.models import Commitment, DialogSession

WHEEL = "wheel"
Finisher = Callable[[AsyncSession, int, Dialog, Progress, datetime], Awaitable[None]]
CommitmentsMade = Callable[[AsyncSession, int, Sequence[Commitment]], Awaitable[None]]
ZoneOf = Callable[[AsyncSession, int], Awaitable[tzinfo]]
KNOWN_SESSIONS = 10_000
NOT_YOURS = Msg(N_("This form is not for you, so I cannot finish it. /help lists what you can do."))


class Turn(enum.Enum):
    STARTED = "started"
    RESUMED = "resumed"
    PAUSED = "paused"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    STALE = "stale"
    NONE = "none"
    REPEATED = "repeated"
    # Not started: the dialog needs a consent the person has not decided yet (``consent``).
    CONSENT = "consent"


@dataclass
class DialogTurn:
    """What happened to a person's dialog, for the adapter to show."""

    kind: Turn
    record: DialogSession | None = None
    dialog: Dialog | None = None
    progress: Progress | None = None
    error: Msg | None = None
    shows: tuple[ShowWheel, ...] = ()
    recaps: tuple[Msg, ...] = ()
    paused: list[str] = field(default_factory=list)
    answered_question: engine.Question | None = None
    answered_value: Value | None = None
    consent: ConsentKind | None = None

    @property
    def finished(self) -> bool:
        return self.progress is not None and self.progress.finished


class DialogService:
    def __init__(
        self,
        dialogs: dict[str, Dialog],
        clock: Clock,
        operators: Collection[int] = (),
        zone: ZoneOf | None = None,
    ) -> None:
        self.dialogs = dialogs
        self.clock = clock
        # A person's time zone: "today" in a date question is their local date (UTC's
        # when not given).
        self.zone = zone
        self.operators = frozenset(operators)
        # Progress last seen for a session, by its version and the update last applied: a
        # session whose version has not moved need not have its answers read again. The
        # update tells apart a version whose writing was rolled back from one written since.
        self._known: OrderedDict[int, tuple[tuple[int, int | None], Progress]] = OrderedDict()
        # What finishing a dialog does beyond the dialog itself (an intake makes a
        # profile), in the same unit of work as its last answer.
        self.finishers: dict[str, Finisher] = {}
        # Who is told of new commitments (to follow them up), in the same unit of work.
        self.on_commitments: list[CommitmentsMade] = []

    def by_command(self, command: str) -> Dialog | None:
        return next((d for d in self.dialogs.values() if d.command == command), None)

    async def _progress(self, db: AsyncSession, record: DialogSession) -> Progress:
        known = self._known.get(record.id)
        if known is not None and known[0] == (record.version, record.last_update_id):
            self._known.move_to_end(record.id)
            return known[1]
        state = dict(record.state)
        state["answers"] = await repo.load_answers(db, record.id)
        progress = Progress.from_json(state)
        self._remember(record, progress)
        return progress

    def _remember(self, record: DialogSession, progress: Progress) -> None:
        self._known[record.id] = ((record.version, record.last_update_id), progress)
        self._known.move_to_end(record.id)
        while len(self._known) > KNOWN_SESSIONS:
            self._known.popitem(last=False)

    async def _activate(
        self, db: AsyncSession, person_id: int, record: DialogSession, now: datetime
    ) -> list[str]:
        paused = await repo.pause_others(db, person_id, record.id, now)
        record.status = repo.ACTIVE
        record.updated_at = now
        return [p.dialog_id for p in paused]

    async def start(
        self, db: AsyncSession, person_id: int, dialog_id: str, restart: bool = False
    ) -> DialogTurn:
        """Start a dialog, or go on with the person's unfinished run of it; a dialog that
        needs a consent the person has not decided is not started (``Turn.CONSENT``): they
        are asked first. Steps whose consent is not given are left out of the run."""
        dialog = self.dialogs[dialog_id]
        decisions: dict[ConsentKind, bool] = {}
        if dialog.consents():
            decisions = await consent_store.decisions(db, person_id)
            ask = await self._consent_to_ask(db, person_id, dialog, decisions)
            if ask is not None:
                return DialogTurn(Turn.CONSENT, dialog=dialog, consent=ask)
        now = self.clock.now()
        existing = await repo.resumable_session(db, person_id, dialog_id)
        if existing is not None and not restart:
            paused = await self._activate(db, person_id, existing, now)
            progress = await self._progress(db, existing)
            return DialogTurn(Turn.RESUMED, existing, dialog, progress, paused=paused)
        if existing is not None:
            existing.status = repo.ABANDONED
            existing.updated_at = now
        outcome = engine.start(dialog, consent.omitted(dialog.consent_steps(), decisions))
        record = DialogSession(
            person_id=person_id,
            dialog_id=dialog_id,
            status=repo.ACTIVE,
            state=_state(outcome.progress),
            started_at=now,
            updated_at=now,
        )
        db.add(record)
        await db.flush()
        paused = [p.dialog_id for p in await repo.pause_others(db, person_id, record.id, now)]
        return DialogTurn(
            Turn.STARTED, record, dialog, outcome.progress, shows=outcome.shows, paused=paused
        )

    async def _consent_to_ask(
        self,
        db: AsyncSession,
        person_id: int,
        dialog: Dialog,
        decisions: dict[ConsentKind, bool],
    ) -> ConsentKind | None:
        undecided = tuple(kind for kind in dialog.consents() if kind not in decisions)
        if not undecided:
            return None
        roles: frozenset[access.Role] = frozenset()
        if any(consent.ASKED_OF[kind] is not None for kind in undecided):
            roles = (await access_store.standing_of(db, person_id, self.operators)).roles
        return consent.to_ask(undecided, decisions, roles)

    async def consent_changed(
        self, db: AsyncSession, person_id: int, kind: ConsentKind, given: bool
    ) -> None:
        """A consent declined or withdrawn: an unfinished run of a dialog that asks what it
        covers is closed, so the next one begins without it (``PeopleService.set_consent``
        calls it, in the same unit of work)."""
        if given or kind not in consent.ASKED_ONLY_WITH:
            return
        now = self.clock.now()
        for dialog in self.dialogs.values():
            if kind in dialog.consents():
                await repo.abandon_unfinished(db, person_id, dialog.id, now)

    async def resume(self, db: AsyncSession, person_id: int) -> DialogTurn:
        record = await repo.resumable_session(db, person_id)
        if record is None:
            return DialogTurn(Turn.NONE)
        dialog = self.dialogs[record.dialog_id]
        if dialog.consents():
            # A run begun before its consent was asked (one open when consents came in).
            decisions = await consent_store.decisions(db, person_id)
            ask = await self._consent_to_ask(db, person_id, dialog, decisions)
            if ask is not None:
                return DialogTurn(Turn.CONSENT, dialog=dialog, consent=ask)
        paused = await self._activate(db, person_id, record, self.clock.now())
        progress = await self._progress(db, record)
        return DialogTurn(
            Turn.RESUMED, record, self.dialogs[record.dialog_id], progress, paused=paused
        )

    async def pause(self, db: AsyncSession, person_id: int) -> DialogTurn:
        record = await repo.current_session(db, person_id)
        if record is None:
            return DialogTurn(Turn.NONE)
        record.status = repo.PAUSED
        record.updated_at = self.clock.now()
        return DialogTurn(Turn.PAUSED, record, self.dialogs[record.dialog_id])

    async def answer(
        self,
        db: AsyncSession,
        person_id: int,
        event: Input,
        update_id: int,
        session_id: int | None = None,
        seq: int | None = None,
    ) -> DialogTurn:
        """Apply one input. With session_id and seq (a button), it must be the current question.
        The caller commits."""
        if session_id is None:
            record = await repo.current_session(db, person_id)
        else:
            record = await repo.get_session(db, person_id, session_id)
        if record is None:
            return DialogTurn(Turn.NONE)
        dialog = self.dialogs[record.dialog_id]
        progress = await self._progress(db, record)
        if record.last_update_id == update_id:
            return DialogTurn(Turn.REPEATED, record, dialog, progress)
        if session_id is not None and (record.status != repo.ACTIVE or seq != progress.seq):
            return DialogTurn(Turn.STALE, record, dialog, progress)
        now = self.clock.now()
        # Only a date question needs the person's own "today" (a look-up on the busiest path).
        dated = progress.cursor is not None and (
            engine.step_at(dialog, progress.cursor).kind == "date"
        )
        zone = await self.zone(db, person_id) if self.zone is not None and dated else UTC
        outcome = engine.handle(dialog, progress, event, now.astimezone(zone).date())
        if not outcome.accepted:
            return DialogTurn(Turn.REFUSED, record, dialog, progress, error=outcome.error)
        assert progress.cursor is not None
        asked = engine.question(dialog, progress)
        key = engine.answer_key(dialog, progress, progress.cursor)
        asked_step = engine.step_at(dialog, progress.cursor)
        new = outcome.progress
        if new.finished and not await self._may_finish(db, person_id, dialog):
            return DialogTurn(Turn.REFUSED, record, dialog, progress, error=NOT_YOURS)
        await repo.save_answers(db, record.id, progress.answers, new.answers, now)
        await repo.advance_session(db, record, _state(new), update_id, now, new.finished)
        if new.finished:
            made = [
                Commitment(
                    person_id=person_id,
                    session_id=record.id,
                    text=draft.text,
                    context=draft.context.id if draft.context else None,
                    due_on=draft.due,
                    status="open",
                    created_at=now,
                )
                for draft in engine.commitments(dialog, new)
            ]
            await repo.add_commitments(db, made)
            if made:
                await db.flush()
                for listener in self.on_commitments:
                    await listener(db, person_id, made)
            finisher = self.finishers.get(dialog.id)
            if finisher is not None:
                await finisher(db, person_id, dialog, new, now)
        # Kept before the commit: if the transaction is rolled back, the version and update
        # read next time differ from these, and the answers are read again.
        self._remember(record, new)
        return DialogTurn(
            Turn.ACCEPTED,
            record,
            dialog,
            new,
            shows=outcome.shows,
            recaps=outcome.recaps,
            answered_question=asked,
            answered_value=(
                engine.shown(dialog, new, asked_step, new.answers[key])
                if key in new.answers and new.seq != progress.seq and event != engine.Press("back")
                else None
            ),
        )

    async def _may_finish(self, db: AsyncSession, person_id: int, dialog: Dialog) -> bool:
        """The access policy, asked again where a dialog is finished: a form started while
        the person had a role they no longer have does not do what the role could."""
        if dialog.kind == "coaching":
            return True
        who = await access_store.standing_of(db, person_id, self.operators)
        return access.may_use_dialog(dialog.roles, who)

    async def finished(
        self, db: AsyncSession, person_id: int, limit: int = 12
    ) -> list[DialogSession]:
        """The person's finished coaching sessions, newest first."""
        coaching = [d.id for d in self.dialogs.values() if d.kind == "coaching"]
        return list(await repo.finished_sessions(db, person_id, coaching, limit))

    async def summary(
        self, db: AsyncSession, person_id: int, session_id: int, for_others: bool = False
    ) -> tuple[DialogSession, Dialog, list[SummaryLine]] | None:
        """A finished session's summary; ``for_others`` (it goes to someone else) leaves
        out the answers whose consent the person has not given."""
        record = await repo.get_session(db, person_id, session_id)
        if record is None or record.status != repo.FINISHED:
            return None
        dialog = self.dialogs[record.dialog_id]
        progress = await self._progress(db, record)
        if for_others and dialog.consents():
            hidden = consent.hidden(
                dialog.consent_steps(), await consent_store.decisions(db, person_id)
            )
            kept = {k: v for k, v in progress.answers.items() if k not in hidden}
            progress = replace(progress, answers=kept)
        return record, dialog, engine.summary(dialog, progress)

    def wheel_areas(self) -> list[tuple[str, str]]:
        """(area id, label message id) of the wheel's areas."""
        dialog = self.dialogs[WHEEL]
        show = next(s for s in dialog.steps if s.kind == "show")
        return [(ref, dialog.step(ref).label) for ref in show.show_from]

    async def wheel_history(
        self, db: AsyncSession, person_id: int
    ) -> list[tuple[datetime, dict[str, int]]]:
        areas = [area for area, _ in self.wheel_areas()]
        rows = await repo.finished_answers(db, person_id, WHEEL, areas)
        return [
            (when, {k: int(v) for k, v in answers.items()})
            for when, answers in rows
            if set(answers) == set(areas)
        ]


def _state(progress: Progress) -> dict[str, Any]:
    state = progress.to_json()
    del state["answers"]
    return state
