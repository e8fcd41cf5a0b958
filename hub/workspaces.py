"""The study groups' shared notebook workspaces: the hub's one narrow endpoint for the LMS.

A group's workspace is the default server of a hub user of its own,
``courses.naming.study_group_workspace_user`` (``studygroup--<group id>``): its own volume (the
spawner names volumes by user), no course group (so no materials, no released assignments, and
no right to the grader or the tutor: a server's token gets only what its user holds, and this
user holds nothing but its own server), and the learner profile's limits. It is shared with the
group's members through JupyterHub's sharing (``orm.Share``, what ``/hub/api/shares/...`` writes),
granted and revoked as the LMS says membership changes.

Only a caller holding the custom scope :data:`SCOPE` (the LMS's hub service, ``hub.services``)
reaches these handlers, and they act only on workspace users: the LMS cannot share anybody
else's server, create other users, or use the hub's sharing API itself.

- ``PUT  /hub/api/studio/workspaces/<id>/members/<username>``: share with a member (the
  workspace's user, and the member's hub user if they never signed in, are created);
- ``DELETE …/members/<username>``: revoke at once: the share is deleted, the member's OAuth
  tokens for the workspace's server are deleted (JupyterHub's revocation of a share deletes
  neither them nor the server's open connections), and a running workspace is restarted, so an
  open tab of theirs loses its kernel and collaboration connections and, having no token, cannot
  come back; the other members' open tabs lose the workspace too (a started server has a new
  cookie secret and OAuth client) and are back once they open it again, through the hub's OAuth;
- ``PUT  …/members`` with ``{"members": [...]}``: the shares made exactly these members;
- ``POST …/server``: the workspace's server, started if it is not running: ``{"url", "ready"}``.

Registered with ``JupyterHub.extra_handlers`` (``hub.config.configure_workspaces``): the handlers
need the hub's database (shares, tokens) and its spawner, which a separate service could reach
only with far wider scopes than this endpoint grants.
"""

from __future__ import annotations

import asyncio
import json

from jupyterhub import orm
from jupyterhub.apihandlers.base import APIHandler
from tornado import web

from courses.naming import is_reserved_username, is_username, study_group_workspace_user

SCOPE = "custom:studio-workspaces"
_restarts: set[asyncio.Task] = set()  # the background starts, kept until done
SCOPE_DESCRIPTION = (
    "Share study groups' workspaces (studygroup--<id> users' servers) with their members, "
    "revoke those shares and start the workspaces"
)
PREFIX = r"/api/studio/workspaces/(\d+)"


def custom_scopes() -> dict:
    return {SCOPE: {"description": SCOPE_DESCRIPTION}}


class _WorkspaceHandler(APIHandler):
    def check_caller(self) -> None:
        if self.current_user is None:
            raise web.HTTPError(403, "Missing or invalid credentials.")
        if not self.has_scope(SCOPE):
            raise web.HTTPError(403, "Only the LMS manages study groups' workspaces.")

    def owner(self, group_id: str):
        """The workspace's hub user (created on first use, in no group, with no role)."""
        return self.user_from_username(study_group_workspace_user(int(group_id)))

    def member(self, username: str, *, create: bool):
        if not is_username(username) or is_reserved_username(username):
            raise web.HTTPError(400, f"{username!r} is not a learner's username.")
        if create:
            return self.user_from_username(username)
        return self.find_user(username)

    def shared_names(self, spawner) -> list[str]:
        return sorted(s.user.name for s in spawner.shares if s.user is not None)

    def grant(self, owner, member) -> None:
        orm.Share.grant(self.db, owner.spawners[""].orm_spawner, member.orm_user)

    async def revoke(self, owner, member) -> bool:
        """Delete ``member``'s share and tokens of the workspace; True when they had any."""
        spawner = owner.spawners[""]
        share = orm.Share.find(self.db, spawner.orm_spawner, member.orm_user)
        if share is not None:
            self.db.delete(share)
        tokens = []
        if spawner.oauth_client_id:
            tokens = (
                self.db.query(orm.APIToken)
                .filter_by(user_id=member.id, client_id=spawner.oauth_client_id)
                .all()
            )
            for token in tokens:
                self.db.delete(token)
        self.db.commit()
        return share is not None or bool(tokens)

    async def restart(self, owner) -> None:
        """Stop a running workspace and start it again in the background: every open
        connection to it is cut; members open it again, a revoked one cannot."""
        spawner = owner.spawners[""]
        if not spawner.active or spawner.pending:
            return
        await self.stop_single_user(owner, "")
        task = asyncio.ensure_future(self._start_quietly(owner))
        _restarts.add(task)
        task.add_done_callback(_restarts.discard)

    async def _start_quietly(self, owner) -> None:
        try:
            await self.spawn_single_user(owner)
        except Exception:  # logged: the next member who opens it starts it again
            self.log.exception("Restarting workspace %s failed", owner.name)

    def answer(self, model: dict) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(model))


class WorkspaceMemberHandler(_WorkspaceHandler):
    async def put(self, group_id: str, username: str) -> None:
        self.check_caller()
        owner = self.owner(group_id)
        self.grant(owner, self.member(username, create=True))
        self.log.info("Workspace %s shared with %s", owner.name, username)
        self.answer({"workspace": owner.name,
                     "members": self.shared_names(owner.spawners[""].orm_spawner)})

    async def delete(self, group_id: str, username: str) -> None:
        self.check_caller()
        owner = self.owner(group_id)
        member = self.member(username, create=False)
        if member is not None and await self.revoke(owner, member):
            self.log.info("Workspace %s no longer shared with %s", owner.name, username)
            await self.restart(owner)
        self.answer({"workspace": owner.name,
                     "members": self.shared_names(owner.spawners[""].orm_spawner)})


class WorkspaceMembersHandler(_WorkspaceHandler):
    async def put(self, group_id: str) -> None:
        self.check_caller()
        body = self.get_json_body() or {}
        wanted = body.get("members") if isinstance(body, dict) else None
        if not isinstance(wanted, list) or not all(isinstance(n, str) for n in wanted):
            raise web.HTTPError(400, 'Send {"members": [usernames]}.')
        owner = self.owner(group_id)
        spawner = owner.spawners[""]
        revoked = False
        for name in set(self.shared_names(spawner.orm_spawner)) - set(wanted):
            member = self.member(name, create=False)
            revoked |= member is not None and await self.revoke(owner, member)
        for name in wanted:
            self.grant(owner, self.member(name, create=True))
        if revoked:
            await self.restart(owner)
        self.answer({"workspace": owner.name, "members": self.shared_names(spawner.orm_spawner)})


class WorkspaceServerHandler(_WorkspaceHandler):
    async def post(self, group_id: str) -> None:
        self.check_caller()
        owner = self.owner(group_id)
        spawner = owner.spawners[""]
        if not spawner.active:
            await self.spawn_single_user(owner)
        self.answer({"workspace": owner.name, "url": owner.url, "ready": spawner.ready})


def handlers() -> list[tuple[str, type]]:
    """``JupyterHub.extra_handlers`` (mounted under the hub's prefix, ``/hub``)."""
    return [
        (PREFIX + r"/members/([^/]+)", WorkspaceMemberHandler),
        (PREFIX + r"/members", WorkspaceMembersHandler),
        (PREFIX + r"/server", WorkspaceServerHandler),
    ]
