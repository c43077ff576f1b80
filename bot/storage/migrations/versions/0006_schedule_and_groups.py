"""regular check-ins, digests, stale and recurring outbox rows, meetings, Telegram groups

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("checkin_weekday", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("checkin_hour", sa.Integer(), nullable=False, server_default="10")
        )
        batch_op.add_column(
            sa.Column("checkins_stopped", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("digest_daily", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stale_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("series", sa.String(length=96), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_outbox_series"), ["series"])
        batch_op.create_index("ix_outbox_person_id_sent_at", ["person_id", "sent_at"])
        batch_op.create_index("ix_outbox_kind_status_person_id", ["kind", "status", "person_id"])
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pair_id"], ["pairs.id"], name=op.f("fk_meetings_pair_id_pairs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    op.create_index(op.f("ix_meetings_pair_id"), "meetings", ["pair_id"], unique=False)
    op.create_table(
        "telegram_groups",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=True),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["cohorts.id"],
            name=op.f("fk_telegram_groups_cohort_id_cohorts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_telegram_groups")),
    )


def downgrade() -> None:
    op.drop_table("telegram_groups")
    op.drop_index(op.f("ix_meetings_pair_id"), table_name="meetings")
    op.drop_table("meetings")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_kind_status_person_id")
        batch_op.drop_index("ix_outbox_person_id_sent_at")
        batch_op.drop_constraint(batch_op.f("uq_outbox_series"), type_="unique")
        batch_op.drop_column("series")
        batch_op.drop_column("stale_at")
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("digest_daily")
        batch_op.drop_column("checkins_stopped")
        batch_op.drop_column("checkin_hour")
        batch_op.drop_column("checkin_weekday")
