"""The tutor's exchange log: one row per request and the reply the learner got.

Revision 0001, the first: the table as create_all made it from the first tutor's model.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tutor_exchanges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("course", sa.String(length=100), nullable=False),
        sa.Column("assignment", sa.String(length=100), nullable=True),
        sa.Column("learner", sa.String(length=100), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("cell_id", sa.String(length=200), nullable=True),
        sa.Column("error_type", sa.String(length=100), nullable=True),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tutor_exchanges_course", "tutor_exchanges", ["course", "id"])
    op.create_index("ix_tutor_exchanges_learner", "tutor_exchanges", ["learner", "created_at"])
