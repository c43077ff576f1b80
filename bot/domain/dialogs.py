"""Coaching dialog definitions: the schema of dialogs/*.yaml and its loader.

Texts in a definition are gettext message ids (English source text); the
adapter translates them. Validation happens once, at start-up, and an error
names the file and the step.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.domain.consent import ConsentKind

StepKind = Literal[
    "text",
    "scale",
    "number",
    "choice",
    "multi",
    "date",
    "time",
    "confirm",
    "timezone",
    "loop",
    "show",
]
# Coaching dialogs are the person's own sessions (in /history); intake and forms
# feed the programme and are started by the bot, not by a command of their own.
DialogKind = Literal["coaching", "intake", "form"]
# Who may start and finish a dialog (the access policy's roles, bot/domain/access.py).
DialogRole = Literal["everyone", "stranger", "mentee", "mentor", "coordinator", "operator"]

# libyaml's loader where PyYAML was built with it (its wheels are): the same documents,
# read some ten times faster than by the pure-Python one.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Option values travel in callback data (64 bytes at most), so they stay short.
_VALUE = re.compile(r"^[a-z0-9_]{1,16}$")
_STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class DialogError(ValueError):
    """A dialog definition that cannot be used; the message names file and step."""


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str
    label: str

    @model_validator(mode="after")
    def _short_value(self) -> Option:
        if not _VALUE.match(self.value):
            raise ValueError(f"option value {self.value!r} must match {_VALUE.pattern}")
        return self


class LoopOptions(BaseModel):
    """Options made from the person's own answers in an earlier loop."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    loop: str
    text: str


class Commitment(BaseModel):
    """Which answers of each loop iteration become a followed-up commitment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    due: str


class AskIf(BaseModel):
    """A step asked only when an earlier choice was answered with one of ``among``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: str
    among: tuple[str, ...] = Field(min_length=1)


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: StepKind
    prompt: str = ""
    hint: str = ""
    label: str = ""
    stage: str = ""
    optional: bool = False
    # Said once the run moves on from this (top-level) step, before the next question: a
    # short reflection of the person's own words, ``{step_id}`` standing for an answer.
    recap: str = ""
    ask_if: AskIf | None = None
    # The consent its answer needs (bot/domain/consent.py): sensitive answers such as a
    # mood or the Wheel's ratings.
    consent: ConsentKind | None = None
    # text
    min_length: int = Field(default=1, ge=1)
    max_length: int = Field(default=1000, ge=1, le=3500)
    # scale
    min: int = 1
    max: int = 10
    # choice and multi
    options: tuple[Option, ...] = ()
    options_from_steps: tuple[str, ...] = ()
    options_from_loop: LoopOptions | None = None
    min_choices: int = 1
    max_choices: int | None = None
    preselect_lowest: int = 0
    # The prompt instead when every rated option has the same rating: there is no
    # "weakest", so nothing is preselected either.
    even_prompt: str = ""
    # loop
    steps: tuple[Step, ...] = ()
    count_min: int = 1
    count_max: int = 1
    over: str = ""
    more_prompt: str = ""
    item_label: str = ""
    commitment: Commitment | None = None
    # date: a month's calendar to pick the day from, besides the shortcuts
    calendar: bool = False
    # show
    show: Literal["", "wheel_chart"] = ""
    show_from: tuple[str, ...] = ()
    # How to read what is shown, said with it (in a picture's caption, so briefly).
    reading: str = Field(default="", max_length=600)

    @model_validator(mode="after")
    def _consistent(self) -> Step:
        if not _STEP_ID.match(self.id):
            raise ValueError(f"step id {self.id!r} must match {_STEP_ID.pattern}")
        asks = self.kind not in ("loop", "show")
        if asks and not self.prompt:
            raise ValueError("a question step needs a prompt")
        if asks and not self.label:
            raise ValueError("a question step needs a label (its name in the summary)")
        if self.kind == "scale" and not self.min < self.max <= 20:
            raise ValueError("a scale needs min < max <= 20")
        if self.kind == "number" and not self.min < self.max:
            raise ValueError("a number needs min < max")
        if self.kind == "text" and self.min_length > self.max_length:
            raise ValueError("min_length is above max_length")
        if self.kind in ("choice", "multi"):
            sources = sum(
                [bool(self.options), bool(self.options_from_steps), bool(self.options_from_loop)]
            )
            if sources != 1:
                raise ValueError(
                    "a choice needs exactly one of options, options_from_steps, options_from_loop"
                )
        if self.kind == "multi":
            top = self.max_choices if self.max_choices is not None else 99
            if not 0 <= self.min_choices <= top or top < 1:
                raise ValueError("multi needs 0 <= min_choices <= max_choices and max_choices >= 1")
            if self.preselect_lowest > top:
                raise ValueError("preselect_lowest is above max_choices")
        if self.even_prompt and not self.preselect_lowest:
            raise ValueError("even_prompt needs preselect_lowest")
        if self.reading and self.kind != "show":
            raise ValueError("only a show step has a reading")
        if self.kind == "loop":
            if not self.steps:
                raise ValueError("a loop needs steps")
            if any(s.kind == "loop" for s in self.steps):
                raise ValueError("loops do not nest")
            if not self.item_label:
                raise ValueError("a loop needs an item_label")
            if not self.over:
                if not 1 <= self.count_min <= self.count_max:
                    raise ValueError("a loop needs 1 <= count_min <= count_max")
                if self.count_max > self.count_min and not self.more_prompt:
                    raise ValueError("a loop with a variable count needs a more_prompt")
            if self.commitment:
                inner = {s.id: s.kind for s in self.steps}
                if inner.get(self.commitment.text) != "text":
                    raise ValueError("commitment.text must name a text step of the loop")
                if inner.get(self.commitment.due) != "date":
                    raise ValueError("commitment.due must name a date step of the loop")
        if self.kind == "show" and not (self.show and self.show_from):
            raise ValueError("a show step needs show and show_from")
        if self.consent is not None and not asks:
            raise ValueError("only a question's answer can need a consent")
        if any(s.consent is not None for s in self.steps):
            raise ValueError("a step inside a loop cannot need a consent")
        if any(s.recap or s.ask_if for s in self.steps):
            raise ValueError("only a top-level step has a recap or an ask_if")
        return self


