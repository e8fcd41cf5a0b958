"""Hub-managed services and their roles: the idle culler, the grader, and the LMS's own token.

- ``idle-culler``: jupyterhub-idle-culler, started by the hub.
- ``grader`` (``grading/``, ``/services/grader/``): started by the hub (``HUB_GRADER=managed``,
  ``make up``) or running elsewhere (``external``, its own container in production). Learners
  and instructors of every course may call it (``access:services!service=grader``), and their
  servers' API tokens carry that scope, so nbgrader's exchange in JupyterLab reaches it with the
  learner's own token.
- ``lms``: no process, only a hub API token the LMS uses to call the grader for instructors
  (release, regrade, ...). The grader trusts it to act for instructors
  (``GRADER_TRUSTED_SERVICES``); the LMS decides who teaches a course.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping

from hub.courses import instructor_group, learner_group

IDLE_CULLER = "idle-culler"
GRADER = "grader"
LMS = "lms"

# What jupyterhub-idle-culler needs to find idle servers and stop them; nothing more
# (it does not delete users: --cull-users is off).
IDLE_CULLER_SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]

# A learner's server token: JupyterHub's `server` role, plus calling the studio's services
# (the token gets only what its user holds: see grader_users_role).
SERVER_TOKEN_SCOPES = ["users:activity!user", "access:servers!server"]


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


def access_scope(service: str) -> str:
    return f"access:services!service={service}"


def grader_service(url: str, environment: Mapping[str, str] | None = None) -> dict:
    """The grader at ``url`` (as the proxy reaches it). With ``environment`` the hub starts it
    (``python -m grading serve``, with its workers) and stops it with the hub; without, it runs
    elsewhere and only its route and OAuth client are the hub's."""
    service: dict = {"name": GRADER, "url": url, "oauth_no_confirm": True, "display": False}
    if environment is not None:
        service["command"] = [sys.executable, "-m", "grading", "serve"]
        service["environment"] = dict(environment)
    return service


def grader_users_role(slugs: Iterable[str]) -> dict:
    """Learners and instructors of every course may call the grader (it decides what each
    may do there from the same groups)."""
    groups = [
        group
        for slug in sorted(set(slugs))
        for group in (learner_group(slug), instructor_group(slug))
    ]
    return {
        "name": "grader-users",
        "description": "Learners and instructors use the grader (assignments, submissions)",
        "scopes": [access_scope(GRADER)],
        "groups": groups,
    }


def lms_service(api_token: str) -> dict:
    """The LMS's hub token (no process, no URL: the LMS runs beside the hub)."""
    return {"name": LMS, "api_token": api_token, "display": False}


def lms_role() -> dict:
    return {
        "name": "lms-service",
        "description": "The LMS calls the grader for instructors (release, regrade, grades)",
        "scopes": [access_scope(GRADER)],
        "services": [LMS],
    }
