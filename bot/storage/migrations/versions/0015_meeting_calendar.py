"""meeting_calendar: a meeting's calendar event (uid, sequence) and a pair's video link

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-12
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
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


def downgrade() -> None:
    with op.batch_alter_table("pairs") as batch_op:
        batch_op.drop_column("video_link")
    with op.batch_alter_table("meetings") as batch_op:
        batch_op.drop_column("sequence")
        batch_op.drop_column("uid")
