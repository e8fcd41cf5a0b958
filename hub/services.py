"""Hub-managed services and their roles: the idle culler (the grader and tutor come later)."""

from __future__ import annotations

import sys

IDLE_CULLER = "idle-culler"

# What jupyterhub-idle-culler needs to find idle servers and stop them; nothing more
# (it does not delete users: --cull-users is off).
IDLE_CULLER_SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]


def idle_culler_service(timeout: int, every: int | None = None) -> dict:
    """The culler as a service the hub starts: stops servers idle for ``timeout`` seconds."""
    every = every or max(60, min(600, timeout // 4))
    return {
        "name": IDLE_CULLER,
        "command": [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={timeout}",
            f"--cull-every={every}",
        ],
    }


def idle_culler_role() -> dict:
    return {
        "name": IDLE_CULLER,
        "description": "Stop notebook servers that have been idle too long",
        "scopes": list(IDLE_CULLER_SCOPES),
        "services": [IDLE_CULLER],
    }
