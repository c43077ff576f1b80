"""The dialog engine: a pure function from (definition, progress, input) to
(new progress, replies). No I/O, no clock: the caller passes today's date.

An invalid input returns the same progress and an error message, so the caller
writes nothing and the person stays at the same step.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, TypeAlias

from bot.domain.dialogs import Dialog, Step, recap_refs
from bot.domain.texts import N_, Msg, Value, plural_msg
from bot.domain.zones import find_zones

# A position in a dialog: (top-level step index, loop iteration, inner step index).
# inner is -1 for a top-level question; len(loop.steps) is the loop's "add another?" question.
Cursor: TypeAlias = tuple[int, int, int]

MAX_DATE_AHEAD = timedelta(days=3660)
DATE_SHORTCUTS = ((7, N_("In a week")), (14, N_("In two weeks")), (30, N_("In a month")))
# The calendar of a date step: a press on what is not a day (a blank, a weekday's name).
NO_DAY = "n"
MONTHS = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)
WEEKDAYS = (N_("Mo"), N_("Tu"), N_("We"), N_("Th"), N_("Fr"), N_("Sa"), N_("Su"))
BUTTON_LABEL_LIMIT = 48
# A recap quotes the person's words; a long answer is quoted by its beginning.
RECAP_QUOTE_LIMIT = 160
COMMON_ZONES = (
    "Europe/Riga",
    "Europe/Vilnius",
    "Europe/Tallinn",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Sofia",
    "Europe/Berlin",
    "Europe/London",
    "UTC",
)


@dataclass(frozen=True)
class Progress:
    cursor: Cursor | None
    answers: dict[str, Any] = field(default_factory=dict)
    history: tuple[Cursor, ...] = ()
    pending: tuple[str, ...] | None = None
    seq: int = 0
    # Top-level steps this run does not ask (their consent was not given when it began).
    omitted: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        return self.cursor is None

    def to_json(self) -> dict[str, Any]:
        state = {
            "cursor": list(self.cursor) if self.cursor else None,
            "answers": self.answers,
            "history": [list(c) for c in self.history],
            "pending": list(self.pending) if self.pending is not None else None,
            "seq": self.seq,
        }
        # Only when there are any: the state of most runs, written with every answer,
        # stays as it was.
        if self.omitted:
            state["omitted"] = list(self.omitted)
        return state

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Progress:
        cursor = data.get("cursor")
        pending = data.get("pending")
        return cls(
            cursor=_cursor(cursor) if cursor else None,
            answers=dict(data.get("answers") or {}),
            history=tuple(_cursor(c) for c in data.get("history") or ()),
            pending=tuple(pending) if pending is not None else None,
            seq=int(data.get("seq", 0)),
            omitted=tuple(data.get("omitted") or ()),
        )


def _cursor(raw: list[int]) -> Cursor:
    top, iteration, inner = raw
    return (int(top), int(iteration), int(inner))


# Inputs ------------------------------------------------------------------


@dataclass(frozen=True)
class TextInput:
    text: str


@dataclass(frozen=True)
class Press:
    """A button: ``c:<value>`` chooses, ``t:<value>`` toggles; ``ok``, ``back``, ``skip``,
    ``keep``."""

    action: str


@dataclass(frozen=True)
class OtherInput:
    """A sticker, photo, voice message or anything else that is not text."""

    kind: str


Input: TypeAlias = TextInput | Press | OtherInput


# Outputs -----------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    label: Msg | str
    action: str
    selected: bool = False


@dataclass(frozen=True)
class Question:
    stage: Msg | None
    item: Msg | None
    text: Msg
    hint: Msg | None
    current: Value | None
    buttons: tuple[tuple[Button, ...], ...]
    accepts_text: bool


@dataclass(frozen=True)
class ShowWheel:
    area_ids: tuple[str, ...]
    labels: tuple[Msg, ...]
    ratings: tuple[int, ...]
    reading: Msg | None = None


@dataclass(frozen=True)
class SummaryLine:
    label: Msg
    value: Value | None
    heading: bool = False


@dataclass(frozen=True)
class CommitmentDraft:
    text: str
    due: date
    context: Msg | None


@dataclass(frozen=True)
class Outcome:
    progress: Progress
    error: Msg | None = None
    shows: tuple[ShowWheel, ...] = ()
    # Reflections of the stages just finished, said before the next question.
    recaps: tuple[Msg, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.error is None


# Walking the definition ----------------------------------------------------


def start(dialog: Dialog, omit: frozenset[str] = frozenset()) -> Outcome:
    """The first question; the top-level steps in ``omit`` are not asked in this run."""
    progress = Progress(cursor=None, omitted=tuple(s.id for s in dialog.steps if s.id in omit))
    cursor, shows = _enter(dialog, progress, 0)
    return Outcome(progress=_arrive(dialog, replace(progress, cursor=cursor), cursor), shows=shows)


def step_at(dialog: Dialog, cursor: Cursor) -> Step:
    top, _, inner = cursor
    step = dialog.steps[top]
    if inner < 0:
        return step
    if inner == len(step.steps):
        return _more_step(step)
    return step.steps[inner]


def _more_step(loop: Step) -> Step:
    return Step(id="more", kind="confirm", prompt=loop.more_prompt, label=loop.more_prompt)


def answer_key(dialog: Dialog, progress: Progress, cursor: Cursor) -> str:
    top, iteration, inner = cursor
    step = dialog.steps[top]
    if inner < 0:
        return step.id
    item = _over_values(dialog, progress, step)[iteration] if step.over else str(iteration + 1)
    return f"{step.id}.{item}.{step_at(dialog, cursor).id}"


def _over_values(dialog: Dialog, progress: Progress, loop: Step) -> list[str]:
    selected = progress.answers.get(loop.over)
    return list(selected) if isinstance(selected, list) else []


def _over_label(dialog: Dialog, progress: Progress, loop: Step, value: str) -> Msg | str:
    """The label of the chosen option a loop iteration is about."""
    return dict(options(dialog, progress, dialog.step(loop.over))).get(value, value)


def _loop_items(dialog: Dialog, progress: Progress, loop: Step) -> list[str]:
    """The item keys of a loop's iterations: chosen values, or 1, 2, 3..."""
    if loop.over:
        return _over_values(dialog, progress, loop)
    return [str(n) for n in range(1, _loop_count(progress, loop) + 1)]


