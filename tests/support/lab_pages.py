"""What the browser tests do on the studio's pages (Playwright): enroll a learner of the test's
own, sign in through the LMS, open nbgrader's Assignments panel in JupyterLab, and save a
notebook through the lab's own contents API (what saving in the editor does: typing whole
functions into the editor would test CodeMirror, not the studio)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.support.studio import Studio

# The grading panel's release button: "Release again" once the assignment is released (the e2e
# tests share one studio, so another test may have released it first).
RELEASE_BUTTON = re.compile(r"^Release( again)?$")
# How long a browser test waits for a learner's server to start and its lab to show (a shared
# CI machine may start several at once).
SPAWN_MS = 200_000
# JupyterLab's status bar when the notebook's kernel is connected and idle.
KERNEL_IDLE = "Python 3 (ipykernel) | Idle"

ENROLL = """
from lms.accounts.models import User
from lms.courses.models import CoursePage
from lms.courses.services import enroll
user = User.objects.create_user({name!r}, {name!r} + "@e2e.example", {password!r})
enroll(user, CoursePage.objects.get(slug={course!r}))
print("enrolled")
"""


def enroll_learner(studio: Studio, username: str, course: str) -> None:
    """A new LMS account enrolled in ``course`` as a learner, its password in
    ``studio.passwords``."""
    studio.passwords[username] = secrets.token_urlsafe(12)
    out = studio.lms_shell(ENROLL.format(name=username, password=studio.passwords[username],
                                         course=course))
    assert "enrolled" in out, out


def sign_in(page: Page, studio: Studio, username: str) -> None:
    page.goto(f"{studio.lms_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(studio.passwords[username])
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Signed in as")


def open_assignments_panel(lab: Page) -> None:
    lab.get_by_role("menuitem", name="Nbgrader").click()
    lab.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
    expect(lab.locator("#assignments")).to_be_visible()


CONTENTS_API = """async ([url, method, body]) => {
    // As JupyterLab calls its server: the session cookie plus the XSRF token it came with.
    const xsrf = document.cookie.split('; ').find(c => c.startsWith('_xsrf='));
    const response = await fetch(url, {
        method,
        headers: {'Content-Type': 'application/json',
                  'X-XSRFToken': decodeURIComponent(xsrf.split('=')[1])},
        body: body === null ? undefined : JSON.stringify(body),
    });
    return {status: response.status, body: await response.json()};
}"""


def save_notebook(
    lab: Page, studio: Studio, username: str, path: str, change: Callable[[dict], dict]
) -> None:
    """Read the notebook at ``path`` (below the learner's work folder) and write back
    ``change(notebook)`` with the server's contents API, from the lab's own page (its cookies
    and XSRF token, as the editor saves)."""
    url = studio.server_url(username, f"api/contents/{path}")
    current = lab.evaluate(CONTENTS_API, [url, "GET", None])
    assert current["status"] == 200, current
    content = {"type": "notebook", "format": "json", "content": change(current["body"]["content"])}
    saved = lab.evaluate(CONTENTS_API, [url, "PUT", content])
    assert saved["status"] in {200, 201}, saved
