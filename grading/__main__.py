"""``python -m grading serve`` (the API, with its workers), ``python -m grading worker``
(workers only, e.g. on another machine sharing ``GRADER_DB_URL`` and ``GRADER_ROOT``) and
``python -m grading formgrader <course>`` (nbgrader's formgrader for the course's instructors,
as the hub service ``formgrader-<course>``: ``grading.formgrader``) and ``python -m grading
migrations upgrade|current|check|revision`` (the database's schema: ``servicekit.migrations``;
``serve`` and ``worker`` upgrade it on start).

Metrics (``grading.metrics``) are served by ``serve``'s API, for itself and the workers it
started; the queue's are read from the database, so they include the jobs of workers started
with ``worker`` too, whose own counts (durations, failures, pushes) are not exported."""

from __future__ import annotations

import argparse
import logging
import sys

from grading.settings import Settings
from servicekit.metrics import use_multiprocess_dir
from servicekit.migrations import add_command, run_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grading", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the API and GRADER_WORKERS workers (none when 0)")
    commands.add_parser("worker", help="run GRADER_WORKERS workers (at least one)")
    formgrader = commands.add_parser(
        "formgrader", help="run nbgrader's formgrader of a course as a JupyterHub service"
    )
    formgrader.add_argument("course", help="the course's slug")
    add_command(commands, "grader")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s grader %(levelname)s %(message)s")
    settings = Settings.from_env()
    # Each command imports its own modules only, for their cost: the formgrader's (Jupyter
    # server, nbgrader) and the API's (JupyterHub's service auth) take seconds to import.
    if args.command == "migrations":
        from grading.store import Database

        return run_command(Database, settings.db_url, args)
    elif args.command == "serve":
        # The API and the workers it starts count into one folder, summed by the API's
        # /metrics (grading.metrics); named before anything imports prometheus_client.
        use_multiprocess_dir(settings.metrics_dir)
        from grading.app import serve

        serve(settings)
    elif args.command == "formgrader":
        from grading.formgrader import serve as serve_formgrader

        serve_formgrader(settings, args.course)
    else:
        from grading.worker import run_workers

        run_workers(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
