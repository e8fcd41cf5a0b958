"""Hub-managed services and their roles: the idle culler, the grader, the tutor, and the LMS's
own token.

- ``idle-culler``: jupyterhub-idle-culler, started by the hub.
- ``grader`` (``grading/``, ``/services/grader/``): started by the hub (``HUB_GRADER=managed``,
  ``make up``) or running elsewhere (``external``, its own container in production). Learners
  and instructors of every course may call it (``access:services!service=grader``), and their
  servers' API tokens carry that scope, so nbgrader's exchange in JupyterLab reaches it with the
  learner's own token.
- ``tutor`` (``tutor/``, ``/services/tutor/``, docs/tutor.md): started by the hub
  (``HUB_TUTOR=managed``, ``make up``) or running elsewhere (``external``). Learners and
  instructors of every course may call it, with their servers' tokens too (the JupyterLab
  extension's handler sends the learner's own token); it alone holds the model's key.
- ``formgrader-<slug>`` (``grading/formgrader.py``, ``/services/formgrader-<slug>/``): nbgrader's
  formgrader of one course, one per course, started by the hub with a managed grader
  (``python -m grading formgrader <slug>``: JupyterHub's "shared notebook server as a
  service"), else running beside the grader. Only the course's instructors
  (``formgrade-<slug>``) and hub admins may open it. It shows learners' work, so it is on a host
  of its own, ``formgrader-<slug>--service.<hub host>`` (:mod:`hub.origins`); the grader and the
  tutor, which answer only JSON, stay on the hub's host.
- ``lms``: no process, only a hub API token the LMS uses to call the grader for instructors
  (release, regrade, ...) and to read the tutor's summaries and exchanges for its tutor page.
  The grader and the tutor trust it to act for instructors (``GRADER_TRUSTED_SERVICES``,
  ``TUTOR_TRUSTED_SERVICES``); the LMS decides who teaches a course.
- ``prometheus``: no process, only the studio's metrics token (``STUDIO_METRICS_TOKEN``) as a
  hub API token that may read ``/hub/metrics`` (scope ``read:metrics``) and nothing else; the
  LMS, the grader and the tutor accept the same token on their own ``/metrics``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping

from courses.naming import formgrader_service_name, instructor_group, learner_group
from hub.workspaces import SCOPE as WORKSPACES_SCOPE

IDLE_CULLER = "idle-culler"
GRADER = "grader"
TUTOR = "tutor"
LMS = "lms"
PROMETHEUS = "prometheus"

# What jupyterhub-idle-culler needs to find idle servers and stop them; nothing more
# (it does not delete users: --cull-users is off).
IDLE_CULLER_SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]

# A learner's server token: JupyterHub's `server` role, plus calling the studio's services
# (the token gets only what its user holds: see grader_users_role).
SERVER_TOKEN_SCOPES = ["users:activity!user", "access:servers!server"]

# Seconds the hub waits for a service it starts to answer. JupyterHub's default (30 s) is less
# than a formgrader took to start on a loaded two-core machine (32 s), and the hub stops
# altogether when a managed service does not answer in time.
MANAGED_SERVICE_TIMEOUT = 120


def managed(service: dict, command: list[str], environment: Mapping[str, str]) -> dict:
    """``service`` started by the hub: ``command`` with ``environment``, given
    :data:`MANAGED_SERVICE_TIMEOUT` to answer."""
    return {
        **service,
        "command": [sys.executable, *command],
        "environment": dict(environment),
        "timeout": MANAGED_SERVICE_TIMEOUT,
    }


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


def grader_service(url: str, environment: Mapping[str, str] | None = None,
                   api_token: str = "") -> dict:
    """The grader at ``url`` (as the proxy reaches it). With ``environment`` the hub starts it
    (``python -m grading serve``, with its workers) and stops it with the hub; without, it runs
    elsewhere and only its route and OAuth client are the hub's, and ``api_token`` is the
    token it was given (``JUPYTERHUB_API_TOKEN``) to ask the hub who its callers are."""
    service: dict = {"name": GRADER, "url": url, "oauth_no_confirm": True, "display": False}
    if environment is not None:
        return managed(service, ["-m", "grading", "serve"], environment)
    if api_token:
        service["api_token"] = api_token
    return service


def course_groups(slugs: Iterable[str]) -> list[str]:
    """The learners' and the instructors' group of every course."""
    return [
        group
        for slug in sorted(set(slugs))
        for group in (learner_group(slug), instructor_group(slug))
    ]


def grader_users_role(slugs: Iterable[str]) -> dict:
    """Learners and instructors of every course may call the grader (it decides what each
    may do there from the same groups)."""
    return {
        "name": "grader-users",
        "description": "Learners and instructors use the grader (assignments, submissions)",
        "scopes": [access_scope(GRADER)],
        "groups": course_groups(slugs),
    }


def formgrader_service(slug: str, url: str, environment: Mapping[str, str] | None = None) -> dict:
    """nbgrader's formgrader of the course ``slug`` at ``url`` (as the proxy reaches it). With
    ``environment`` the hub starts it (``python -m grading formgrader <slug>``); without, it
    runs beside an external grader. Shown in the hub's services menu to those who may open
    it."""
    service: dict = {
        "name": formgrader_service_name(slug), "url": url, "oauth_no_confirm": True}
    if environment is not None:
        return managed(service, ["-m", "grading", "formgrader", slug], environment)
    return service


def formgrader_role(slug: str) -> dict:
    """Only the course's instructors open its formgrader (hub admins may, as admins)."""
    return {
        "name": formgrader_service_name(slug),
        "description": f"Instructors of {slug} grade by hand in nbgrader's formgrader",
        "scopes": [access_scope(formgrader_service_name(slug))],
        "groups": [instructor_group(slug)],
    }


