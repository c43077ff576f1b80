"""coordinators are those of their cohorts (no global flag); invite links can be revoked

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

invites = sa.table(
    "invites",
    sa.column("role", sa.String()),
    sa.column("uses", sa.Integer()),
    sa.column("max_uses", sa.Integer()),
    sa.column("revoked_at", sa.DateTime(timezone=True)),
)
people = sa.table("people", sa.column("id", sa.BigInteger()), sa.column("is_coordinator"))
cohort_coordinators = sa.table("cohort_coordinators", sa.column("person_id", sa.BigInteger()))


def upgrade() -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    # Coordinator links made before could be used any number of times, for ever: those
    # not used up are revoked (a coordinator mints a new one, for one person, with
    # /invite). Who coordinates what is in cohort_coordinators already (a redeemed
    # coordinator link added its row), so the global flag goes without moving anything.
    op.execute(
        invites.update()
        .where(
            invites.c.role == "coordinator",
            sa.or_(invites.c.max_uses.is_(None), invites.c.uses < invites.c.max_uses),
        )
        .values(revoked_at=datetime.now(UTC))
    )
    # Not rebuilt on SQLite (ALTER TABLE ... DROP COLUMN, SQLite 3.35+): rebuilding the
    # people table would drop it, and with foreign keys on that deletes every row that
    # refers to a person.
    with op.batch_alter_table("people", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("is_coordinator")


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("is_coordinator", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        people.update()
        .where(people.c.id.in_(sa.select(cohort_coordinators.c.person_id)))
        .values(is_coordinator=sa.true())
    )
    with op.batch_alter_table("invites", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("revoked_at")