def _loop_count(progress: Progress, loop: Step) -> int:
    """How many iterations a counted loop has, by the answers so far."""
    count = loop.count_min
    while count < loop.count_max and progress.answers.get(f"{loop.id}.{count}.more") is True:
        count += 1
    return count


def _enter(
    dialog: Dialog, progress: Progress, top: int
) -> tuple[Cursor | None, tuple[ShowWheel, ...]]:
    """The first question at or after top-level step ``top``; show steps on the way are shown."""
    shows: list[ShowWheel] = []
    while top < len(dialog.steps):
        step = dialog.steps[top]
        if not asked(progress, step):
            top += 1
            continue
        if step.kind == "show":
            shows.append(_wheel(dialog, progress, step))
        elif step.kind == "loop":
            if not step.over or _over_values(dialog, progress, step):
                return (top, 0, 0), tuple(shows)
        else:
            return (top, 0, -1), tuple(shows)
        top += 1
    return None, tuple(shows)


def asked(progress: Progress, step: Step) -> bool:
    """Whether this run asks a top-level step: its consent was given when the run began,
    and its ``ask_if`` holds for the answers so far."""
    if step.id in progress.omitted:
        return False
    return step.ask_if is None or progress.answers.get(step.ask_if.step) in step.ask_if.among


def _wheel(dialog: Dialog, progress: Progress, step: Step) -> ShowWheel:
    areas = [dialog.step(ref) for ref in step.show_from]
    return ShowWheel(
        area_ids=tuple(a.id for a in areas),
        labels=tuple(Msg(a.label) for a in areas),
        ratings=tuple(int(progress.answers.get(a.id) or 0) for a in areas),
        reading=Msg(step.reading) if step.reading else None,
    )


