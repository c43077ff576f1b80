"""Babel extractor for dialogs/*.yaml: every text of a dialog becomes a message."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

import yaml
from pydantic import ValidationError

from bot.domain.dialogs import Dialog


def extract_dialogs(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str, str, list[str]]]:
    raw = yaml.safe_load(fileobj.read().decode("utf-8"))
    try:
        dialog = Dialog.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"dialog definition is not valid: {exc}") from exc
    for where, text in dialog.texts():
        yield 0, "", text, [f"{dialog.id}: {where}"]
