"""The client of Discourse's admin API: the few calls that keep a course's category and group in
step with the LMS. Server to server, with ``Api-Key: <DISCOURSE_API_KEY>`` and ``Api-Username:
<DISCOURSE_API_USERNAME>`` (an admin); JSON both ways; every call bounded by DISCOURSE_TIMEOUT.

A call that cannot be made (connection refused, timed out, 5xx, 429, an answer that is not JSON)
raises :class:`DiscourseUnavailable`, which the sync queue retries later; any other 4xx raises
:class:`DiscourseRefused` with Discourse's own message (``errors``), which retrying would not
change.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

from lms.base.service_client import CONNECT_TIMEOUT, ServiceRefused, ServiceUnavailable

MEMBERS_PAGE = 200  # members listed per call (Discourse's own limit is 1000)


class DiscourseUnavailable(ServiceUnavailable):
    pass


class DiscourseRefused(ServiceRefused):
    pass


class DiscourseClient:
    def __init__(self, base_url: str, api_key: str, api_username: str, *,
                 timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.session = requests.Session()
        self.session.headers.update({
            "Api-Key": api_key, "Api-Username": api_username, "Accept": "application/json",
        })

    @classmethod
    def from_settings(cls) -> DiscourseClient:
        return cls(settings.DISCOURSE_URL, settings.DISCOURSE_API_KEY,
                   settings.DISCOURSE_API_USERNAME, timeout=settings.DISCOURSE_TIMEOUT)

    def call(self, method: str, path: str, payload: Any = None, *,
             missing_ok: bool = False, **params: Any) -> Any:
        """The JSON answer of one call; None for a 404 when ``missing_ok``."""
        try:
            response = self.session.request(
                method, f"{self.base_url}{path}", json=payload, params=params or None,
                timeout=self.timeout,
            )
        except requests.Timeout:
            raise DiscourseUnavailable(f"Discourse did not answer {method} {path} in time.",
                                       timed_out=True) from None
        except requests.RequestException as error:
            raise DiscourseUnavailable(
                f"Discourse cannot be reached for {method} {path}: {type(error).__name__}."
            ) from None
        status = response.status_code
        if status == 404 and missing_ok:
            return None
        if status == 429 or status >= 500:
            raise DiscourseUnavailable(f"Discourse answered {method} {path} with {status}.")
        try:
            body = response.json() if response.content else {}
        except ValueError:
            raise DiscourseUnavailable(
                f"Discourse answered {method} {path} with something that is not JSON."
            ) from None
        if status >= 400:
            errors = body.get("errors") if isinstance(body, dict) else None
            message = "; ".join(map(str, errors)) if isinstance(errors, list) else str(status)
            raise DiscourseRefused(status, "refused", f"Discourse refused {method} {path}: "
                                   f"{message}")
        return body

    # -- groups ---------------------------------------------------------------------------------
    def group_id(self, name: str) -> int | None:
        body = self.call("GET", f"/groups/{quote(name)}.json", missing_ok=True)
        return None if body is None else int(body["group"]["id"])

    def create_group(self, name: str, full_name: str) -> int:
        body = self.call("POST", "/admin/groups.json", {"group": self._group(name, full_name)})
        return int(body["basic_group"]["id"])

    def update_group(self, group_id: int, name: str, full_name: str) -> None:
        self.call("PUT", f"/groups/{group_id}.json", {"group": self._group(name, full_name)})

    @staticmethod
    def _group(name: str, full_name: str) -> dict[str, Any]:
        # Only its members (and staff) see the group; nobody may ask to join or leave it: the
        # LMS's enrollments decide.
        return {"name": name, "full_name": full_name[:100], "visibility_level": 2,
                "members_visibility_level": 2, "public_admission": False,
                "public_exit": False, "allow_membership_requests": False}

    def group_members(self, name: str) -> set[str]:
        usernames: set[str] = set()
        offset = 0
        while True:
            body = self.call("GET", f"/groups/{quote(name)}/members.json",
                             limit=MEMBERS_PAGE, offset=offset)
            members = body.get("members") or []
            usernames.update(member["username"] for member in members)
            offset += len(members)
            if not members or offset >= int(body.get("meta", {}).get("total", 0)):
                return usernames

    def add_members(self, group_id: int, usernames: list[str]) -> None:
        self.call("PUT", f"/groups/{group_id}/members.json", {"usernames": ",".join(usernames)})

    def remove_members(self, group_id: int, usernames: list[str]) -> None:
        self.call("DELETE", f"/groups/{group_id}/members.json",
                  {"usernames": ",".join(usernames)})

    # -- categories -----------------------------------------------------------------------------
    def category_by_slug(self, slug: str) -> tuple[int, str] | None:
        body = self.call("GET", "/categories.json")
        for category in body.get("category_list", {}).get("categories", []):
            if category.get("slug") == slug:
                return int(category["id"]), category["slug"]
        return None

    def create_category(self, name: str, slug: str, group: str) -> tuple[int, str]:
        body = self.call("POST", "/categories.json", self._category(name, slug, group))
        return int(body["category"]["id"]), body["category"]["slug"]

    def update_category(self, category_id: int, name: str, slug: str, group: str) -> None:
        self.call("PUT", f"/categories/{category_id}.json", self._category(name, slug, group))

    @staticmethod
    def _category(name: str, slug: str, group: str) -> dict[str, Any]:
        # Permission 1 is Discourse's "create / reply / see"; no other group (not "everyone")
        # is listed, so only the course's group and admins see the category.
        return {"name": name[:50], "slug": slug, "color": "0088CC", "text_color": "FFFFFF",
                "permissions": {group: 1}}

    # -- users ----------------------------------------------------------------------------------
    def username_of(self, external_id: str) -> str | None:
        """The Discourse username of the person DiscourseConnect knows as ``external_id``;
        None until they first signed in to Discourse."""
        body = self.call("GET", f"/u/by-external/{quote(external_id)}.json", missing_ok=True)
        return None if body is None else body["user"]["username"]
