"""The grader's first tables: releases, submissions and the job queue.

Revision 0001, the first: the tables as create_all made them from the first grader's models.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grader_releases",
        sa.Column("course", sa.String(length=100), nullable=False),
        sa.Column("assignment", sa.String(length=100), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late_policy", sa.JSON(), nullable=False),
        sa.Column("notebooks", sa.JSON(), nullable=False),
        sa.Column("feedback_auto", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("course", "assignment"),
    )
    op.create_table(
        "grader_submissions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("course", sa.String(length=100), nullable=False),
        sa.Column("assignment", sa.String(length=100), nullable=False),
        sa.Column("learner", sa.String(length=100), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("max_score", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=False),
        sa.Column("files_path", sa.Text(), nullable=False),
        sa.Column("feedback_path", sa.Text(), nullable=True),
        sa.Column("feedback_released", sa.Boolean(), nullable=False),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_grader_submissions_owner", "grader_submissions", ["course", "assignment", "learner"]
    )
    op.create_table(
        "grader_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("submission_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["grader_submissions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_grader_jobs_open", "grader_jobs", ["done_at", "run_after", "id"])
    op.create_index("ix_grader_jobs_submission_id", "grader_jobs", ["submission_id"])
