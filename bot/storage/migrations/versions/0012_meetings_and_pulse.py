"""meetings in calendars and the relationship pulse: a meeting's calendar event (uid,
sequence), a pair's video link, and each side's answers to the pulse

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-12
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Meetings set before this have no event yet: their next change starts one.
    with op.batch_alter_table("meetings") as batch_op:
        batch_op.add_column(sa.Column("uid", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("pairs") as batch_op:
        batch_op.add_column(sa.Column("video_link", sa.Text(), nullable=True))
    op.create_table(
        "pulse_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("useful", sa.Integer(), nullable=True),
        sa.Column("regular", sa.String(length=12), nullable=True),
        sa.ForeignKeyConstraint(
            ["pair_id"],
            ["pairs.id"],
            name=op.f("fk_pulse_answers_pair_id_pairs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_pulse_answers_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_answers")),
        sa.UniqueConstraint("pair_id", "person_id", "round", name=op.f("uq_pulse_answers_pair_id")),
    )
    op.create_index("ix_pulse_answers_person_id", "pulse_answers", ["person_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_pulse_answers_person_id", table_name="pulse_answers")
    op.drop_table("pulse_answers")
    with op.batch_alter_table("pairs") as batch_op:
        batch_op.drop_column("video_link")
    with op.batch_alter_table("meetings") as batch_op:
        batch_op.drop_column("sequence")
        batch_op.drop_column("uid")
