"""Grading as it happens, in Debian's Chromium (issue 13, point 6): a learner submits three times
from nbgrader's Assignments panel while the grader has one worker (tests/e2e/conftest.py), so
the third submission waits behind the other two. Its JupyterLab notification, one toast updated
in place, goes "Queued (1 ahead of you)" → "Queued (next in line)" → "Grading…" →
"Graded 10/10"; its "Open feedback" button opens the assignment's page in the LMS, which shows
the same status for the newest submission.

The queue is built deterministically, not by racing the grader: once the first submission is
being graded, the grader's sandbox containers are paused (the engine freezes their processes)
until the third submission's toast shows its place in line, so the first cannot finish early on
a fast machine, nor the other two be submitted too late on a busy one. Each answered notebook
also sleeps a few seconds in an answer cell, so each grading lasts longer than the
notification's poll interval (about a second): every later state is on screen long enough to be
seen. Every message each toast showed is recorded in the page (a MutationObserver on the
toasts), so the order is checked on the record, not on what a screenshot happened to catch.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

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
from tests.support.studio import Studio, docker, under_prefix

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.slow]

COURSE = "python-101"
ASSIGNMENT = "ps1-basics"
TITLE = "Problem set 1: Python basics"
LEARNER = "e2e-status-learner"
SUBMISSIONS = 3
SLEEP_SECONDS = 8  # in an answer cell: each grading outlasts a few of the toast's polls
GRADED_MS = 300_000  # a bound for three gradings in a row on two busy cores, not a measurement

# Every message each toast shows, in order, by toast (react-toastify gives each toast's element
# the notification's id).
RECORD_TOASTS = """() => {
    window.plsToasts = {};
    const record = () => {
        for (const message of document.querySelectorAll('.jp-toast-message')) {
            const toast = message.closest('.Toastify__toast');
            const id = (toast && toast.id) || '?';
            const seen = (window.plsToasts[id] = window.plsToasts[id] || []);
            const text = message.textContent.trim();
            if (seen[seen.length - 1] !== text) {
                seen.push(text);
            }
        }
    };
    new MutationObserver(record).observe(document.body, {
        subtree: true, childList: true, characterData: true
    });
}"""


def slow_answers(notebook: dict) -> dict:
    """Every answer correct, and the first answer cell sleeps :data:`SLEEP_SECONDS` first."""
    notebook = answered(notebook)
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            cell["source"] = f"import time\ntime.sleep({SLEEP_SECONDS})\n{source}"
            break
    return notebook


def release_as_instructor(browser, studio: Studio) -> None:
    """Release (again, when another test did) from the assignment page, as the instructor."""
    teaching = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = teaching.new_page()
        sign_in(page, studio, "instructor")
        page.goto(f"{studio.lms_url}/courses/{COURSE}/{ASSIGNMENT}/")
        page.get_by_role("button", name=RELEASE_BUTTON).click()
        expect(page.get_by_role("status")).to_contain_text("elease")
    finally:
        teaching.close()


def fetched_item(lab: Page):
    """The assignment in the panel's fetched list, fetching it first when it is only released
    (the hub copies released assignments into a server it starts: then it is fetched already)."""
    lab.locator("#refresh_assignments_list").click()
    fetched = lab.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first
    released = lab.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT)
    expect(fetched.or_(released).first).to_be_visible()
    if not fetched.count():
        released.get_by_role("button", name="Fetch").click()
    expect(fetched.get_by_role("button", name="Submit", exact=True)).to_be_visible()
    return fetched


@contextlib.contextmanager
def grading_held(studio: Studio) -> Iterator[list[str]]:
    """The studio's grading sandboxes paused (``docker pause``: the engine freezes every process
    in them) and unpaused on the way out: the submission being graded cannot finish meanwhile.
    Yields the paused containers' names."""
    names = sorted(under_prefix("container", studio.prefix, grader=True)
                   - under_prefix("container", studio.prefix))
    running = docker("container", "ls", "--filter", "status=running", "--format", "{{.Names}}",
                     check=False).stdout.split()
    names = [name for name in names if name in running]
    assert names, "no running grading sandbox to hold"
    docker("pause", *names)
    try:
        yield names
    finally:
        docker("unpause", *names, check=False)


