"""Secrets from the environment, and secrets generated once into a file.

Production passes every secret in the environment, or as a file named by ``NAME_FILE`` (Docker
secrets). ``make up`` generates the secrets two parts share once, into ``var/secrets/``, and
hands each part the file's name.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path


def env_secret(name: str, environ: Mapping[str, str] | None = None) -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE``; '' if neither is set."""
    env = os.environ if environ is None else environ
    value = env.get(name, "").strip()
    if value:
        return value
    path = env.get(f"{name}_FILE", "").strip()
    return Path(path).read_text(encoding="utf-8").strip() if path else ""


def generated_secret(path: Path, nbytes: int = 32) -> str:
    """The hex secret stored in ``path``, created (mode 0600) on first use."""
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(nbytes)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its secret
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value
