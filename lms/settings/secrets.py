"""Secrets come from the environment, or a file named by ``<NAME>_FILE`` (Docker secrets), and
in development from a file generated once under var/ (never from the repository)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def env_secret(name: str) -> str:
    """The secret ``name`` from the environment or the file ``$<name>_FILE``; '' if neither."""
    if value := os.environ.get(name, ""):
        return value
    if path := os.environ.get(f"{name}_FILE", ""):
        return Path(path).read_text(encoding="utf-8").strip()
    return ""


def required_secret(name: str) -> str:
    value = env_secret(name)
    if not value:
        raise ImproperlyConfigured(f"{name} (or {name}_FILE) must be set in production")
    return value


def _generated_once(path: Path, generate) -> str:
    """The content of ``path``, generated (owner-readable only) the first time it is asked for."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(generate(), encoding="utf-8")
    return path.read_text(encoding="utf-8")


def file_backed_secret(name: str, path: Path) -> str:
    """The environment's value if set; otherwise a random value generated once into ``path``."""
    return env_secret(name) or _generated_once(path, lambda: secrets.token_urlsafe(48)).strip()


def new_rsa_private_key() -> str:
    """A fresh 2048-bit RSA private key in PEM, for signing OIDC ID tokens (RS256)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def file_backed_rsa_key(name: str, path: Path) -> str:
    """The environment's key if set; otherwise a key generated once into ``path``."""
    return env_secret(name) or _generated_once(path, new_rsa_private_key)