def toasts(lab: Page) -> dict[str, list[str]]:
    return lab.evaluate("() => window.plsToasts")


def test_a_learner_watches_a_submission_go_queued_grading_graded_and_opens_the_feedback(
    studio, context: BrowserContext, browser, screenshot
):
    enroll_learner(studio, LEARNER, COURSE)
    release_as_instructor(browser, studio)

    lab = context.new_page()
    sign_in(lab, studio, LEARNER)
    lab.goto(f"{studio.hub_url}/hub/user-redirect/lab")
    lab.wait_for_url(re.compile(rf".*/user/{LEARNER}/lab"), timeout=SPAWN_MS)
    open_assignments_panel(lab)
    fetched_item(lab)
    save_notebook(lab, studio, LEARNER, f"{COURSE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                  slow_answers)
    lab.evaluate(RECORD_TOASTS)

    # The first submission is taken by the one worker; then it is held while two more arrive.
    fetched_item(lab).get_by_role("button", name="Submit", exact=True).click()
    first = lab.locator(".Toastify__toast", has_text=f"{ASSIGNMENT}:")
    expect(first.locator(".jp-toast-message")).to_have_text(
        f"{ASSIGNMENT}: Grading…", timeout=GRADED_MS)
    with grading_held(studio):
        # Each one's notification appears once the grader has stored it.
        for number in range(2, SUBMISSIONS + 1):
            fetched_item(lab).get_by_role("button", name="Submit", exact=True).click()
            expect(lab.locator(".Toastify__toast", has_text=f"{ASSIGNMENT}:")).to_have_count(
                number)

        # The third waits behind the other two: one grading, one queued before it.
        third = lab.locator(".Toastify__toast", has_text="1 ahead of you")
        expect(third).to_be_visible()
        toast = lab.locator(f'[id="{third.get_attribute("id")}"]')
        expect(toast.locator(".jp-toast-message")).to_have_text(
            f"{ASSIGNMENT}: Queued (1 ahead of you)")
        screenshot(lab, "1-queued")
    expect(toast.locator(".jp-toast-message")).to_have_text(
        f"{ASSIGNMENT}: Grading…", timeout=GRADED_MS)
    screenshot(lab, "2-grading")
    expect(toast.locator(".jp-toast-message")).to_have_text(
        f"{ASSIGNMENT}: Graded 10/10", timeout=GRADED_MS)
    screenshot(lab, "3-graded")

    # One toast, updated in place, through every state in order.
    shown = toasts(lab)[toast.get_attribute("id")]
    states = []
    for message in shown:
        state = re.sub(r" \(.*\)$", "", message.removeprefix(f"{ASSIGNMENT}: "))
        if not states or states[-1] != state:
            states.append(state)
    assert states[-3:] == ["Queued", "Grading…", "Graded 10/10"], shown
    assert states[:-3] in ([], ["Submitted, waiting for the grader…"]), shown
    assert f"{ASSIGNMENT}: Queued (next in line)" in shown, shown
    assert shown.index(f"{ASSIGNMENT}: Queued (1 ahead of you)") < shown.index(
        f"{ASSIGNMENT}: Queued (next in line)"), shown

    # The link opens the assignment page in the LMS, with the same status.
    with context.expect_page() as opened:
        toast.get_by_role("button", name="Open feedback").click()
    feedback = opened.value
    feedback.wait_for_load_state()
    assert feedback.url.startswith(f"{studio.lms_url}/courses/{COURSE}/{ASSIGNMENT}/")
    expect(feedback.get_by_role("heading", level=1, name=TITLE)).to_be_visible()
    expect(feedback.locator(".submission-status")).to_contain_text("graded: 10 of 10 points")
    screenshot(feedback, "4-feedback")
