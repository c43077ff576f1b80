"""CSV files for coordinators at a terminal: mentees or mentors with their intake answers
into a cohort, and a cohort's pairs out.

The profiles written are exactly what the intake dialogs produce (``intake.mentee_data``
and ``intake.mentor_data``), so matching cannot tell an imported person from one who
answered the intake in Telegram. The vocabularies below are those of the intake dialogs'
options; a test keeps them in step with dialogs/intake_*.yaml.
"""

from __future__ import annotations

import csv
import io
import re
import zoneinfo
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.config import LOCALES
from bot.domain import intake
from bot.domain.cohorts import MembershipStatus, Role
from bot.domain.matching import LANGUAGE_NAMES, TOPIC_LABELS
from bot.domain.spreadsheet import csv_text
from bot.services.profiles import display_name
from bot.storage.models import Cohort, Membership, Pair, Person, Profile

AVAILABILITY = ("weekday_morning", "weekday_day", "weekday_evening", "weekend")
FORMATS = ("chat", "call", "video", "in_person")
GENDERS = ("woman", "man")
YES_NO = ("yes", "no")
STAGES = (1, 4)
YEARS = (0, 70)
CAPACITY = (1, 20)
MAX_TOPICS = 5
TEXT_LIMITS = {"occupation": 800, "decisions": 800, "first_steps": 800, "bio": 600}
NAME_LIMIT = 128  # Person.first_name
TELEGRAM_IDS = (1, 2**63 - 1)  # a BIGINT
MUST = "!"
# Profile keys the intake writes but the person may change in the bot later
# (/pause_mentoring): a re-import leaves their choice alone.
OWN_SETTINGS = ("accepting",)

REQUIRED = ("telegram_id", "first_name", "languages", "timezone")
COMMON = (*REQUIRED, "language", "availability", "formats")
COLUMNS: dict[str, tuple[str, ...]] = {
    Role.MENTEE: (
        *COMMON,
        "occupation",
        "decisions",
        "stage",
        "first_steps",
        "topics",
        "wishes",
        "show_name",
    ),
    Role.MENTOR: (*COMMON, "expertise", "years", "bio", "capacity", "gender"),
}
PAIR_COLUMNS = (
    "pair_id",
    "status",
    "mentee_id",
    "mentee_name",
    "mentor_id",
    "mentor_name",
    "score",
    "created_at",
    "decided_at",
    "ended_at",
    # What the ending forms gather says it goes to the coordinator (and nowhere else).
    "end_reason",
    "mentee_rating",
    "mentee_recommends",
    "mentee_worked",
    "mentor_rating",
    "mentor_recommends",
    "mentor_worked",
)
_DIGITS = re.compile(r"[0-9]+")


class PeopleFileError(ValueError):
    """The file as a whole cannot be read as a list of people: nothing in it is used."""


class UnknownCohort(LookupError):
    def __init__(self, name: str, known: Collection[str]) -> None:
        cohorts = ", ".join(f"'{n}'" for n in known) if known else "none yet"
        super().__init__(f"no cohort named '{name}' (cohorts: {cohorts})")


@dataclass(frozen=True)
class PersonRow:
    """A valid row: the person and their profile, in the shape the intake gives."""

    telegram_id: int
    first_name: str
    language: str | None
    profile: dict[str, Any]


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int

    @property
    def imported(self) -> int:
        return self.added + self.updated


# Reading -------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """The text of a UTF-8 file, with or without the byte order mark spreadsheets write."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PeopleFileError(
            f"line {line} is not UTF-8 text: save the file as UTF-8 CSV"
        ) from None


