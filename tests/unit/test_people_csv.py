"""People in and pairs out as CSV: parsing, the database on SQLite and PostgreSQL, the CLI."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain import intake
from bot.domain.dialogs import Dialog
from bot.domain.matching import LANGUAGE_NAMES, TOPIC_LABELS
from bot.services import people_csv as pc
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import Cohort, Membership, Pair, Person, Profile
from tests.conftest import TEST_KEYRING
from tests.forkserver import ForkServer

# Storage: on both databases.
pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
COHORT = "Spring 2027"
MENTEE_HEADER = (
    "telegram_id,first_name,language,languages,timezone,availability,formats,"
    "occupation,decisions,stage,first_steps,topics,wishes,show_name"
)
MENTEE_ROW = (
    "101,Anna,lv,lv;en,Europe/Riga,weekday_evening;weekend,chat;video,"
    'Designer,"Slowly, with lists",2,Find a direction,career;growth,woman!;in_person,yes'
)
MENTOR_HEADER = (
    "telegram_id,first_name,languages,timezone,availability,formats,expertise,years,bio,"
    "capacity,gender"
)
MENTOR_ROW = "201,Ilze,lv,Europe/Riga,weekend,video,career;leadership,12,I lead teams,2,woman"


def csv_text(*lines: str) -> str:
    return "\n".join(lines) + "\n"


# The vocabularies --------------------------------------------------------------


def test_the_vocabularies_are_those_of_the_intake_dialogs(dialogs: dict[str, Dialog]) -> None:
    mentee = {s.id: s for s in dialogs[intake.MENTEE_INTAKE].steps}
    mentor = {s.id: s for s in dialogs[intake.MENTOR_INTAKE].steps}

    assert {o.value for o in mentee["topics"].options} == set(TOPIC_LABELS)
    assert {o.value for o in mentor["expertise"].options} == set(TOPIC_LABELS)
    assert mentee["topics"].max_choices == pc.MAX_TOPICS
    for steps in (mentee, mentor):
        assert {o.value for o in steps["languages"].options} == set(LANGUAGE_NAMES)
        assert {o.value for o in steps["availability"].options} == set(pc.AVAILABILITY)
        assert {o.value for o in steps["formats"].options} == set(pc.FORMATS)
    assert {o.value for o in mentee["preferences"].options} == set(intake.WISHES)
    assert {o.value for o in mentee["stage"].options} == {
        str(n) for n in range(pc.STAGES[0], pc.STAGES[1] + 1)
    }
    assert {o.value for o in mentor["gender"].options} == set(pc.GENDERS)
    assert (mentor["years"].min, mentor["years"].max) == pc.YEARS
    assert (mentor["capacity"].min, mentor["capacity"].max) == pc.CAPACITY
    for key, limit in pc.TEXT_LIMITS.items():
        assert (mentee | mentor)[key].max_length == limit


# Parsing -------------------------------------------------------------------------


def test_a_mentee_row_gives_the_profile_the_intake_gives() -> None:
    rows, errors = pc.parse_people(csv_text(MENTEE_HEADER, MENTEE_ROW), "mentee")
    assert errors == []
    assert rows == [
        pc.PersonRow(
            101,
            "Anna",
            "lv",
            intake.mentee_data(
                {
                    "occupation": "Designer",
                    "decisions": "Slowly, with lists",
                    "stage": "2",
                    "first_steps": "Find a direction",
                    "topics": ["career", "growth"],
                    "languages": ["lv", "en"],
                    "timezone": "Europe/Riga",
                    "availability": ["weekday_evening", "weekend"],
                    "formats": ["chat", "video"],
                    "preferences": ["woman", "in_person"],
                    "weight.woman.required": "must",
                    "weight.in_person.required": "nice",
                    "show_name": True,
                }
            ),
        )
    ]
    assert rows[0].profile["preferences"] == [
        {"wish": "woman", "required": True},
        {"wish": "in_person", "required": False},
    ]


def test_a_mentor_row_gives_the_profile_the_intake_gives() -> None:
    rows, errors = pc.parse_people(csv_text(MENTOR_HEADER, MENTOR_ROW), "mentor")
    assert errors == []
    assert rows == [
        pc.PersonRow(
            201,
            "Ilze",
            None,
            {
                "expertise": ["career", "leadership"],
                "years": 12,
                "bio": "I lead teams",
                "languages": ["lv"],
                "timezone": "Europe/Riga",
                "availability": ["weekend"],
                "formats": ["video"],
                "capacity": 2,
                "gender": "woman",
                "accepting": True,
            },
        )
    ]


def test_only_the_required_columns_are_needed_and_values_are_forgiven_case() -> None:
    text = csv_text(
        " Telegram_ID ,first_name,languages,timezone",
        "7,Jānis, LV ; en;;lv ,europe/riga",
    )
    rows, errors = pc.parse_people(text, "mentee")
    assert errors == []
    (row,) = rows
    assert row.first_name == "Jānis" and row.language is None
    assert row.profile["languages"] == ["lv", "en"]
    assert row.profile["timezone"] == "Europe/Riga"
    assert row.profile["stage"] == 1 and row.profile["show_name"] is False
    assert row.profile["preferences"] == [] and row.profile["occupation"] is None


MENTEE_MISTAKES = [
    ("telegram_id", "abc", "telegram_id 'abc' is not a whole number"),
    ("telegram_id", "-5", "telegram_id '-5' is not a whole number"),
    ("telegram_id", "0", "telegram_id 0 is not between 1 and"),
    ("telegram_id", "", "telegram_id is missing"),
    ("first_name", "", "first_name is missing"),
    ("first_name", "x" * 129, "first_name is longer than 128 characters"),
    ("language", "de", "language 'de' is not one of en, lv, ru"),
    ("languages", "", "languages is missing"),
    ("languages", "lv;xx", "languages: 'xx' not among lv, en, ru"),
    ("timezone", "Mars/Base", "timezone 'Mars/Base' is not a known time zone"),
    ("timezone", "", "timezone is missing"),
    ("availability", "nights", "availability: 'nights' not among weekday_morning"),
    ("formats", "carrier_pigeon", "formats: 'carrier_pigeon' not among chat"),
    ("occupation", "x" * 801, "occupation is longer than 800 characters"),
    ("stage", "5", "stage 5 is not between 1 and 4"),
    ("stage", "two", "stage 'two' is not a whole number"),
    ("topics", "career;gardening", "topics: 'gardening' not among"),
    ("topics", "career;health;home;fun;growth;studies", "topics: 6 given, at most 5 allowed"),
    ("wishes", "tall!", "wishes: 'tall' is not one of woman, man, in_person, experienced"),
    ("show_name", "maybe", "show_name 'maybe' is not one of yes, no"),
]
MENTOR_MISTAKES = [
    ("expertise", "knitting", "expertise: 'knitting' not among"),
    ("years", "71", "years 71 is not between 0 and 70"),
    ("years", "1.5", "years '1.5' is not a whole number"),
    ("bio", "x" * 601, "bio is longer than 600 characters"),
    ("capacity", "0", "capacity 0 is not between 1 and 20"),
    ("capacity", "21", "capacity 21 is not between 1 and 20"),
    ("gender", "other", "gender 'other' is not one of woman, man"),
]


def with_cell(header: str, row: str, column: str, value: str) -> str:
    cells = next(csv.reader([row]))
    cells[header.split(",").index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


@pytest.mark.parametrize(
    ("role", "column", "value", "reason"),
    [("mentee", *m) for m in MENTEE_MISTAKES] + [("mentor", *m) for m in MENTOR_MISTAKES],
)
def test_each_mistake_is_reported_with_its_line_and_the_row_skipped(
    role: str, column: str, value: str, reason: str
) -> None:
    header, good = (MENTEE_HEADER, MENTEE_ROW) if role == "mentee" else (MENTOR_HEADER, MENTOR_ROW)
    bad = with_cell(header, good, column, value)
    if column != "telegram_id":
        bad = with_cell(header, bad, "telegram_id", "999")
    rows, errors = pc.parse_people(csv_text(header, good, "", bad), role)
    assert [r.telegram_id for r in rows] == [int(good.split(",")[0])]
    assert len(errors) == 1, errors
    assert errors[0].line == 4
    assert errors[0].reason.startswith(reason), errors[0].reason
    assert str(errors[0]) == f"line 4: {errors[0].reason}"


def test_every_mistake_of_a_row_is_reported() -> None:
    text = csv_text("telegram_id,first_name,languages,timezone,stage", "x,,fi,Mars/Base,9")
    rows, errors = pc.parse_people(text, "mentee")
    assert rows == []
    assert [str(e) for e in errors] == [
        "line 2: telegram_id 'x' is not a whole number",
        "line 2: first_name is missing",
        "line 2: languages: 'fi' not among lv, en, ru, pl, el, bg, de",
        "line 2: timezone 'Mars/Base' is not a known time zone",
        "line 2: stage 9 is not between 1 and 4",
    ]


def test_a_repeated_person_and_a_wrong_number_of_fields_are_reported() -> None:
    text = csv_text(
        "telegram_id,first_name,languages,timezone",
        "5,Anna,lv,UTC",
        '6,"Multi',
        'line name",lv,UTC',
        "5,Anna again,lv,UTC",
        "7,Too,many,fields,here",
        "8,Few",
    )
    rows, errors = pc.parse_people(text, "mentee")
    assert [(r.telegram_id, r.first_name) for r in rows] == [(5, "Anna"), (6, "Multi\nline name")]
    assert [str(e) for e in errors] == [
        "line 5: telegram_id 5 is also on line 2",
        "line 6: 5 fields, but the header has 4",
        "line 7: 2 fields, but the header has 4",
    ]


@pytest.mark.parametrize(
    ("text", "role", "problem"),
    [
        ("", "mentee", "the file is empty"),
        ("telegram_id,first_name,languages,timezone,years\n", "mentee", "unknown column 'years'"),
        ("telegram_id,first_name,timezone\n", "mentor", "required column languages is missing"),
        (
            "telegram_id,first_name,languages,timezone,bio,Bio\n",
            "mentor",
            "column bio given more than once",
        ),
    ],
)
def test_a_file_that_is_not_a_people_list_is_refused_whole(
    text: str, role: str, problem: str
) -> None:
    with pytest.raises(pc.PeopleFileError, match=problem):
        pc.parse_people(text, role)


def test_text_that_is_not_utf8_names_its_line() -> None:
    assert pc.decode("\ufefftelegram_id\n".encode()) == "telegram_id\n"
    with pytest.raises(pc.PeopleFileError, match="line 2 is not UTF-8"):
        pc.decode("telegram_id\n1,Jānis\n".encode("cp1257"))


# The database --------------------------------------------------------------------


async def add_cohort(db_engine: AsyncEngine, name: str = COHORT) -> int:
    async with create_sessionmaker(db_engine)() as db:
        cohort = Cohort(name=name, mode="coordinator", created_by=1, created_at=NOW, settings={})
        db.add(cohort)
        await db.commit()
        return cohort.id


async def test_people_are_imported_into_the_cohort(db_engine: AsyncEngine) -> None:
    cohort_id = await add_cohort(db_engine)
    sessions = create_sessionmaker(db_engine)
    async with sessions() as db:
        db.add(Person(id=101, first_name="Old", language="en", created_at=NOW, last_seen_at=NOW))
        db.add(Person(id=102, first_name="Kārlis", language="lv", created_at=NOW, last_seen_at=NOW))
        await db.commit()
    mentees, errors = pc.parse_people(
        csv_text(MENTEE_HEADER, MENTEE_ROW, "102,Kārlis,,en,Europe/London,,,,,,,,,"), "mentee"
    )
    mentors, _ = pc.parse_people(csv_text(MENTOR_HEADER, MENTOR_ROW), "mentor")
    assert errors == [] and len(mentees) == 2
    async with sessions() as db:
        assert await pc.import_people(db, COHORT, "mentee", mentees, NOW) == pc.ImportResult(2, 0)
        assert await pc.import_people(db, COHORT, "mentor", mentors, NOW) == pc.ImportResult(1, 0)
        await db.commit()
    async with sessions() as db:
        people = {p.id: p for p in (await db.execute(select(Person))).scalars()}
        assert {i: (p.first_name, p.language) for i, p in people.items()} == {
            101: ("Anna", "lv"),  # the language given replaces the old one
            102: ("Kārlis", "lv"),  # none given: their own choice stays
            201: ("Ilze", None),
        }
        members = (await db.execute(select(Membership).order_by(Membership.person_id))).scalars()
        assert [(m.cohort_id, m.person_id, m.role, m.status) for m in members] == [
            (cohort_id, 101, "mentee", "active"),
            (cohort_id, 102, "mentee", "active"),
            (cohort_id, 201, "mentor", "active"),
        ]
        anna = await db.get(Profile, 101)
        ilze = await db.get(Profile, 201)
        assert anna is not None and ilze is not None
        assert (anna.role, anna.data) == ("mentee", mentees[0].profile)
        assert (ilze.role, ilze.data) == ("mentor", mentors[0].profile)
        intake.as_mentee(101, anna.data, NOW)  # matching can read what was stored
        intake.as_mentor(201, ilze.data, 2, NOW)


async def test_importing_again_updates_instead_of_adding(db_engine: AsyncEngine) -> None:
    await add_cohort(db_engine)
    sessions = create_sessionmaker(db_engine)
    first, _ = pc.parse_people(csv_text(MENTOR_HEADER, MENTOR_ROW), "mentor")
    async with sessions() as db:
        await pc.import_people(db, COHORT, "mentor", first, NOW)
        await db.commit()
        profile = await db.get(Profile, 201)
        assert profile is not None
        # Since then, the mentor paused taking mentees and picked whom to talk to.
        profile.data = {**profile.data, "accepting": False, "talking_to": 3}
        await db.commit()
    again, _ = pc.parse_people(
        csv_text(MENTOR_HEADER, MENTOR_ROW.replace("Ilze", "Ilze B.").replace(",2,", ",4,")),
        "mentor",
    )
    async with sessions() as db:
        assert await pc.import_people(db, COHORT, "mentor", again, NOW) == pc.ImportResult(0, 1)
        await db.commit()
    async with sessions() as db:
        assert await db.scalar(select(func.count()).select_from(Membership)) == 1
        assert await db.scalar(select(func.count()).select_from(Person)) == 1
        person = await db.get(Person, 201)
        profile = await db.get(Profile, 201)
        assert person is not None and profile is not None
        assert person.first_name == "Ilze B."
        assert profile.data == {**again[0].profile, "accepting": False, "talking_to": 3}
        assert profile.data["capacity"] == 4


async def test_an_unknown_cohort_is_refused(db_engine: AsyncEngine) -> None:
    await add_cohort(db_engine)
    rows, _ = pc.parse_people(csv_text(MENTOR_HEADER, MENTOR_ROW), "mentor")
    async with create_sessionmaker(db_engine)() as db:
        with pytest.raises(pc.UnknownCohort, match=r"no cohort named 'Autumn' \(cohorts: 'Spr"):
            await pc.import_people(db, "Autumn", "mentor", rows, NOW)
        with pytest.raises(pc.UnknownCohort):
            await pc.export_pairs(db, "Autumn")
    async with create_sessionmaker(db_engine)() as db:
        assert await db.scalar(select(func.count()).select_from(Person)) == 0


def pair(
    cohort_id: int, mentee_id: int, status: str, score: int, decided_at: datetime | None = None
) -> Pair:
    return Pair(
        cohort_id=cohort_id,
        mentee_id=mentee_id,
        mentor_id=201,
        status=status,
        score=score,
        reasons=[],
        created_at=NOW,
        decided_at=decided_at,
    )


async def test_pairs_are_exported_with_the_mentees_pseudonyms(db_engine: AsyncEngine) -> None:
    cohort_id = await add_cohort(db_engine)
    other_id = await add_cohort(db_engine, "Other")
    mentees, _ = pc.parse_people(
        csv_text(MENTEE_HEADER, MENTEE_ROW, MENTEE_ROW.replace("101,Anna", "102,Rita")[:-3] + "no"),
        "mentee",
    )
    mentors, _ = pc.parse_people(csv_text(MENTOR_HEADER, MENTOR_ROW), "mentor")
    sessions = create_sessionmaker(db_engine)
    async with sessions() as db:
        await pc.import_people(db, COHORT, "mentee", mentees, NOW)
        await pc.import_people(db, COHORT, "mentor", mentors, NOW)
        shown = pair(cohort_id, 101, "active", 87, decided_at=NOW.replace(hour=10))
        hidden = pair(cohort_id, 102, "proposed", 55)
        db.add_all([shown, hidden, pair(other_id, 102, "proposed", 1)])
        await db.commit()
    async with sessions() as db:
        text = await pc.export_pairs(db, COHORT)
    assert list(csv.reader(io.StringIO(text))) == [
        list(pc.PAIR_COLUMNS),
        [str(shown.id), "active", "101", "Anna", "201", "Ilze", "87"]
        + ["2026-11-25T09:00:00+00:00", "2026-11-25T10:00:00+00:00", ""]
        + [""] * 7,
        [str(hidden.id), "proposed", "102", f"#{hidden.id}", "201", "Ilze", "55"]
        + ["2026-11-25T09:00:00+00:00", "", ""]
        + [""] * 7,
    ]


# The command ---------------------------------------------------------------------


def mentorbot(
    forks: ForkServer, tmp_path: Path, url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    # The test's folder is the data directory: the first `db upgrade` makes the file there.
    return forks.run(args, {**env, "DATABASE_URL": url, "DATA_DIR": str(tmp_path)}, tmp_path)


async def test_the_command_imports_reports_and_exports(
    tmp_path: Path, forkserver: ForkServer
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    assert mentorbot(forkserver, tmp_path, url, "db", "upgrade").returncode == 0
    engine = create_engine(url, TEST_KEYRING)
    await add_cohort(engine)
    await engine.dispose()
    people = tmp_path / "people.csv"
    people.write_text(
        csv_text(MENTEE_HEADER, MENTEE_ROW, MENTEE_ROW.replace("Europe/Riga", "Mars/Base")),
        encoding="utf-8-sig",
    )

    done = mentorbot(
        forkserver, tmp_path, url, "import", str(people), "--cohort", COHORT, "--role", "mentee"
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "line 3: timezone 'Mars/Base' is not a known time zone",
        "line 3: telegram_id 101 is also on line 2",
    ]
    assert done.stdout == "imported 1, skipped 1 (1 new, 0 updated)\n"

    people.write_text(csv_text(MENTEE_HEADER, MENTEE_ROW.replace("lv;en", "xx")))
    none = mentorbot(
        forkserver, tmp_path, url, "import", str(people), "--cohort", COHORT, "--role", "mentee"
    )
    assert none.returncode == 1
    assert none.stdout.startswith("imported 0, skipped 1")

    unknown = mentorbot(
        forkserver, tmp_path, url, "import", str(people), "--cohort", "Nope", "--role", "mentee"
    )
    assert unknown.returncode == 2
    assert unknown.stderr == f"mentorbot: no cohort named 'Nope' (cohorts: '{COHORT}')\n"

    wrong_role = mentorbot(
        forkserver, tmp_path, url, "import", str(people), "--cohort", COHORT, "--role", "mentor"
    )
    assert wrong_role.returncode == 2
    assert wrong_role.stderr.startswith(f"mentorbot: {people}: line 1: unknown column 'occupation'")

    out = tmp_path / "pairs.csv"
    exported = mentorbot(
        forkserver, tmp_path, url, "export", "pairs", "--cohort", COHORT, "--out", str(out)
    )
    assert exported.returncode == 0, exported.stderr
    assert out.read_text() == ",".join(pc.PAIR_COLUMNS) + "\n"
    stdout = mentorbot(forkserver, tmp_path, url, "export", "pairs", "--cohort", COHORT)
    assert (stdout.returncode, stdout.stdout) == (0, out.read_text())
