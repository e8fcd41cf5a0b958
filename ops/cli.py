"""The command line of ``python -m ops`` (see :mod:`ops.__main__`)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from ops.archive import archive_path, backup, restore, verify
from ops.errors import OpsError
from ops.settings import OpsSettings
from ops.stacks import REPO_ROOT, compose_stack, local_stack
from servicekit.settings import SettingError


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m ops", description="Back up and restore the studio's state.")
    commands = top.add_subparsers(dest="command", required=True)
    made = commands.add_parser("backup", help="archive the studio's state")
    made.add_argument("path", nargs="?",
                      help="the archive, or a folder for it (default var/backups)")
    back = commands.add_parser("restore", help="restore an archive into a fresh studio")
    back.add_argument("archive", type=Path)
    back.add_argument("--force", action="store_true",
                      help="replace what the studio already holds")
    check = commands.add_parser("verify", help="check an archive's checksums")
    check.add_argument("archive", type=Path)
    for command in (made, back):
        command.add_argument("--compose", action="store_true",
                             help="the docker-compose.yml stack instead of make up's studio")
        command.add_argument("--env-file", type=Path, default=REPO_ROOT / ".env",
                             help="the compose stack's env file (default .env)")
        command.add_argument("--project", default="", help="the compose project's name")
        command.add_argument("--image", default="",
                             help="a local image with tar for learners' volumes "
                                  "(default HUB_IMAGE, pls-notebook)")
    return top


def stack_of(args: argparse.Namespace):
    if args.compose:
        return compose_stack(args.env_file, args.project, image=args.image)
    return local_stack(image=args.image)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "verify":
            manifest = verify(args.archive)
            print(f"{args.archive}: {len(manifest['items'])} items, every checksum matches "
                  f"(made {manifest['created']} of {manifest['stack']}).")
        elif args.command == "backup":
            stack = stack_of(args)
            now = dt.datetime.now(dt.UTC)
            destination = archive_path(args.path, OpsSettings.from_env().backups_dir, now)
            print(f"Backing up {stack.name} into {destination}")
            for note in stack.notes:
                print(f"  {note}")
            backup(stack, destination)
            print(f"Backup written: {destination}")
        else:
            stack = stack_of(args)
            print(f"Restoring {args.archive} into {stack.name}")
            manifest = restore(args.archive, stack, force=args.force)
            print(f"Restored {len(manifest['items'])} items made {manifest['created']} of "
                  f"{manifest['stack']}; start the studio now.")
    except (OpsError, SettingError) as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 1
    return 0

