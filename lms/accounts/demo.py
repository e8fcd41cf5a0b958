"""Demo accounts for ``make up``: an admin, an instructor and two learners, with random
passwords generated once and kept under var/secrets (never in the repository)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from .models import Role, User

DEMO_PEOPLE = (
    ("admin", Role.STAFF, "Ada", "Admin"),
    ("instructor", Role.INSTRUCTOR, "Ines", "Instructor"),
    ("learner1", Role.LEARNER, "Lea", "Learner"),
    ("learner2", Role.LEARNER, "Leo", "Learner"),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    password: str


def demo_passwords_file() -> Path:
    return Path(settings.VAR_DIR) / "secrets" / "demo-accounts.json"


def _passwords(path: Path) -> dict[str, str]:
    known = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    missing = [name for name, *_ in DEMO_PEOPLE if name not in known]
    if missing:
        known.update({name: secrets.token_urlsafe(9) for name in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(known, indent=2), encoding="utf-8")
    return known


@transaction.atomic
def ensure_demo_accounts() -> list[DemoAccount]:
    """Create the demo accounts if missing and (re)set their passwords to the stored ones."""
    passwords = _passwords(demo_passwords_file())
    accounts = []
    for username, role, first, last in DEMO_PEOPLE:
        user, _ = User.objects.get_or_create(
            username=username,
            defaults={"role": role, "first_name": first, "last_name": last,
                      "email": f"{username}@studio.example"},
        )
        user.is_superuser = role == Role.STAFF
        user.set_password(passwords[username])
        user.save()
        accounts.append(DemoAccount(username, role, passwords[username]))
    return accounts
