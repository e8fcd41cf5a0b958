"""``python -m tutor serve``: the tutor's API (the hub starts it as the service ``tutor``
with ``HUB_TUTOR=managed``, or it runs in a container of its own); ``python -m tutor migrations
upgrade|current|check|revision``: the database's schema (``servicekit.migrations``; ``serve``
upgrades it on start)."""

from __future__ import annotations

import argparse
import logging
import sys

from servicekit.migrations import add_command, run_command
from tutor.settings import Settings
from tutor.store import ExchangeLog


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the tutor's HTTP API until SIGTERM")
    add_command(commands, "tutor")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s tutor %(levelname)s %(message)s")
    if args.command == "migrations":
        return run_command(ExchangeLog, Settings.from_env().db_url, args)
    for chatty in ("httpx2", "httpx", "openai", "alembic"):  # the exchange line says enough
        logging.getLogger(chatty).setLevel(logging.WARNING)
    from tutor.app import serve

    serve(Settings.from_env())
    return 0


if __name__ == "__main__":
    sys.exit(main())
