"""Who is asking: the hub identifies the caller, the hub groups say what they are in a course.

Identification is JupyterHub's own ``HubOAuth``: ``Authorization: token <hub API token>`` (a
learner's server sends its ``JUPYTERHUB_API_TOKEN`` through the JupyterLab extension's server
handler) or the OAuth cookie a browser got from the service's ``oauth_callback``. The token must
carry ``access:services!service=tutor`` (the hub grants it to the courses' people and puts it in
their servers' tokens); without it the caller is refused with 403.

Course roles are nbgrader's JupyterHub convention, mirrored by the LMS into hub groups at each
login: ``nbgrader-<course>`` learners, ``formgrade-<course>`` instructors; hub admins teach every
course, and so do the hub services named in ``TUTOR_TRUSTED_SERVICES`` (the LMS, whose tutor page
reads the course's exchanges). Nothing else grants anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jupyterhub.services.auth import HubOAuth

from courses.naming import instructor_group, learner_group

HUB_CACHE_SECONDS = 60  # how long the hub's answer for a token (groups included) is reused


@dataclass(frozen=True)
class Caller:
    """A hub user (or service) the hub vouched for."""

    name: str
    kind: str = "user"
    admin: bool = False
    groups: frozenset[str] = frozenset()
    trusted: bool = False
    """A hub service the tutor trusts to act for instructors (``TUTOR_TRUSTED_SERVICES``)."""

    @classmethod
    def from_hub_model(
        cls, model: Mapping[str, Any], trusted_services: frozenset[str] = frozenset()
    ) -> Caller:
        kind = str(model.get("kind", "user"))
        name = str(model["name"])
        return cls(
            name=name,
            kind=kind,
            admin=bool(model.get("admin", False)),
            groups=frozenset(model.get("groups") or ()),
            trusted=kind == "service" and name in trusted_services,
        )

    def learns(self, course: str) -> bool:
        return self.kind == "user" and learner_group(course) in self.groups

    def teaches(self, course: str) -> bool:
        if self.trusted:
            return True
        if self.kind != "user":
            return False
        return self.admin or instructor_group(course) in self.groups

    def belongs_to(self, course: str) -> bool:
        return self.learns(course) or self.teaches(course)

    @property
    def may_ask(self) -> bool:
        """Only people ask the tutor; a service (even a trusted one) only reads the log."""
        return self.kind == "user"


def hub_auth(service_name: str) -> HubOAuth:
    """JupyterHub's ``HubOAuth`` configured from the environment the hub gives a service
    (``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_SERVICE_PREFIX``, ...);
    callers need the access scope of the service, also when the hub did not say so."""
    auth = HubOAuth(cache_max_age=HUB_CACHE_SECONDS)
    if not auth.access_scopes:
        auth.access_scopes = {f"access:services!service={service_name}"}
    return auth