class Dialog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: DialogKind = "coaching"
    command: str | None = None
    roles: tuple[DialogRole, ...] = Field(min_length=1)
    title: str
    intro: str
    outro: str
    steps: tuple[Step, ...]

    @model_validator(mode="after")
    def _references(self) -> Dialog:
        if (self.kind == "coaching") != (self.command is not None):
            raise ValueError("a coaching dialog has a command; intake and forms have none")
        seen: dict[str, Step] = {}
        for step in self.steps:
            _check_references(step, seen)
            seen[step.id] = step
            for inner in step.steps:
                if inner.id in seen:
                    raise ValueError(f"step {inner.id!r}: duplicate step id")
        return self

    def consent_steps(self) -> dict[str, ConsentKind]:
        """The steps whose answers need a consent, with that consent."""
        return {s.id: s.consent for s in self.steps if s.consent is not None}

    def consents(self) -> tuple[ConsentKind, ...]:
        """The consents its steps need, in their order."""
        return tuple(dict.fromkeys(self.consent_steps().values()))

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def texts(self) -> Iterator[tuple[str, str]]:
        """(where, message id) for every translatable text, for the catalog extractor."""
        for name in ("title", "intro", "outro"):
            yield name, getattr(self, name)
        for step in self.steps:
            yield from _step_texts(step)


def _check_references(step: Step, seen: dict[str, Step]) -> None:
    def fail(message: str) -> None:
        raise ValueError(f"step {step.id!r}: {message}")

    if step.id in seen:
        fail("duplicate step id")
    for ref in (*step.options_from_steps, *step.show_from):
        if ref not in seen or seen[ref].kind != "scale":
            fail(f"{ref!r} must name an earlier scale step")
    for ref in step.options_from_steps:
        if not _VALUE.match(ref):
            fail(f"{ref!r} is used as an option value and must match {_VALUE.pattern}")
    if step.options_from_loop:
        loop = seen.get(step.options_from_loop.loop)
        if loop is None or loop.kind != "loop" or loop.over:
            fail("options_from_loop.loop must name an earlier counted loop")
        elif step.options_from_loop.text not in {s.id for s in loop.steps}:
            fail("options_from_loop.text must name a step of that loop")
    if step.over:
        source = seen.get(step.over)
        if source is None or source.kind != "multi":
            fail(f"over={step.over!r} must name an earlier multi step")
    if step.preselect_lowest and not step.options_from_steps:
        fail("preselect_lowest needs options_from_steps")
    if step.ask_if:
        source = seen.get(step.ask_if.step)
        if source is None or source.kind != "choice" or not source.options:
            fail("ask_if.step must name an earlier choice step with options")
        elif set(step.ask_if.among) - {o.value for o in source.options}:
            fail("ask_if.among must be values of that choice")
    for ref in recap_refs(step.recap):
        source = step if ref == step.id else seen.get(ref)
        if source is None or source.kind in ("loop", "show"):
            fail(f"recap: {{{ref}}} must name this or an earlier question step")
        elif source.optional or source.consent is not None or source.ask_if is not None:
            fail(f"recap: {{{ref}}} must name a step that is always answered")


def recap_refs(template: str) -> list[str]:
    """The step ids a recap quotes (its ``{placeholders}``)."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def _step_texts(step: Step) -> Iterator[tuple[str, str]]:
    for name in (
        "prompt",
        "hint",
        "label",
        "stage",
        "more_prompt",
        "item_label",
        "recap",
        "even_prompt",
        "reading",
    ):
        text = getattr(step, name)
        if text:
            yield f"{step.id}.{name}", text
    for option in step.options:
        yield f"{step.id}.{option.value}", option.label
    for inner in step.steps:
        yield from _step_texts(inner)


def load_dialog(path: Path) -> Dialog:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise DialogError(f"{path.name}: not valid YAML: {exc}") from exc
    try:
        return Dialog.model_validate(raw)
    except ValidationError as exc:
        raise DialogError(f"{path.name}: {_describe(raw, exc)}") from exc


def _describe(raw: object, exc: ValidationError) -> str:
    """Name the step (by id) where pydantic's location only has list indexes."""
    parts = []
    for error in exc.errors():
        where: list[str] = []
        node: object = raw
        for key in error["loc"]:
            if isinstance(node, dict):
                node = node.get(key)
            elif isinstance(node, list) and isinstance(key, int) and key < len(node):
                node = node[key]
            else:
                node = None
            if isinstance(node, dict) and "id" in node and isinstance(key, int):
                where.append(f"step {node['id']!r}")
        place = " > ".join(where) or ".".join(str(k) for k in error["loc"]) or "dialog"
        parts.append(f"{place}: {error['msg']}")
    return "; ".join(parts)


def load_dialogs(directory: Path) -> dict[str, Dialog]:
    dialogs: dict[str, Dialog] = {}
    for path in sorted(directory.glob("*.yaml")):
        dialog = load_dialog(path)
        if dialog.id in dialogs:
            raise DialogError(f"{path.name}: dialog id {dialog.id!r} is used twice")
        dialogs[dialog.id] = dialog
    if not dialogs:
        raise DialogError(f"{directory}: no dialog definitions found")
    return dialogs
