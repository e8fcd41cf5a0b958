"""Sign-on through the LMS: oauthenticator's GenericOAuthenticator, configured for it.

The LMS is the OpenID Connect provider. oauthenticator does not read discovery, so the three
endpoints are set explicitly: the browser goes to ``<LMS_PUBLIC_URL>/o/authorize/``; the hub
itself calls ``<LMS_INTERNAL_URL>/o/token/`` and ``/o/userinfo/`` (the same URL unless the hub
reaches the LMS by another address, e.g. a Docker service name).

The ``groups`` claim becomes the user's hub groups at every login (``manage_groups``): ``staff``
(hub admins), ``nbgrader-<slug>`` (learners of a course), ``formgrade-<slug>`` (its instructors).
Someone with none of these is not enrolled anywhere and sees :class:`hub.errors.NotEnrolled`.
When the LMS does not answer, login shows :class:`hub.errors.LmsUnreachable` (503), and users
already signed in keep their session until the LMS is back.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from oauthenticator.generic import GenericOAuthenticator
from tornado.httpclient import HTTPClientError
from traitlets import Unicode, default

from courses.naming import STAFF_GROUP, USERNAME_REGEX, is_reserved_username
from hub.courses import is_enrolled
from hub.errors import LmsUnreachable, NotEnrolled

# Usernames the LMS hands out (courses.naming): safe for container and volume names.
USERNAME_PATTERN = rf"^{USERNAME_REGEX}$"


def _base(url: str) -> str:
    return url.rstrip("/")


class StudioAuthenticator(GenericOAuthenticator):
    """GenericOAuthenticator for the studio's LMS: endpoints, claims and groups preset."""

    lms_public_url = Unicode(
        "http://127.0.0.1:8000",
        help="""The LMS's public URL, as browsers reach it. It is the OIDC issuer; the
        authorize endpoint and the catalogue link on the "not enrolled" page are under it.""",
    ).tag(config=True)

    lms_internal_url = Unicode(
        "",
        help="""Where the hub itself reaches the LMS for the token and userinfo endpoints.
        Empty: the same as lms_public_url.""",
    ).tag(config=True)

    catalogue_path = Unicode(
        "/courses/",
        help="Path of the LMS course catalogue, linked from the 'not enrolled' page.",
    ).tag(config=True)

    @property
    def lms_backend_url(self) -> str:
        return _base(self.lms_internal_url or self.lms_public_url)

    @property
    def catalogue_url(self) -> str:
        return _base(self.lms_public_url) + self.catalogue_path

    @default("login_service")
    def _login_service_default(self):
        return "Python Learning Studio"

    @default("authorize_url")
    def _authorize_url_default(self):
        return _base(self.lms_public_url) + "/o/authorize/"

    @default("token_url")
    def _token_url_default(self):
        return self.lms_backend_url + "/o/token/"

    @default("userdata_url")
    def _userdata_url_default(self):
        return self.lms_backend_url + "/o/userinfo/"

    @default("scope")
    def _scope_default(self):
        return ["openid", "profile", "email", "groups"]

    @default("username_claim")
    def _username_claim_default(self):
        return "preferred_username"

    @default("manage_groups")
    def _manage_groups_default(self):
        return True

    @default("auth_state_groups_key")
    def _auth_state_groups_key_default(self):
        return f"{self.user_auth_state_key}.groups"

    @default("admin_groups")
    def _admin_groups_default(self):
        return {STAFF_GROUP}

    @default("username_pattern")
    def _username_pattern_default(self):
        return USERNAME_PATTERN

    @default("username_regex")
    def _username_regex_default(self):
        # JupyterHub compiles username_pattern only when it is *set*; compile our default too.
        return re.compile(self.username_pattern) if self.username_pattern else None

    @default("auto_login")
    def _auto_login_default(self):
        # The hub has no login form of its own: go straight to the LMS, keeping ?next=
        # (the "Open in JupyterLab" deep link) through the OAuth state.
        return True

    @default("any_allow_config")
    def _any_allow_config_default(self):
        return True  # check_allowed admits staff and enrolled users

    @default("logout_redirect_url")
    def _logout_redirect_url_default(self):
        return _base(self.lms_public_url) + "/"

    # -- who may sign in -----------------------------------------------------------------

    async def check_allowed(self, username, auth_model):
        """Staff and anyone enrolled in a course (as learner or instructor) may sign in.

        Everyone else authenticated by the LMS gets a page that says how to enroll, instead of
        JupyterHub's generic 403.
        """
        if auth_model is None:  # JupyterHub < 5 compatibility call: nothing to decide on
            return True
        if is_reserved_username(username):  # a study group's workspace: nobody signs in as it
            return False
        if await super().check_allowed(username, auth_model):
            return True
        if is_enrolled(auth_model.get("groups") or []):
            return True
        self.log.info("User %s signed in through the LMS but is not enrolled anywhere", username)
        raise NotEnrolled(username, self.catalogue_url)

    # -- the LMS being down ----------------------------------------------------------------

    async def fetch(self, req, label="fetching", parse_json=True, **kwargs):
        """oauthenticator's fetch, with "LMS down" turned into a readable 503.

        Connection errors, timeouts (599) and server errors (5xx) mean the LMS is unavailable.
        Client errors (4xx) pass through unchanged: oauthenticator reads them as an expired
        token and refreshes or asks for a new login.
        """
        try:
            return await super().fetch(req, label=label, parse_json=parse_json, **kwargs)
        except HTTPClientError as exc:
            if exc.code < 500:
                raise
            raise self._unreachable(req.url, f"HTTP {exc.code}: {exc}") from exc
        except OSError as exc:  # refused, reset, DNS failure, unreachable network
            raise self._unreachable(req.url, repr(exc)) from exc

    def _unreachable(self, url: str, detail: str) -> LmsUnreachable:
        where = urlparse(url)
        self.log.error("The LMS did not answer %s://%s%s: %s", where.scheme, where.netloc,
                       where.path, detail)
        return LmsUnreachable(_base(self.lms_public_url), detail)

    async def refresh_user(self, user, handler=None, **kwargs):
        """Refresh groups from the LMS; while the LMS is down, keep the current session."""
        try:
            return await super().refresh_user(user, handler=handler, **kwargs)
        except LmsUnreachable:
            self.log.warning("LMS unreachable: keeping %s's current sign-in for now", user.name)
            return True
