"""the coordinators' dashboard: one-time sign-in links and browser sessions, kept as
hashes of their secrets

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_keys",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_dashboard_keys_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_dashboard_keys")),
    )
    op.create_index("ix_dashboard_keys_person_id", "dashboard_keys", ["person_id"], unique=False)
    op.create_index("ix_dashboard_keys_expires_at", "dashboard_keys", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_dashboard_keys_expires_at", table_name="dashboard_keys")
    op.drop_index("ix_dashboard_keys_person_id", table_name="dashboard_keys")
    op.drop_table("dashboard_keys")
