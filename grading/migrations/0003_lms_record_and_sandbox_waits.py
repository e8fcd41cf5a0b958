"""The LMS's record of a grade, a failure's details, a job's waits for the sandbox.

Revision 0003, after 0002. On each submission the grade as the LMS recorded it and a failed
grading's details for admins; on each job its waits for an unavailable sandbox. Before the
revisions, servicekit added these columns to existing tables with ALTER TABLE ... ADD COLUMN, as
here.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in (
        sa.Column("lms_status", sa.String(length=20), nullable=True),
        sa.Column("lms_score", sa.Float(), nullable=True),
        sa.Column("lms_max_score", sa.Float(), nullable=True),
        sa.Column("lms_late", sa.Boolean(), nullable=True),
        sa.Column("lms_late_penalty", sa.Float(), nullable=True),
        sa.Column("lms_final_score", sa.Float(), nullable=True),
        sa.Column("lms_counts", sa.Boolean(), nullable=True),
        sa.Column("lms_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_id", sa.String(length=16), nullable=True),
        sa.Column("error_details", sa.Text(), nullable=True),
    ):
        op.add_column("grader_submissions", column)
    op.add_column(
        "grader_jobs", sa.Column("waits", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "grader_jobs", sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True)
    )
