"""Secrets the LMS cannot start without: in production from the environment (or a file named by
``<NAME>_FILE``, Docker secrets; read by ``environment.LMSEnvironment``), in development
generated once into a file under var/ (never from the repository)."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def required(value: str, what: str) -> str:
    """``value``, which production cannot do without; ``what`` names where it comes from."""
    if not value:
        raise ImproperlyConfigured(f"{what} must be set in production")
    return value


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


def generated_rsa_key(path: Path) -> str:
    """The key in ``path``, generated (owner-readable only) the first time it is asked for."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(new_rsa_private_key(), encoding="utf-8")
    return path.read_text(encoding="utf-8")
