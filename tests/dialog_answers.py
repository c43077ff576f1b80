"""A valid answer for every kind of question, for tests that walk whole dialogs."""

from __future__ import annotations

from datetime import date, timedelta

from bot.domain import engine
from bot.domain.dialogs import Dialog

TODAY = date(2026, 11, 25)


def valid_input(dialog: Dialog, progress: engine.Progress, n: int) -> engine.Input:
    """The n-th answer: texts say which step they answer, ratings vary."""
    assert progress.cursor is not None
    step = engine.step_at(dialog, progress.cursor)
    if step.kind == "text":
        return engine.TextInput(f"answer {n} to {step.id}")
    if step.kind == "scale":
        return engine.Press(f"c:{(n % 10) + 1}")
    if step.kind == "number":
        return engine.TextInput(str(n % 40))
    if step.kind == "timezone":
        return engine.Press("c:Europe/Riga")
    if step.kind == "date":
        return engine.TextInput((TODAY + timedelta(days=7 + n)).strftime("%d.%m.%Y"))
    if step.kind == "time":
        return engine.TextInput(f"{8 + n % 12}:30")
    if step.kind == "confirm":
        return engine.Press("c:no")
    if step.kind == "choice":
        value, _label = engine.options(dialog, progress, step)[0]
        return engine.Press(f"c:{value}")
    if step.kind == "multi":
        chosen = progress.pending or ()
        if len(chosen) < step.min_choices:
            value = next(v for v, _ in engine.options(dialog, progress, step) if v not in chosen)
            return engine.Press(f"t:{value}")
        return engine.Press("ok")
    raise AssertionError(f"no valid input for {step.kind}")