def tutor_service(url: str, environment: Mapping[str, str] | None = None,
                  api_token: str = "") -> dict:
    """The tutor at ``url`` (as the proxy reaches it). With ``environment`` the hub starts it
    (``python -m tutor serve``) and stops it with the hub; without, it runs elsewhere with
    ``api_token`` as its hub token (as for :func:`grader_service`)."""
    service: dict = {"name": TUTOR, "url": url, "oauth_no_confirm": True, "display": False}
    if environment is not None:
        return managed(service, ["-m", "tutor", "serve"], environment)
    if api_token:
        service["api_token"] = api_token
    return service


def tutor_users_role(slugs: Iterable[str]) -> dict:
    """Learners and instructors of every course may ask the tutor (it decides what each may
    ask and read from the same groups)."""
    return {
        "name": "tutor-users",
        "description": "Learners and instructors ask the AI tutor; instructors read its log",
        "scopes": [access_scope(TUTOR)],
        "groups": course_groups(slugs),
    }


def lms_service(api_token: str) -> dict:
    """The LMS's hub token (no process, no URL: the LMS runs beside the hub)."""
    return {"name": LMS, "api_token": api_token, "display": False}


def lms_role(services: Iterable[str] = (GRADER,)) -> dict:
    """The LMS may call ``services`` (the grader and the tutor, those that run) and nothing
    else."""
    return {
        "name": "lms-service",
        "description": "The LMS calls the grader for instructors (release, regrade, grades) "
        "and reads the tutor's log for its tutor page",
        "scopes": [access_scope(name) for name in services],
        "services": [LMS],
    }


def lms_workspaces_role() -> dict:
    """The LMS shares study groups' workspaces with their members (``hub.workspaces``): one
    custom scope, which only that endpoint honours."""
    return {
        "name": "lms-workspaces",
        "description": "The LMS shares study groups' workspaces with the groups' members",
        "scopes": [WORKSPACES_SCOPE],
        "services": [LMS],
    }


def prometheus_service(api_token: str) -> dict:
    """Prometheus's hub token (no process, no URL): it scrapes ``/hub/metrics`` with it."""
    return {"name": PROMETHEUS, "api_token": api_token, "display": False}


def prometheus_role() -> dict:
    """Prometheus may read the hub's metrics and nothing else."""
    return {
        "name": PROMETHEUS,
        "description": "Prometheus reads the hub's metrics (/hub/metrics)",
        "scopes": ["read:metrics"],
        "services": [PROMETHEUS],
    }
