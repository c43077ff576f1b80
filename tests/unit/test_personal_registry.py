"""The registry of where the database holds a person knows every table that does: a table
with a column that refers to a person, and no entry, fails here (and so would be neither
erased nor in the person's copy of their data)."""

from __future__ import annotations

import re

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, MetaData, Table

from bot.storage.models import Base
from bot.storage.personal import NOT_A_PERSON, REGISTRY

# Names of columns that hold a person's Telegram id, whatever the table.
PERSON_NAMES = re.compile(r"^(person_id|chat_id|.*_by|mentee_id|mentor_id|coordinator_id)$")


def person_columns(metadata: MetaData) -> set[tuple[str, str]]:
    """Columns that hold a person's id: a foreign key to people, or a name that says so."""
    found = set()
    for table in metadata.tables.values():
        for column in table.columns:
            refers = any(fk.column.table.name == "people" for fk in column.foreign_keys)
            if refers or PERSON_NAMES.match(column.name) or table.name == "people":
                found.add((table.name, column.name))
    found.discard(("people", "first_name"))
    return {c for c in found if c[0] != "people" or c[1] == "id"}


def unregistered(metadata: MetaData) -> set[tuple[str, str]]:
    registered = {(ref.table, column) for ref in REGISTRY for column in ref.columns}
    return person_columns(metadata) - registered - set(NOT_A_PERSON)


def test_every_column_that_refers_to_a_person_is_registered() -> None:
    missing = unregistered(Base.metadata)
    assert missing == set(), f"not in bot/storage/personal.py's REGISTRY: {sorted(missing)}"


def test_what_is_registered_exists() -> None:
    for ref in REGISTRY:
        columns = Base.metadata.tables[ref.table].columns
        assert all(name in columns for name in ref.columns), ref
    for table, column in NOT_A_PERSON:
        assert column in Base.metadata.tables[table].columns


def test_a_table_with_a_person_and_no_entry_is_found() -> None:
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    Table(
        "reflections",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("person_id", BigInteger, ForeignKey("people.id")),
        Column("withdrawn_by", BigInteger),
    )
    assert unregistered(metadata) == {("reflections", "person_id"), ("reflections", "withdrawn_by")}
