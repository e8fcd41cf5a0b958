"""The assignment cycle of issue 4 in Debian's Chromium: the instructor releases from the LMS's
assignment page, the learner fetches and submits in nbgrader's Assignments panel in their own
JupyterLab, and the score appears on the LMS's assignment page seconds later.

The learner is one of this module's own (created through the LMS's services), whose server is
started before the release, so the panel offers the assignment to fetch. The answers are written
into the fetched notebook through the server's contents API (what saving in the editor does):
typing whole functions into the editor would test CodeMirror, not the studio.
"""

from __future__ import annotations

import re
import secrets
import time

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.support.assignments import answered
from tests.support.studio import Studio

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.slow]

COURSE = "python-101"
ASSIGNMENT = "ps1-basics"
TITLE = "Problem set 1: Python basics"
LEARNER = "e2e-learner"
SPAWN_MS = 200_000
GRADED_SECONDS = 180  # a bound for one grading on two busy cores, not a measurement
ENROLL = """
from lms.accounts.models import User
from lms.courses.models import CoursePage
from lms.courses.services import enroll
user = User.objects.create_user({name!r}, {name!r} + "@e2e.example", {password!r})
enroll(user, CoursePage.objects.get(slug={course!r}))
print("enrolled")
"""


def sign_in(page: Page, studio: Studio, username: str) -> None:
    page.goto(f"{studio.lms_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(studio.passwords[username])
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Signed in as")


def assignment_page(page: Page, studio: Studio) -> None:
    page.goto(f"{studio.lms_url}/courses/{COURSE}/{ASSIGNMENT}/")
    expect(page.get_by_role("heading", level=1, name=TITLE)).to_be_visible()


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


def save_answers(lab: Page, studio: Studio) -> None:
    """Write the answers into the fetched notebook with the server's contents API, from the
    lab's own page (its cookies and XSRF token, as the editor saves)."""
    path = f"{COURSE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    url = f"{studio.hub_url}/user/{LEARNER}/api/contents/{path}"
    current = lab.evaluate(CONTENTS_API, [url, "GET", None])
    assert current["status"] == 200, current
    notebook = answered(current["body"]["content"])
    content = {"type": "notebook", "format": "json", "content": notebook}
    saved = lab.evaluate(CONTENTS_API, [url, "PUT", content])
    assert saved["status"] in {200, 201}, saved


def test_instructor_releases_learner_fetches_submits_and_sees_the_score_in_the_lms(
    studio, context: BrowserContext, browser, screenshot
):
    studio.passwords[LEARNER] = secrets.token_urlsafe(12)
    out = studio.lms_shell(ENROLL.format(name=LEARNER, password=studio.passwords[LEARNER],
                                         course=COURSE))
    assert "enrolled" in out, out

    # The learner's JupyterLab runs before the release.
    learner = context.new_page()
    sign_in(learner, studio, LEARNER)
    learner.goto(f"{studio.hub_url}/hub/user-redirect/lab")
    learner.wait_for_url(re.compile(rf".*/user/{LEARNER}/lab"), timeout=SPAWN_MS)
    open_assignments_panel(learner)
    expect(learner.locator("#released_assignments_list")).to_contain_text(
        "There are no assignments to fetch")

    # The instructor releases from the assignment page, in a browser of their own.
    teaching = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        instructor = teaching.new_page()
        sign_in(instructor, studio, "instructor")
        assignment_page(instructor, studio)
        instructor.get_by_role("button", name="Release", exact=True).click()
        expect(instructor.get_by_role("status")).to_contain_text("elease")
        screenshot(instructor, "1-released")
    finally:
        teaching.close()

    # The learner fetches and submits in the panel.
    learner.locator("#refresh_assignments_list").click()
    released = learner.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT)
    released.get_by_role("button", name="Fetch").click()
    fetched = learner.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first
    expect(fetched.get_by_role("button", name="Submit")).to_be_visible()
    save_answers(learner, studio)
    fetched.get_by_role("button", name="Submit").click()
    submitted = learner.locator("#submitted_assignments_list")
    expect(submitted).to_contain_text(ASSIGNMENT)
    screenshot(learner, "2-submitted")

    # The score shows on the LMS's assignment page within seconds.
    lms = context.new_page()
    deadline = time.monotonic() + GRADED_SECONDS
    while True:
        assignment_page(lms, studio)
        if lms.get_by_role("heading", name="Your grade").count():
            break
        assert time.monotonic() < deadline, "no grade on the assignment page"
        time.sleep(2)
    expect(lms.get_by_role("complementary").get_by_text("10 / 10")).to_be_visible()
    screenshot(lms, "3-score")

