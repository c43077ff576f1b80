"""Every CSV the bot writes keeps a cell that looks like a formula from being one."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from bot.domain.spreadsheet import csv_text, defuse

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "cell",
    ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1"],
)
def test_a_cell_that_starts_like_a_formula_is_written_as_text(cell: str) -> None:
    written = csv_text(["name"], [[cell]])
    (header, (read,)) = list(csv.reader(io.StringIO(written, newline="")))
    assert header == ["name"]
    assert read == "'" + cell


def test_other_cells_are_written_as_they_are() -> None:
    rows = [["Anna", 3, -4, None, "a=b", "Ben <&>"]]
    read = list(csv.reader(io.StringIO(csv_text(["a", "b", "c", "d", "e", "f"], rows), newline="")))
    assert read[1] == ["Anna", "3", "-4", "", "a=b", "Ben <&>"]
    assert defuse(-4) == -4


def test_no_csv_is_written_but_through_the_one_function() -> None:
    writers = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "bot").rglob("*.py")
        if re.search(r"csv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8"))
    ]
    assert writers == ["bot/domain/spreadsheet.py"]
