"""``python -m tutor serve``: the tutor's API (the hub starts it as the service ``tutor``
with ``HUB_TUTOR=managed``, or it runs in a container of its own)."""

from __future__ import annotations

import argparse
import logging
import sys

from tutor.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the tutor's HTTP API until SIGTERM")
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s tutor %(levelname)s %(message)s")
    for chatty in ("httpx2", "httpx", "openai", "alembic"):  # the exchange line says enough
        logging.getLogger(chatty).setLevel(logging.WARNING)
    from tutor.app import serve

    serve(Settings.from_env())
    return 0


if __name__ == "__main__":
    sys.exit(main())
