"""The assignment cycle of issue 4 in Debian's Chromium: the instructor releases from the LMS's
assignment page, the learner fetches and submits in nbgrader's Assignments panel in their own
JupyterLab, and the score appears on the LMS's assignment page seconds later.

The learner is one of this module's own (created through the LMS's services), whose server is
started before the release, so the panel offers the assignment to fetch. The answers are written
into the fetched notebook through the server's contents API (``tests.support.lab_pages``).
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.support.assignments import answered
from tests.support.lab_pages import (
    RELEASE_BUTTON,
    SPAWN_MS,
    enroll_learner,
    open_assignments_panel,
    save_notebook,
    sign_in,
)
from tests.support.studio import Studio

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.slow]

COURSE = "python-101"
ASSIGNMENT = "ps1-basics"
TITLE = "Problem set 1: Python basics"
LEARNER = "e2e-learner"
GRADED_SECONDS = 180  # a bound for one grading on two busy cores, not a measurement


def assignment_page(page: Page, studio: Studio) -> None:
    page.goto(f"{studio.lms_url}/courses/{COURSE}/{ASSIGNMENT}/")
    expect(page.get_by_role("heading", level=1, name=TITLE)).to_be_visible()


def save_answers(lab: Page, studio: Studio) -> None:
    """The fetched notebook with every answer correct, saved as the editor would."""
    save_notebook(lab, studio, LEARNER, f"{COURSE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", answered)


def test_instructor_releases_learner_fetches_submits_and_sees_the_score_in_the_lms(
    studio, context: BrowserContext, browser, screenshot
):
    enroll_learner(studio, LEARNER, COURSE)

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
        instructor.get_by_role("button", name=RELEASE_BUTTON).click()
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

