"""Who is calling a hub service: the hub identifies the caller, the hub groups say what they are
in a course.

Identification is JupyterHub's own ``HubOAuth``: a request's ``Authorization: token <hub API
token>`` header (a learner's server sends its ``JUPYTERHUB_API_TOKEN``), or the OAuth cookie a
browser got from the service's ``oauth_callback``. The hub answers with the user's name, admin
flag and groups; the token must also carry ``access:services!service=<name>`` (the hub grants
it; without it the caller is refused with 403).

Course roles follow nbgrader's JupyterHub convention (``courses.naming``), which the LMS mirrors
into hub groups at each login: ``nbgrader-<course>`` for learners, ``formgrade-<course>`` for
instructors; hub admins are instructors of every course, and so are the hub services the
service trusts (``GRADER_TRUSTED_SERVICES``, ``TUTOR_TRUSTED_SERVICES``: the LMS, which decides
who teaches and acts for them). Nothing else grants anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jupyterhub.services.auth import HubOAuth

from courses.naming import course_roles, instructor_group, learner_group

HUB_CACHE_SECONDS = 60  # how long a token's answer from the hub (groups included) is reused


@dataclass(frozen=True)
class Caller:
    """A hub user (or service) the hub vouched for."""

    name: str
    kind: str = "user"
    admin: bool = False
    groups: frozenset[str] = frozenset()
    trusted: bool = False
    """A hub service trusted to act for the instructors of every course."""

    @classmethod
    def from_hub_model(
        cls, model: Mapping[str, Any], trusted_services: frozenset[str] = frozenset()
    ) -> Caller:
        """The caller the hub's answer (``/hub/api/user``) describes."""
        kind = str(model.get("kind", "user"))
        name = str(model["name"])
        return cls(
            name=name,
            kind=kind,
            admin=bool(model.get("admin", False)),
            groups=frozenset(model.get("groups") or ()),
            trusted=kind == "service" and name in trusted_services,
        )

    @property
    def is_person(self) -> bool:
        """A hub user, not a hub service (even a trusted one)."""
        return self.kind == "user"

    def learns(self, course: str) -> bool:
        return self.is_person and learner_group(course) in self.groups

    def teaches(self, course: str) -> bool:
        if self.trusted:
            return True
        if not self.is_person:
            return False
        return self.admin or instructor_group(course) in self.groups

    def belongs_to(self, course: str) -> bool:
        return self.learns(course) or self.teaches(course)

    def courses(self) -> dict[str, str]:
        """The courses the caller's groups name: slug -> ``learner`` or ``instructor`` (an
        instructor who is also in the learners' group is an instructor)."""
        if not self.is_person:
            return {}
        return dict(sorted(course_roles(self.groups).items()))


def hub_auth(service_name: str) -> HubOAuth:
    """JupyterHub's ``HubOAuth`` configured from the environment the hub gives a service
    (``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_SERVICE_PREFIX``,
    ``JUPYTERHUB_CLIENT_ID``, ``JUPYTERHUB_OAUTH_CALLBACK_URL``, ...); callers need the access
    scope of the service, also when the hub did not say so."""
    auth = HubOAuth(cache_max_age=HUB_CACHE_SECONDS)
    if not auth.access_scopes:
        auth.access_scopes = {f"access:services!service={service_name}"}
    return auth
