"""anonymous polls and quiz games: whether a poll is anonymous and the totals Telegram
reports for each of its polls; a game of several quiz questions, its players and each
question asked of each player with their answer

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("polls") as batch_op:
        batch_op.add_column(
            sa.Column("anonymous", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("poll_deliveries") as batch_op:
        batch_op.add_column(sa.Column("totals", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("voters", sa.Integer(), nullable=True))
    op.create_table(
        "quiz_games",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("board_to_players", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["cohorts.id"],
            name=op.f("fk_quiz_games_cohort_id_cohorts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_games")),
    )
    op.create_table(
        "quiz_players",
        sa.Column("game_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("person_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["game_id"],
            ["quiz_games.id"],
            name=op.f("fk_quiz_players_game_id_quiz_games"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_quiz_players_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("game_id", "person_id", name=op.f("pk_quiz_players")),
    )
    op.create_table(
        "quiz_plays",
        sa.Column("telegram_poll_id", sa.String(length=64), nullable=False),
        sa.Column("game_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("option", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["game_id"],
            ["quiz_games.id"],
            name=op.f("fk_quiz_plays_game_id_quiz_games"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_quiz_plays_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("telegram_poll_id", name=op.f("pk_quiz_plays")),
    )
    op.create_index(op.f("ix_quiz_plays_game_id"), "quiz_plays", ["game_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_quiz_plays_game_id"), table_name="quiz_plays")
    op.drop_table("quiz_plays")
    op.drop_table("quiz_players")
    op.drop_table("quiz_games")
    with op.batch_alter_table("poll_deliveries") as batch_op:
        batch_op.drop_column("voters")
        batch_op.drop_column("totals")
    with op.batch_alter_table("polls") as batch_op:
        batch_op.drop_column("anonymous")
