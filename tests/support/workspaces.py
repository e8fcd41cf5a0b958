"""A study group's shared workspace (``hub.workspaces``) as its members reach it: in a browser
from the group's page in the LMS, or with a browser-like ``requests`` session; and the hub's
workspace endpoint as the LMS calls it, with its hub service token.

A server shared with a visitor (not their own) asks them, through JupyterHub's OAuth, to
authorize it ("Authorize access": the server may identify them), each time the server was
started afresh; both ways below click "Authorize" as a member would.
"""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser

import requests
from playwright.sync_api import BrowserContext, Page, expect

from tests.support.studio import Studio

OPEN_BUTTON = "Open the shared workspace"
STARTING = "The group's workspace is starting"  # the group page's message while it starts


# A request of a page to its own server, as JupyterLab makes them (the page's cookies and the
# XSRF token JupyterHub's servers want with them): [status, milliseconds]; status 0 when the
# request fails (a redirect to the hub's host is refused by CORS).
PAGE_FETCH = """async (url) => {
    const xsrf = document.cookie.split('; ').find(c => c.startsWith('_xsrf='));
    const headers = xsrf ? {'X-XSRFToken': decodeURIComponent(xsrf.split('=')[1])} : {};
    const start = performance.now();
    try {
        const response = await fetch(url, {headers});
        await response.text();
        return [response.status, performance.now() - start];
    } catch (e) {
        return [0, performance.now() - start];
    }
}"""


class HubWorkspaces:
    """``/hub/api/studio/workspaces/<id>/…`` with the LMS's hub service token (the one caller
    the endpoint accepts), as ``lms.groups.workspace`` calls it."""

    def __init__(self, studio: Studio):
        self.studio = studio
        self.token = (studio.var_dir / "secrets" / "hub-lms-service-token").read_text().strip()

    def __call__(self, method: str, group: int, path: str, **kwargs) -> requests.Response:
        return requests.request(
            method, f"{self.studio.hub_url}/hub/api/studio/workspaces/{group}{path}",
            headers={"Authorization": f"token {self.token}"}, timeout=60, **kwargs,
        )


class HiddenInputs(HTMLParser):
    """The hidden inputs of a page's form, repeated names kept (the hub's consent form sends one
    ``scopes`` per scope)."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.fields.append((attrs["name"], attrs.get("value") or ""))


def workspace_status(studio: Studio, session: requests.Session, workspace: str) -> int:
    """``api/status`` of the workspace server of hub user ``workspace`` for ``session``, after
    its lab page, which sends the browser through the server's OAuth with the hub (its API
    answers 403 instead of redirecting); the consent form is submitted if the hub shows it."""
    page = session.get(studio.server_url(workspace, "lab"), timeout=30)
    if page.status_code == 200 and "/hub/api/oauth2/authorize" in page.url:
        form = HiddenInputs()
        form.feed(page.text)
        session.post(page.url, data=form.fields, timeout=30, headers={"Referer": page.url})
    return session.get(studio.server_url(workspace, "api/status"), timeout=30).status_code


def open_from_group_page(page: Page, studio: Studio, group_url: str, workspace: str,
                         seconds: float) -> None:
    """On the group's page in the LMS, "Open the shared workspace" as a member does: while the
    workspace starts, the page says so and the member tries again a little later; once it is
    ready the browser goes on to it, through the hub's consent page, until JupyterLab shows.
    ``seconds`` bounds the whole (a spawn on a busy machine), it is no measurement."""
    deadline = time.monotonic() + seconds
    page.goto(group_url)
    while True:
        # ready: a page of the LMS that moves on to the workspace; starting: the group's page
        with page.expect_navigation():
            page.get_by_role("button", name=OPEN_BUTTON).click()
        if page.url != group_url:
            break
        message = page.locator(".alert").first  # the LMS's messages (role status or alert)
        expect(message).to_be_visible()
        assert STARTING in message.inner_text(), message.inner_text()
        assert time.monotonic() < deadline, f"the workspace did not start within {seconds} s"
        page.wait_for_timeout(3000)
    into_the_lab(page, studio, workspace)


def into_the_lab(page: Page, studio: Studio, workspace: str) -> None:
    """Follow a browser on its way to the workspace of hub user ``workspace`` (the server's
    OAuth with the hub, signing in through the LMS if need be) until JupyterLab shows,
    authorizing the server on the hub's consent page if it asks."""
    server = studio.server_url(workspace)
    page.wait_for_url(lambda url: url.startswith(server) or "/oauth2/authorize" in url)
    if "/oauth2/authorize" in page.url:
        expect(page.get_by_text("Authorize access")).to_be_visible()
        page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(rf"^{re.escape(server)}lab"))


def cookie_header(context: BrowserContext, url: str) -> str:
    """The ``Cookie`` header ``context`` sends to ``url`` (a member's old cookies, replayed)."""
    return "; ".join(f"{c['name']}={c['value']}" for c in context.cookies(url))
