"""Messenger-neutral text: a message id with values, translated by the adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TypeAlias


def N_(message: str) -> str:
    """Mark a message id for extraction; translation happens when it is rendered."""
    return message


@dataclass(frozen=True)
class Msg:
    """A translatable message id and its named values.

    A ``str`` value is the person's own text: the renderer escapes it and never
    translates it. A ``Msg`` value is translated; a list is joined.
    """

    id: str
    values: dict[str, Value] = field(default_factory=dict)


Value: TypeAlias = "str | int | date | Msg | list[Msg] | list[str]"
