"""The gradebook's state of each submission when its grade was recorded.

Revision 0002, after 0001. What nbgrader's gradebook held for a submission when the grader last
recorded its grade: instructors' manual grades are noticed by the difference.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grader_gradebook_states",
        sa.Column("submission_id", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["grader_submissions.id"]),
        sa.PrimaryKeyConstraint("submission_id"),
    )
