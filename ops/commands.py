"""Running the tools a backup needs (``pg_dump``, ``pg_restore``, ``psql``, ``docker``): their
failures become :class:`ops.errors.OpsError` sentences with the tool's own last words."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

from ops.errors import OpsError


def run(command: list[str], what: str, stdin: Path | None = None, stdout: Path | None = None,
        timeout: float = 3600) -> str:
    """Run ``command`` (``what`` it does, for the error); its stdout as text unless written to
    the file ``stdout``, its stdin from the file ``stdin``."""
    if shutil.which(command[0]) is None:
        raise OpsError(f"Cannot {what}: {command[0]} is not installed on this machine.")
    with contextlib.ExitStack() as files:
        source = files.enter_context(stdin.open("rb")) if stdin else subprocess.DEVNULL
        sink = files.enter_context(stdout.open("wb")) if stdout else subprocess.PIPE
        try:
            result = subprocess.run(  # noqa: S603 - a fixed tool, arguments from the studio
                command, stdin=source, stdout=sink, stderr=subprocess.PIPE, timeout=timeout,
                check=False)
        except subprocess.TimeoutExpired:
            raise OpsError(
                f"Cannot {what}: {command[0]} did not finish within {timeout:.0f} s.") from None
    if result.returncode != 0:
        words = result.stderr.decode(errors="replace").strip().splitlines()
        said = words[-1] if words else f"exit status {result.returncode}"
        raise OpsError(f"Cannot {what}: {command[0]} said: {said}")
    return "" if stdout else result.stdout.decode(errors="replace")
