"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.models import Base

# Storage: on both databases.
pytestmark = pytest.mark.postgres


async def test_migrated_schema_matches_the_models(db_engine: AsyncEngine) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection)
        return list(compare_metadata(context, Base.metadata))

    async with db_engine.connect() as connection:
        diff = await connection.run_sync(differences)
    assert diff == []