def parse_people(text: str, role: str) -> tuple[list[PersonRow], list[RowError]]:
    """The valid rows of a CSV of mentees or mentors, and what is wrong with the others
    (possibly several reasons for one line). Blank lines are ignored."""
    if role not in COLUMNS:
        raise ValueError(f"unknown role {role!r}")
    records = _records(text)
    header = next(records, None)
    if header is None:
        raise PeopleFileError("the file is empty")
    columns = _columns(header[1], role)
    zones = {name.lower(): name for name in zoneinfo.available_timezones()}
    rows: list[PersonRow] = []
    errors: list[RowError] = []
    first_line: dict[int, int] = {}
    for line, record in records:
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(columns):
            reason = f"{len(record)} fields, but the header has {len(columns)}"
            errors.append(RowError(line, reason))
            continue
        cells = _Cells(dict(zip(columns, record, strict=True)))
        telegram_id = cells.number("telegram_id", TELEGRAM_IDS, required=True)
        row = _person(cells, telegram_id, role, zones)
        if telegram_id is not None:
            if telegram_id in first_line:
                cells.problems.append(
                    f"telegram_id {telegram_id} is also on line {first_line[telegram_id]}"
                )
            else:
                first_line[telegram_id] = line
        if row is None or cells.problems:
            errors.extend(RowError(line, problem) for problem in cells.problems)
        else:
            rows.append(row)
    return rows, errors


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """The CSV records, each with the line it starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text))
    line = 1
    try:
        for record in reader:
            yield line, record
            line = reader.line_num + 1
    except csv.Error as exc:
        raise PeopleFileError(f"line {reader.line_num}: {exc}") from None


def _columns(header: list[str], role: str) -> list[str]:
    columns = [name.strip().lower() for name in header]
    expected = COLUMNS[role]
    unknown = [name for name in columns if name not in expected]
    if unknown:
        raise PeopleFileError(
            f"line 1: unknown column {', '.join(repr(n) for n in unknown)}; "
            f"the columns of a {role} file are {', '.join(expected)}"
        )
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise PeopleFileError(f"line 1: column {', '.join(repeated)} given more than once")
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise PeopleFileError(f"line 1: required column {', '.join(missing)} is missing")
    return columns


class _Cells:
    """One row's cells, read column by column; what is wrong is collected, not raised."""

    def __init__(self, cells: dict[str, str]) -> None:
        self.cells = cells
        self.problems: list[str] = []

    def _get(self, column: str, required: bool) -> str:
        value = self.cells.get(column, "").strip()
        if not value and required:
            self.problems.append(f"{column} is missing")
        return value

    def text(self, column: str, limit: int, required: bool = False) -> str | None:
        value = self._get(column, required)
        if len(value) > limit:
            self.problems.append(f"{column} is longer than {limit} characters")
        return value or None

    def number(self, column: str, bounds: tuple[int, int], required: bool = False) -> int | None:
        value = self._get(column, required)
        if not value:
            return None
        low, high = bounds
        if not _DIGITS.fullmatch(value):
            self.problems.append(f"{column} '{value}' is not a whole number")
        elif not low <= int(value) <= high:
            self.problems.append(f"{column} {value} is not between {low} and {high}")
        else:
            return int(value)
        return None

    def choice(self, column: str, allowed: Collection[str]) -> str | None:
        value = self._get(column, False).lower()
        if value and value not in allowed:
            self.problems.append(f"{column} '{value}' is not one of {', '.join(allowed)}")
            return None
        return value or None

    def choices(
        self,
        column: str,
        allowed: Collection[str],
        required: bool = False,
        most: int | None = None,
    ) -> list[str]:
        values = _split(self._get(column, required))
        unknown = [value for value in values if value not in allowed]
        if unknown:
            self.problems.append(
                f"{column}: {', '.join(repr(v) for v in unknown)} not among {', '.join(allowed)}"
            )
        if most is not None and len(values) > most:
            self.problems.append(f"{column}: {len(values)} given, at most {most} allowed")
        return values

    def time_zone(self, zones: dict[str, str]) -> str | None:
        value = self._get("timezone", True)
        zone = zones.get(value.lower())
        if value and zone is None:
            self.problems.append(f"timezone '{value}' is not a known time zone")
        return zone


def _split(cell: str) -> list[str]:
    """The values of a ;-separated cell, lower case, each once, in order."""
    return list(dict.fromkeys(part.strip().lower() for part in cell.split(";") if part.strip()))


def _person(
    cells: _Cells, telegram_id: int | None, role: str, zones: dict[str, str]
) -> PersonRow | None:
    first_name = cells.text("first_name", NAME_LIMIT, required=True)
    language = cells.choice("language", LOCALES)
    answers: dict[str, Any] = {
        "languages": cells.choices("languages", LANGUAGE_NAMES, required=True),
        "timezone": cells.time_zone(zones),
        "availability": cells.choices("availability", AVAILABILITY),
        "formats": cells.choices("formats", FORMATS),
    }
    if role == Role.MENTEE:
        answers.update(_mentee_answers(cells))
        profile = intake.mentee_data(answers)
    else:
        answers.update(_mentor_answers(cells))
        profile = intake.mentor_data(answers)
    if cells.problems or telegram_id is None or first_name is None:
        return None
    return PersonRow(telegram_id, first_name, language, profile)


def _mentee_answers(cells: _Cells) -> dict[str, Any]:
    answers: dict[str, Any] = {
        key: cells.text(key, TEXT_LIMITS[key]) for key in ("occupation", "decisions", "first_steps")
    }
    answers["stage"] = cells.number("stage", STAGES)
    answers["topics"] = cells.choices("topics", TOPIC_LABELS, most=MAX_TOPICS)
    wishes: dict[str, bool] = {}
    for value in _split(cells.cells.get("wishes", "")):
        wish = value.removesuffix(MUST).strip()
        if wish not in intake.WISHES:
            cells.problems.append(
                f"wishes: '{wish}' is not one of {', '.join(intake.WISHES)} "
                f"(each optionally followed by {MUST} for a must)"
            )
        wishes[wish] = wishes.get(wish, False) or value.endswith(MUST)
    answers["preferences"] = list(wishes)
    answers.update(
        {f"weight.{wish}.required": "must" if must else "nice" for wish, must in wishes.items()}
    )
    answers["show_name"] = cells.choice("show_name", YES_NO) == "yes"
    return answers


