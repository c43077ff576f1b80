"""CSV files the bot writes, made safe to open in a spreadsheet: a cell that starts like a
formula (``=``, ``+``, ``-``, ``@``, or a tab or carriage return before one) is written
with a leading apostrophe, so the spreadsheet shows it as text instead of running it. Every
CSV the bot writes goes through ``csv_text``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: object) -> object:
    """A cell as written: text that a spreadsheet would take for a formula is made text;
    numbers and everything else are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The table as CSV text, lines ended as RFC 4180 says (CRLF): then a carriage return
    or a line break inside a cell has it quoted, where a lone line feed would not."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([defuse(cell) for cell in header])
    writer.writerows([defuse(cell) for cell in row] for row in rows)
    return out.getvalue()