def _recaps(
    dialog: Dialog, progress: Progress, left: int, cursor: Cursor | None
) -> tuple[Msg, ...]:
    """The recaps of the top-level steps from ``left`` up to where ``cursor`` now is."""
    until = cursor[0] if cursor is not None else len(dialog.steps)
    said: list[Msg] = []
    for step in dialog.steps[left:until]:
        if not step.recap or not asked(progress, step):
            continue
        refs = recap_refs(step.recap)
        if all(progress.answers.get(ref) is not None for ref in refs):
            quoted = {ref: _quoted(dialog, progress, dialog.step(ref)) for ref in refs}
            said.append(Msg(step.recap, quoted))
    return tuple(said)


def _quoted(dialog: Dialog, progress: Progress, step: Step) -> Value:
    value = shown(dialog, progress, step, progress.answers[step.id])
    return _shorten(value, RECAP_QUOTE_LIMIT) if isinstance(value, str) else value


def _following(
    dialog: Dialog, progress: Progress, cursor: Cursor
) -> tuple[Cursor | None, tuple[ShowWheel, ...]]:
    top, iteration, inner = cursor
    step = dialog.steps[top]
    if inner < 0:
        return _enter(dialog, progress, top + 1)
    if inner == len(step.steps):
        if progress.answers.get(answer_key(dialog, progress, cursor)) is True:
            return (top, iteration + 1, 0), ()
        return _enter(dialog, progress, top + 1)
    if inner + 1 < len(step.steps):
        return (top, iteration, inner + 1), ()
    done = iteration + 1
    if step.over:
        if done < len(_over_values(dialog, progress, step)):
            return (top, done, 0), ()
        return _enter(dialog, progress, top + 1)
    if done < step.count_min:
        return (top, done, 0), ()
    if done < step.count_max:
        return (top, iteration, len(step.steps)), ()
    return _enter(dialog, progress, top + 1)


def _arrive(dialog: Dialog, progress: Progress, cursor: Cursor | None) -> Progress:
    """Progress positioned at ``cursor``, with the multi-choice draft prepared."""
    pending: tuple[str, ...] | None = None
    if cursor is not None:
        step = step_at(dialog, cursor)
        if step.kind == "multi":
            previous = progress.answers.get(answer_key(dialog, progress, cursor))
            if isinstance(previous, list):
                pending = tuple(previous)
            else:
                pending = _preselected(dialog, progress, step)
    return replace(progress, cursor=cursor, pending=pending, seq=progress.seq + 1)


def _rated(progress: Progress, step: Step) -> list[tuple[int, int, str]]:
    """(rating, position, step id) of the rated steps a multi's options come from."""
    return [
        (int(progress.answers[ref]), index, ref)
        for index, ref in enumerate(step.options_from_steps)
        if isinstance(progress.answers.get(ref), int)
    ]


def _even(progress: Progress, step: Step) -> bool:
    """Every option rated, all alike: none of them is the weakest."""
    rated = _rated(progress, step)
    alike = len({rating for rating, _, _ in rated}) == 1
    return alike and len(rated) == len(step.options_from_steps) > 1


def _preselected(dialog: Dialog, progress: Progress, step: Step) -> tuple[str, ...]:
    if not step.preselect_lowest or _even(progress, step):
        return ()
    lowest = sorted(_rated(progress, step))[: step.preselect_lowest]
    chosen = {ref for _, _, ref in lowest}
    return tuple(ref for ref in step.options_from_steps if ref in chosen)


