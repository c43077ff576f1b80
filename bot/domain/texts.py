"""Messenger-neutral text: a message id with values, translated by the adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeAlias


def N_(message: str) -> str:
    """Mark a message id for extraction; translation happens when it is rendered."""
    return message


@dataclass(frozen=True)
class Msg:
    """A translatable message id and its named values.

    A ``str`` value is the person's own text: the renderer escapes it and never
    translates it. A ``Msg`` value is translated; a list is joined. A message with a
    count has a plural id and names the value whose number picks the form.
    """

    id: str
    values: dict[str, Value] = field(default_factory=dict)
    plural: str | None = None
    count: str | None = None


def plural_msg(singular: str, plural: str, count: str, values: dict[str, Value]) -> Msg:
    """A message whose form follows the number ``values[count]`` (the extractor's
    keyword for a singular and a plural id)."""
    return Msg(singular, values, plural, count)


Value: TypeAlias = "str | int | date | Msg | list[Msg] | list[str]"


def msg_to_json(msg: Msg) -> dict[str, Any]:
    """A message kept in the database (an outbox row, a pair's reasons), to be shown later
    in the reader's language."""

    def value(v: Value) -> Any:
        if isinstance(v, Msg):
            return {"msg": msg_to_json(v)}
        if isinstance(v, date):
            return {"date": v.isoformat()}
        if isinstance(v, list):
            return [value(x) for x in v]
        return v

    data: dict[str, Any] = {"id": msg.id, "values": {k: value(v) for k, v in msg.values.items()}}
    if msg.plural is not None:
        data["plural"] = msg.plural
        data["count"] = msg.count
    return data


def msg_from_json(data: dict[str, Any]) -> Msg:
    def value(v: Any) -> Any:
        if isinstance(v, dict) and "msg" in v:
            return msg_from_json(v["msg"])
        if isinstance(v, dict) and "date" in v:
            return date.fromisoformat(v["date"])
        if isinstance(v, list):
            return [value(x) for x in v]
        return v

    # Rows stored before messages had plural forms have neither "plural" nor "count".
    return Msg(
        data["id"],
        {k: value(v) for k, v in data["values"].items()},
        data.get("plural"),
        data.get("count"),
    )