def _mentor_answers(cells: _Cells) -> dict[str, Any]:
    return {
        "expertise": cells.choices("expertise", TOPIC_LABELS),
        "years": cells.number("years", YEARS),
        "bio": cells.text("bio", TEXT_LIMITS["bio"]),
        "capacity": cells.number("capacity", CAPACITY),
        "gender": cells.choice("gender", GENDERS),
    }


# The database --------------------------------------------------------------------


async def _cohort(db: AsyncSession, name: str) -> Cohort:
    cohort = (await db.execute(select(Cohort).where(Cohort.name == name))).scalar_one_or_none()
    if cohort is None:
        known = (await db.execute(select(Cohort.name).order_by(Cohort.name))).scalars()
        raise UnknownCohort(name, list(known))
    return cohort


async def import_people(
    db: AsyncSession, cohort_name: str, role: str, rows: list[PersonRow], now: datetime
) -> ImportResult:
    """Put the people into the cohort as active members of the role, with their profiles;
    someone already in the cohort is brought up to date. All rows or none are stored."""
    cohort = await _cohort(db, cohort_name)
    members = {
        m.person_id: m
        for m in (
            await db.execute(select(Membership).where(Membership.cohort_id == cohort.id))
        ).scalars()
    }
    added = 0
    for row in rows:
        person = await db.get(Person, row.telegram_id)
        if person is None:
            db.add(
                Person(
                    id=row.telegram_id,
                    first_name=row.first_name,
                    language=row.language,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        else:
            person.first_name = row.first_name
            if row.language is not None:
                person.language = row.language
        profile = await db.get(Profile, row.telegram_id)
        if profile is None:
            db.add(Profile(person_id=row.telegram_id, role=role, data=row.profile, updated_at=now))
        else:
            # The answers are replaced; what the person set in the bot since stays.
            kept = profile.data if profile.role == role else {}
            own = {key: kept[key] for key in OWN_SETTINGS if key in kept}
            profile.role, profile.updated_at = role, now
            profile.data = {**kept, **row.profile, **own}
        member = members.get(row.telegram_id)
        if member is None:
            db.add(
                Membership(
                    cohort_id=cohort.id,
                    person_id=row.telegram_id,
                    role=role,
                    status=MembershipStatus.ACTIVE,
                    joined_at=now,
                )
            )
            added += 1
        else:
            member.role, member.status = role, MembershipStatus.ACTIVE
    return ImportResult(added=added, updated=len(rows) - added)


async def export_pairs(db: AsyncSession, cohort_name: str) -> str:
    """The cohort's pairs, every status, as CSV; mentees who chose a pseudonym keep it."""
    cohort = await _cohort(db, cohort_name)
    mentee, mentor = aliased(Person), aliased(Person)
    result = await db.execute(
        select(Pair, mentee, mentor, Profile)
        .join(mentee, mentee.id == Pair.mentee_id)
        .join(mentor, mentor.id == Pair.mentor_id)
        .outerjoin(Profile, Profile.person_id == Pair.mentee_id)
        .where(Pair.cohort_id == cohort.id)
        .order_by(Pair.id)
    )
    return csv_text(
        PAIR_COLUMNS,
        [
            [
                pair.id,
                pair.status,
                mentee_person.id,
                display_name(mentee_person, profile, pair),
                mentor_person.id,
                mentor_person.first_name,
                pair.score,
                _moment(pair.created_at),
                _moment(pair.decided_at),
                _moment(pair.ended_at),
                pair.end_reason or "",
                *_look_back(pair.feedback.get(str(pair.mentee_id))),
                *_look_back(pair.feedback.get(str(pair.mentor_id))),
            ]
            for pair, mentee_person, mentor_person, profile in result.tuples()
        ],
    )


def _look_back(answers: Any) -> list[str]:
    """Rating, would recommend, what worked: one side's look back on an ended pair."""
    if not isinstance(answers, dict):
        return ["", "", ""]
    rating, recommend = answers.get("rating"), answers.get("recommend")
    return [
        str(rating) if isinstance(rating, int) else "",
        "" if recommend is None else ("yes" if recommend else "no"),
        str(answers.get("worked") or ""),
    ]


def _moment(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at is not None else ""