def options(dialog: Dialog, progress: Progress, step: Step) -> list[tuple[str, Msg | str]]:
    """(value, label) pairs of a choice or multi step, as they stand now."""
    if step.options:
        return [(o.value, Msg(o.label)) for o in step.options]
    if step.options_from_steps:
        return [(ref, Msg(dialog.step(ref).label)) for ref in step.options_from_steps]
    source = step.options_from_loop
    assert source is not None
    loop = dialog.step(source.loop)
    result: list[tuple[str, Msg | str]] = []
    for n in range(1, _loop_count(progress, loop) + 1):
        text = progress.answers.get(f"{loop.id}.{n}.{source.text}")
        result.append((str(n), _shorten(text) if isinstance(text, str) else str(n)))
    return result


def _shorten(text: str, limit: int = BUTTON_LABEL_LIMIT) -> str:
    """The text on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# The current question ----------------------------------------------------


def question(dialog: Dialog, progress: Progress) -> Question:
    assert progress.cursor is not None, "a finished dialog has no question"
    cursor = progress.cursor
    step = step_at(dialog, cursor)
    top, iteration, inner = cursor
    loop = dialog.steps[top] if inner >= 0 else None
    item = _item_label(dialog, progress, loop, iteration) if loop else None
    stage_step = dialog.steps[top]
    stage = Msg(stage_step.stage) if stage_step.stage else None
    key = answer_key(dialog, progress, cursor)
    has_answer = key in progress.answers
    current = shown(dialog, progress, step, progress.answers[key]) if has_answer else None

    rows: list[tuple[Button, ...]] = []
    if step.kind == "scale":
        values = list(range(step.min, step.max + 1))
        width = 5 if len(values) > 6 else len(values)
        rows += [
            tuple(Button(str(v), f"c:{v}") for v in values[start : start + width])
            for start in range(0, len(values), width)
        ]
    elif step.kind == "timezone":
        rows += [
            tuple(Button(zone.split("/")[-1].replace("_", " "), f"c:{zone}") for zone in row)
            for row in (COMMON_ZONES[:3], COMMON_ZONES[3:6], COMMON_ZONES[6:])
        ]
    elif step.kind == "choice":
        rows += [(Button(label, f"c:{value}"),) for value, label in options(dialog, progress, step)]
    elif step.kind == "multi":
        chosen = set(progress.pending or ())
        rows += [
            (Button(label, f"t:{value}", selected=value in chosen),)
            for value, label in options(dialog, progress, step)
        ]
        rows.append((Button(Msg(N_("Done")), "ok"),))
    elif step.kind == "confirm":
        rows.append((Button(Msg(N_("Yes")), "c:yes"), Button(Msg(N_("No")), "c:no")))
    elif step.kind == "date":
        rows.append(tuple(Button(Msg(label), f"c:+{days}") for days, label in DATE_SHORTCUTS))
        if step.calendar:
            rows += _calendar(progress.pending)
    elif step.kind == "time":
        rows.append(tuple(Button(shortcut, f"c:{shortcut}") for shortcut in TIME_SHORTCUTS))
    navigation: list[Button] = []
    if progress.history:
        navigation.append(Button(Msg(N_("⬅ Back")), "back"))
    if has_answer and step.kind != "multi":
        navigation.append(Button(Msg(N_("Keep this answer")), "keep"))
    if step.optional:
        navigation.append(Button(Msg(N_("Skip")), "skip"))
    if navigation:
        rows.append(tuple(navigation))
    prompt_values: dict[str, Value] = {"label": Msg(step.label)} if step.label else {}
    if item is not None:
        prompt_values["item"] = item
    even = step.kind == "multi" and bool(step.even_prompt) and _even(progress, step)
    return Question(
        stage=stage,
        item=item,
        text=Msg(step.even_prompt if even else step.prompt, prompt_values),
        hint=Msg(step.hint) if step.hint else None,
        current=current,
        buttons=tuple(rows),
        accepts_text=step.kind in ("text", "date", "time", "scale", "number", "timezone"),
    )


def _item_label(dialog: Dialog, progress: Progress, loop: Step, iteration: int) -> Msg:
    if loop.over:
        value = _over_values(dialog, progress, loop)[iteration]
        return Msg(loop.item_label, {"item": _over_label(dialog, progress, loop, value)})
    return Msg(loop.item_label, {"n": iteration + 1})


def shown(dialog: Dialog, progress: Progress, step: Step, value: Any) -> Value:
    """An answer as the person sees it."""
    if value is None:
        return Msg(N_("(skipped)"))
    if step.kind == "date":
        return date.fromisoformat(value)
    if step.kind == "confirm":
        return Msg(N_("Yes")) if value else Msg(N_("No"))
    if step.kind in ("choice", "multi"):
        labels = dict(options(dialog, progress, step))
        if step.kind == "choice":
            return labels.get(value, str(value))
        shown = [labels.get(v, v) for v in value]
        return [x for x in shown if isinstance(x, Msg)] or [x for x in shown if isinstance(x, str)]
    if step.kind in ("scale", "number"):
        return int(value)
    return str(value)


# Handling input ------------------------------------------------------------


def handle(dialog: Dialog, progress: Progress, event: Input, today: date) -> Outcome:
    if progress.cursor is None:
        return Outcome(progress, error=Msg(N_("This session is already finished.")))
    cursor = progress.cursor
    step = step_at(dialog, cursor)
    key = answer_key(dialog, progress, cursor)

    if isinstance(event, OtherInput):
        if step.kind in ("text", "date", "time", "number", "timezone"):
            return _refuse(
                progress,
                N_(
                    "Please answer with text: stickers, photos and voice "
                    "messages can't be saved as an answer."
                ),
            )
        return _refuse(progress, N_("Please use the buttons under the question."))

    if isinstance(event, Press):
        action = event.action
        if action == "back":
            if not progress.history:
                return _refuse(progress, N_("This is the first question."))
            previous = progress.history[-1]
            moved = replace(progress, history=progress.history[:-1])
            return Outcome(_arrive(dialog, moved, previous))
        if action == "skip":
            if not step.optional:
                return _refuse(progress, N_("This question can't be skipped."))
            return _advance(dialog, progress, key, None)
        if action == "keep":
            if key not in progress.answers or step.kind == "multi":
                return _refuse(progress, N_("There is no earlier answer to keep here."))
            return _advance(dialog, progress, key, progress.answers[key])
        if step.kind == "multi":
            return _multi_press(dialog, progress, step, key, action)
        if step.kind == "date" and step.calendar and action.startswith("m:"):
            return _open_month(progress, action[2:], today)
        if step.kind == "date" and step.calendar and action == NO_DAY:
            return _refuse(progress, N_("Press a day of the month, or write the date."))
        if action.startswith("c:"):
            return _choose(dialog, progress, step, key, action[2:], today)
        return _refuse(progress, N_("Please use the buttons under the question."))

    text = event.text.strip()
    if step.kind == "text":
        if not text:
            return _refuse(progress, N_("The answer is empty. Please write a few words."))
        if len(text) > step.max_length:
            return Outcome(
                progress,
                error=plural_msg(
                    "That answer is {length} character long; the limit here is {limit}. "
                    "Please shorten it and send it again.",
                    "That answer is {length} characters long; the limit here is {limit}. "
                    "Please shorten it and send it again.",
                    "length",
                    {"length": len(text), "limit": step.max_length},
                ),
            )
        if len(text) < step.min_length:
            return Outcome(
                progress,
                error=plural_msg(
                    "Please write at least {limit} character.",
                    "Please write at least {limit} characters.",
                    "limit",
                    {"limit": step.min_length},
                ),
            )
        return _advance(dialog, progress, key, text)
    if step.kind in ("scale", "number", "timezone", "time"):
        return _choose(dialog, progress, step, key, text, today)
    if step.kind == "date":
        parsed = parse_date(text, today)
        if parsed is None:
            return _refuse(
                progress,
                N_(
                    "I couldn't read that date. Please write it as day.month.year, "
                    "for example {example}, or press a button."
                ),
                example=(today + timedelta(days=14)).strftime("%d.%m.%Y"),
            )
        return _accept_date(dialog, progress, key, parsed, today)
    return _refuse(progress, N_("Please use the buttons under the question."))


def _refuse(progress: Progress, message: str, **values: Value) -> Outcome:
    return Outcome(progress, error=Msg(message, dict(values)))


def _choose(
    dialog: Dialog, progress: Progress, step: Step, key: str, value: str, today: date
) -> Outcome:
    if step.kind == "timezone":
        zone = _time_zone(value)
        if zone is None:
            return _refuse(
                progress,
                N_(
                    "I don't know that time zone. Press a button, or write its name as in "
                    "Europe/Riga or America/New_York."
                ),
            )
        return _advance(dialog, progress, key, zone)
    if step.kind in ("scale", "number"):
        number = int(value) if re.fullmatch(r"\d{1,3}", value) else None
        if number is None or not step.min <= number <= step.max:
            return _refuse(
                progress,
                N_("Please choose a whole number from {low} to {high}.")
                if step.kind == "scale"
                else N_("Please write a whole number from {low} to {high}."),
                low=step.min,
                high=step.max,
            )
        return _advance(dialog, progress, key, number)
    if step.kind == "choice":
        if value not in dict(options(dialog, progress, step)):
            return _refuse(progress, N_("That choice is no longer offered. Please choose again."))
        return _advance(dialog, progress, key, value)
    if step.kind == "confirm":
        if value not in ("yes", "no"):
            return _refuse(progress, N_("Please use the buttons under the question."))
        return _advance(dialog, progress, key, value == "yes")
    if step.kind == "time":
        moment = parse_time(value)
        if moment is None:
            return _refuse(
                progress,
                N_(
                    "I couldn't read that time. Please write it as hours and minutes, for "
                    "example 18:30, or press a button."
                ),
            )
        return _advance(dialog, progress, key, moment)
    if step.kind == "date" and re.fullmatch(r"\+\d{1,3}", value):
        return _accept_date(dialog, progress, key, today + timedelta(days=int(value[1:])), today)
    if step.kind == "date" and step.calendar and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return _refuse(progress, N_("Press a day of the month, or write the date."))
        return _accept_date(dialog, progress, key, day, today)
    return _refuse(progress, N_("Please answer with text."))


def _open_month(progress: Progress, value: str, today: date) -> Outcome:
    """The calendar turned to a month (``YYYY-MM``; empty: this month). The draft holds
    the month shown and the first day that can be chosen, as the question needs them."""
    this_month = today.replace(day=1)
    shown: date | None = this_month
    if value:
        found = re.fullmatch(r"(\d{4})-(\d{2})", value)
        try:
            shown = date(int(found.group(1)), int(found.group(2)), 1) if found else None
        except ValueError:
            shown = None
    if shown is None or not this_month <= shown <= (today + MAX_DATE_AHEAD).replace(day=1):
        return _refuse(progress, N_("Press a day of the month, or write the date."))
    return Outcome(replace(progress, pending=(shown.isoformat()[:7], today.isoformat())))


def _calendar(pending: tuple[str, ...] | None) -> list[tuple[Button, ...]]:
    """A date's calendar: a button that opens it, or (once opened) its month with the
    months before and after, the days of the week, and a button for each day that can
    be chosen."""
    if not pending or len(pending) != 2:
        return [(Button(Msg(N_("📅 Pick a day in the calendar")), "m:"),)]
    first = date.fromisoformat(pending[0] + "-01")
    earliest = date.fromisoformat(pending[1])
    before = (first - timedelta(days=1)).replace(day=1)
    after = (first + timedelta(days=31)).replace(day=1)
    heading: list[Button] = []
    if before >= earliest.replace(day=1):
        heading.append(Button("◀", f"m:{before.isoformat()[:7]}"))
    heading.append(
        Button(
            Msg(
                N_("{month} {year}"),
                {"month": Msg(MONTHS[first.month - 1]), "year": str(first.year)},
            ),
            NO_DAY,
        )
    )
    if after <= (earliest + MAX_DATE_AHEAD).replace(day=1):
        heading.append(Button("▶", f"m:{after.isoformat()[:7]}"))
    rows = [tuple(heading), tuple(Button(Msg(name), NO_DAY) for name in WEEKDAYS)]
    for week in calendar.monthcalendar(first.year, first.month):
        rows.append(
            tuple(
                Button(str(day), f"c:{first.replace(day=day).isoformat()}")
                if day and first.replace(day=day) >= earliest
                else Button("·", NO_DAY)
                for day in week
            )
        )
    return rows


def _accept_date(dialog: Dialog, progress: Progress, key: str, day: date, today: date) -> Outcome:
    if day < today:
        return _refuse(progress, N_("That date has already passed. Please choose today or later."))
    if day > today + MAX_DATE_AHEAD:
        return _refuse(progress, N_("That date is more than ten years away. Please check it."))
    return _advance(dialog, progress, key, day.isoformat())


def _multi_press(dialog: Dialog, progress: Progress, step: Step, key: str, action: str) -> Outcome:
    chosen = list(progress.pending or ())
    if action.startswith("t:"):
        value = action[2:]
        if value not in dict(options(dialog, progress, step)):
            return _refuse(progress, N_("That choice is no longer offered. Please choose again."))
        if value in chosen:
            chosen.remove(value)
        elif len(chosen) >= _most(dialog, progress, step):
            return _refuse(
                progress,
                N_("You can choose up to {high} here. Untick one to choose another."),
                high=_most(dialog, progress, step),
            )
        else:
            chosen.append(value)
        order = [v for v, _ in options(dialog, progress, step)]
        return Outcome(replace(progress, pending=tuple(v for v in order if v in chosen)))
    if action == "ok":
        top = _most(dialog, progress, step)
        if not step.min_choices <= len(chosen) <= top:
            return Outcome(
                progress,
                error=plural_msg(
                    "Please choose from {low} to {high} item, then press Done.",
                    "Please choose from {low} to {high} items, then press Done.",
                    "high",
                    {"low": step.min_choices, "high": top},
                ),
            )
        return _advance(dialog, progress, key, chosen)
    return _refuse(progress, N_("Please use the buttons under the question."))


def _most(dialog: Dialog, progress: Progress, step: Step) -> int:
    """How many options a multi step lets be chosen at once."""
    offered = len(options(dialog, progress, step))
    return min(step.max_choices, offered) if step.max_choices is not None else offered


def _advance(dialog: Dialog, progress: Progress, key: str, value: Any) -> Outcome:
    assert progress.cursor is not None
    answered = replace(progress, answers={**progress.answers, key: value})
    cursor, shows = _following(dialog, answered, progress.cursor)
    moved = replace(answered, history=(*progress.history, progress.cursor))
    recaps = _recaps(dialog, answered, progress.cursor[0], cursor)
    return Outcome(_arrive(dialog, moved, cursor), shows=shows, recaps=recaps)


def _time_zone(text: str) -> str | None:
    """The IANA name of the zone written (its name in any case, a city, a country of one
    zone), as the time zone database spells it."""
    found = find_zones(text)
    return found[0] if len(found) == 1 else None


_DATE_FORMATS = (
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$"),
    re.compile(r"^(?P<d>\d{1,2})[./](?P<m>\d{1,2})[./](?P<y>\d{4})\.?$"),
    re.compile(r"^(?P<d>\d{1,2})[./](?P<m>\d{1,2})\.?$"),
)


TIME_SHORTCUTS = ("09:00", "12:00", "15:00", "18:00", "20:00")


def parse_time(text: str) -> str | None:
    """Read 18:30, 18.30 or 18 as "18:30" / "18:00"."""
    match = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?", text.strip())
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    return f"{hour:02d}:{minute:02d}" if hour < 24 and minute < 60 else None


def parse_date(text: str, today: date) -> date | None:
    """Read 2026-12-31, 31.12.2026, 31/12/2026 or 31.12 (the next such day)."""
    cleaned = text.strip()
    for pattern in _DATE_FORMATS:
        match = pattern.match(cleaned)
        if not match:
            continue
        parts = match.groupdict()
        year = int(parts["y"]) if parts.get("y") else today.year
        try:
            day = date(year, int(parts["m"]), int(parts["d"]))
        except ValueError:
            return None
        if not parts.get("y") and day < today:
            try:
                day = day.replace(year=year + 1)
            except ValueError:
                return None
        return day
    return None


def parse_moment(text: str, today: date) -> datetime | None:
    """Read a date and a time of day, as "28.11.2026 09:30" or "2026-11-28 9.30"."""
    day_text, _, time_text = text.strip().rpartition(" ")
    day = parse_date(day_text, today)
    clock = parse_time(time_text)
    if day is None or clock is None:
        return None
    hour, minute = (int(part) for part in clock.split(":"))
    return datetime.combine(day, time(hour, minute))


# Results -------------------------------------------------------------------


def summary(dialog: Dialog, progress: Progress) -> list[SummaryLine]:
    lines: list[SummaryLine] = []
    stage = ""
    for step in dialog.steps:
        # A step whose ask_if no longer holds keeps the answer it had before the choice
        # changed; it is not part of this run.
        if step.kind == "show" or (step.ask_if is not None and not asked(progress, step)):
            continue
        if step.stage and step.stage != stage:
            stage = step.stage
            lines.append(SummaryLine(Msg(stage), None, heading=True))
        if step.kind != "loop":
            if step.id in progress.answers:
                value = shown(dialog, progress, step, progress.answers[step.id])
                lines.append(SummaryLine(Msg(step.label), value))
            continue
        items = _loop_items(dialog, progress, step)
        for index, item in enumerate(items):
            label = _item_label(dialog, progress, step, index)
            lines.append(SummaryLine(label, None))
            for inner in step.steps:
                key = f"{step.id}.{item}.{inner.id}"
                if key in progress.answers:
                    value = shown(dialog, progress, inner, progress.answers[key])
                    lines.append(SummaryLine(Msg(inner.label), value))
    return lines


def commitments(dialog: Dialog, progress: Progress) -> list[CommitmentDraft]:
    drafts: list[CommitmentDraft] = []
    for step in dialog.steps:
        if step.kind != "loop" or step.commitment is None:
            continue
        items = _loop_items(dialog, progress, step)
        for item in items:
            text = progress.answers.get(f"{step.id}.{item}.{step.commitment.text}")
            due = progress.answers.get(f"{step.id}.{item}.{step.commitment.due}")
            if isinstance(text, str) and isinstance(due, str):
                label = _over_label(dialog, progress, step, item) if step.over else None
                context = label if isinstance(label, Msg) else None
                drafts.append(CommitmentDraft(text, date.fromisoformat(due), context))
    return drafts


def wheel_ratings(dialog: Dialog, progress: Progress) -> dict[str, int]:
    """The ratings a dialog's wheel chart shows, by area id."""
    for step in dialog.steps:
        if step.kind == "show":
            return {
                ref: int(progress.answers[ref])
                for ref in step.show_from
                if isinstance(progress.answers.get(ref), int)
            }
    return {}
