"""retention: a cohort's purge (and the warning before it), its statistics kept as
aggregates; handled updates keep no content

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

inbox_updates = sa.table(
    "inbox_updates",
    sa.column("payload", sa.JSON()),
    sa.column("person_id", sa.BigInteger()),
    sa.column("handled_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    # Added in place (no rebuild on SQLite: rebuilding cohorts would, with foreign keys
    # on, delete every row that belongs to a cohort).
    with op.batch_alter_table("cohorts", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("retention_warned_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "cohort_statistics",
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("kept_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["cohorts.id"],
            name=op.f("fk_cohort_statistics_cohort_id_cohorts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cohort_id", name=op.f("pk_cohort_statistics")),
    )
    # Updates already handled need nothing of what they said any more.
    op.execute(
        inbox_updates.update()
        .where(inbox_updates.c.handled_at.is_not(None))
        .values(payload={}, person_id=None)
    )


def downgrade() -> None:
    op.drop_table("cohort_statistics")
    with op.batch_alter_table("cohorts", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("purged_at")
        batch_op.drop_column("retention_warned_at")
