"""The study groups' shared notebook workspaces, as the LMS asks the hub for them.

Each group's workspace is the server of a hub user of its own
(``courses.naming.study_group_workspace_user``), with its own volume, shared with the group's
members through JupyterHub's sharing API. The hub exposes one narrow endpoint for this
(``hub.workspaces``, under ``/hub/api/studio/workspaces/<group id>``), which only the LMS's hub
service may call (the custom scope ``custom:studio-workspaces``): the LMS cannot share any other
server, nor reach anything else of the hub's with it.

- ``grant``: the member gets the share (access to the workspace's server); the hub creates the
  workspace's user on first use.
- ``revoke``: the share is deleted and the member's tokens for the workspace are revoked; the
  hub restarts a running workspace so that an open tab of theirs loses it within seconds.
- ``start``: the workspace's server, started if it is not running; its URL.

Membership changes call ``grant`` and ``revoke`` once committed (``lms.groups.services``); a
hub that cannot be reached is logged and the change stays made in the LMS: ``sync`` (the
``sync_group_workspaces`` command) puts the hub's shares back in step with the memberships.
Settings: ``LMS_HUB_API_URL`` (empty: no workspaces, and nothing is sent), ``LMS_HUB_API_TIMEOUT``
and ``LMS_HUB_SERVICE_TOKEN``.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from django.conf import settings

from lms.base.service_client import (
    ServiceClient,
    ServiceError,
    ServiceNotConfigured,
    ServiceRefused,
    ServiceUnavailable,
)

log = logging.getLogger(__name__)


class WorkspaceError(ServiceError):
    """The hub could not do what was asked of a workspace; ``message`` says why, for a person."""


class WorkspaceNotConfigured(WorkspaceError, ServiceNotConfigured):
    pass


class WorkspaceUnavailable(WorkspaceError, ServiceUnavailable):
    pass


class WorkspaceRefused(WorkspaceError, ServiceRefused):
    pass


class HubWorkspaces(ServiceClient):
    service = "hub"
    url_setting = "LMS_HUB_API_URL"
    timeout_setting = "LMS_HUB_API_TIMEOUT"
    without_service = "study groups have no shared notebook workspace"
    without_credentials = "share the study groups' workspaces"
    NotConfigured = WorkspaceNotConfigured
    Unavailable = WorkspaceUnavailable
    Refused = WorkspaceRefused

    def _path(self, group_id: int, rest: str = "") -> str:
        return f"studio/workspaces/{int(group_id)}{rest}"

    def grant(self, group_id: int, username: str) -> dict:
        return self.json("PUT", self._path(group_id, f"/members/{quote(username, safe='')}"))

    def revoke(self, group_id: int, username: str) -> dict:
        return self.json("DELETE", self._path(group_id, f"/members/{quote(username, safe='')}"))

    def sync(self, group_id: int, usernames: list[str]) -> dict:
        return self.json("PUT", self._path(group_id, "/members"), {"members": sorted(usernames)})

    def start(self, group_id: int) -> dict:
        return self.json("POST", self._path(group_id, "/server"))


def enabled() -> bool:
    return HubWorkspaces.is_configured()


def _client(acting_for: str) -> HubWorkspaces:
    return HubWorkspaces.for_user(acting_for)


def grant(group_id: int, username: str) -> None:
    """Share group ``group_id``'s workspace with ``username`` (after a join or an assignment)."""
    if not enabled():
        return
    try:
        _client(username).grant(group_id, username)
    except WorkspaceError as error:
        log.error("Could not share group %s's workspace with %s: %s", group_id, username,
                  error.message)


def revoke(group_id: int, username: str) -> None:
    """Take ``username``'s share of group ``group_id``'s workspace (after leaving, removal or
    the group's deletion: the id, since a deleted group has none)."""
    if not enabled():
        return
    try:
        _client(username).revoke(group_id, username)
    except WorkspaceError as error:
        log.error("Could not revoke %s's share of group %s's workspace: %s (run "
                  "sync_group_workspaces)", username, group_id, error.message)


def sync(group, usernames: list[str]) -> None:
    """The hub's shares of ``group``'s workspace made exactly ``usernames`` (raises)."""
    _client("lms").sync(group.pk, usernames)


def open_url(group, username: str) -> str | None:
    """The workspace's URL for a member once its server is ready; None while it is still
    starting (the hub gives a spawn 10 s before it answers). Raises :class:`WorkspaceError`
    with a sentence for the member."""
    answer = _client(username).start(group.pk)
    url = answer.get("url") if isinstance(answer, dict) else None
    if isinstance(answer, dict) and answer.get("ready") is False:
        return None
    if isinstance(url, str) and url.startswith("/"):
        return settings.STUDIO_HUB_URL.rstrip("/") + url
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return url  # the hub routes each user's server to a host of its own (hub.origins)
    raise HubWorkspaces.unreadable()
