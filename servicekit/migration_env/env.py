"""Alembic's environment for every hub service's revisions: ``servicekit.migrations`` gives
Alembic the service's Store and an open connection and runs this (on start, and for
``python -m grading migrations`` / ``python -m tutor migrations``)."""

from servicekit.migrations import run_environment

run_environment()
