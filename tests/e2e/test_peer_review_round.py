"""A peer review round of issue 16 in Debian's Chromium, through the whole studio: three learners
submit Problem set 2 (one from nbgrader's Assignments panel in their own JupyterLab, two through
the grader's API with their hub tokens, as the panel does), each reviews the two classmates the
LMS gives them (the peer's notebook as the grader hands it to the LMS, rubric levels chosen, a
comment on a line of a cell), and each author reads their two reviews, replies and rates how
helpful each was; the instructor sees every review with names, points and ratings. Anonymity
holds both ways on every page a learner sees, hidden tests never show, and the review pages
(the reviewer's, the author's list and review, the instructor's overview) have no serious or
critical axe-core violation. Each step is kept as a screenshot in ``var/e2e/``.

Peer review of ps2-functions opens at its due date in the demo course, months away: the test
opens it once a learner has submitted, as an instructor would, by editing course.yml (a copy of
the course folder) and importing it again, and imports the demo's own course.yml at the end.
With three participants and two reviews per submission the round is fixed: everyone reviews
the other two (no other e2e test submits ps2-functions).
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ACTION_MS, VIEWPORT
from tests.support.assignment_cycle import GRADED_SECONDS, grader_api, packed
from tests.support.assignments import WRONG, answered
from tests.support.axe import new_tab, pages_violations
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
ASSIGNMENT = "ps2-functions"
TITLE = "Problem set 2: Functions"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
HIDDEN_TEST = "assert clamp(7, 1, 5) == 5"  # in the source notebook's hidden tests only
ANSWER_CELL = "def clamp(value, low=0, high=100):"
MAX_POINTS = 4  # the demo rubric: Readability 2, Tests 2

NAMES = """
from lms.accounts.models import User
for username, (first, last) in {names!r}.items():
    User.objects.filter(username=username).update(first_name=first, last_name=last)
print("named")
"""
IMPORT = """
from django.core.management import call_command
call_command("import_course", {folder!r})
print("imported")
"""


@dataclass(frozen=True)
class Learner:
    username: str
    full_name: str
    readability: str  # the rubric levels this learner chooses as a reviewer
    tests: str
    points: int
    comment: str  # on line 2 of the clamp answer cell
    summary: str
    helpfulness: int  # how helpful their authors find their reviews

    @property
    def names(self) -> tuple[str, str]:
        return self.username, self.full_name


LEARNERS = (
    Learner("peer-ana", "Ana Lindqvist", "Clear throughout", "Edge cases tried", 4,
            "This docstring says exactly what clamp returns.",
            "Clear functions, and the edge cases are covered.", 5),
    Learner("peer-bert", "Bert Okafor", "Mostly clear", "Not tried", 1,
            "Say what happens when low is greater than high.",
            "Try clamp with an empty range before submitting.", 2),
    Learner("peer-cleo", "Cleo Marchetti", "Hard to follow", "Edge cases tried", 2,
            "Move the range check to the top of the function.",
            "The tests are thorough; the code is hard to read.", 4),
)
IN_LAB = LEARNERS[0]  # submits from JupyterLab; the others through the grader's API
BY_POINTS = {learner.points: learner for learner in LEARNERS}
assert len(BY_POINTS) == len(LEARNERS), "each reviewer's points tell their review apart"


def others(learner: Learner) -> list[Learner]:
    return [other for other in LEARNERS if other is not learner]


@pytest.fixture
def reviewing_after_submit(studio, course_copy, edit_course_yml, python101_dir) -> Iterator[None]:
    """ps2-functions' peer review opens once a learner has submitted (course.yml edited and
    imported again, as an instructor would); the demo's course.yml is imported back after."""

    def after_submit(course: dict) -> None:
        ps2 = next(a for a in course["assignments"] if a["name"] == ASSIGNMENT)
        ps2["peer_review"]["opens"] = "after_submit"

    edit_course_yml(course_copy, after_submit)
    assert "imported" in studio.lms_shell(IMPORT.format(folder=str(course_copy)))
    try:
        yield
    finally:
        assert "imported" in studio.lms_shell(IMPORT.format(folder=str(python101_dir)))


def signed_in(stack: ExitStack, browser: Browser, studio: Studio, username: str) -> Page:
    """A browser of ``username``'s own, signed in to the LMS (closed with ``stack``)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(ACTION_MS)
    stack.callback(context.close)
    page = context.new_page()
    sign_in(page, studio, username)
    return page


def assignment_page(page: Page, studio: Studio) -> None:
    page.goto(f"{studio.lms_url}/courses/{COURSE}/{ASSIGNMENT}/")
    expect(page.get_by_role("heading", level=1, name=TITLE)).to_be_visible()


def submit_through_the_api(studio: Studio, learner: Learner, notebook_change) -> None:
    """What the Assignments panel does, with the learner's hub token: fetch the released files,
    answer, and send the folder as a tar."""
    studio.login(learner.username, spawn=False)
    path = f"courses/{COURSE}/assignments/{ASSIGNMENT}"
    released = grader_api(studio, learner.username, "GET", f"{path}/release")
    assert released.status_code == 200, released.text
    with tarfile.open(fileobj=io.BytesIO(released.content)) as archive:
        notebook = json.load(archive.extractfile(NOTEBOOK))
    sent = grader_api(studio, learner.username, "POST", f"{path}/submissions",
                      data=packed({NOTEBOOK: notebook_change(notebook)}))
    assert sent.status_code == 202, sent.text


def assert_anonymous(page: Page, hidden: list[Learner]) -> None:
    """Neither the username nor the name of any of ``hidden`` is anywhere on the page."""
    html = page.content()
    for learner in hidden:
        for name in learner.names:
            assert name not in html, f"{name} shows on {page.url}"


def review(page: Page, reviewer: Learner, number: int, screenshot) -> str:
    """On a review to do: the peer's notebook, a comment on line 2 of the clamp answer, the
    rubric and a summary, submitted. Returns the review's path."""
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{TITLE}: review of a classmate's work")
    expect(page.get_by_text("Reviewer: You")).to_be_visible()
    cell = page.locator(".submitted-cell", has_text=ANSWER_CELL)
    expect(cell).to_have_count(1)
    expect(page.get_by_role("heading", name="The autograder's results")).to_be_visible()
    assert HIDDEN_TEST not in page.content()
    assert_anonymous(page, others(reviewer))

    cell.get_by_label("Line").select_option("2")
    cell.get_by_role("textbox").fill(reviewer.comment)
    cell.get_by_role("button", name="Comment").click()
    expect(page.get_by_role("status")).to_have_text("Comment added.")
    expect(page).to_have_url(re.compile(r"/reviews/\d+/#cell-0-\d+$"))  # back at the cell
    cell = page.locator(".submitted-cell", has_text=ANSWER_CELL)
    expect(cell.locator(".review-comment")).to_have_text(f"Line 2: {reviewer.comment}")
    cell.scroll_into_view_if_needed()
    screenshot(page, f"4-{reviewer.username}-review-{number}-comment-on-a-line")

    page.get_by_label(re.compile(rf"^{reviewer.readability} \(")).check()
    page.get_by_label(re.compile(rf"^{reviewer.tests} \(")).check()
    page.get_by_label("Summary").fill(reviewer.summary)
    page.get_by_role("button", name="Submit the review").click()
    expect(page.get_by_role("status")).to_have_text("Your review is submitted.")
    rubric = page.get_by_role("heading", name=re.compile("^Rubric"))
    expect(rubric).to_have_text(f"Rubric: {reviewer.points} of {MAX_POINTS} points")
    rubric.scroll_into_view_if_needed()
    screenshot(page, f"5-{reviewer.username}-review-{number}-rubric-submitted")
    return urlsplit(page.url).path


def read_reviews(page: Page, studio: Studio, author: Learner, screenshot) -> list[str]:
    """The author's reviews: two, by "Reviewer 1" and "Reviewer 2", each with the rubric levels,
    the summary and the comment of the classmate who wrote it; the author replies and rates.
    Returns the reviews' paths."""
    assignment_page(page, studio)
    page.get_by_role("link", name="Your peer reviews").click()
    received = page.get_by_role("region", name="Reviews of your work").get_by_role("listitem")
    expect(received).to_have_count(2)
    expect(received).to_contain_text([re.compile(r"^Reviewer 1: \d of 4 points$"),
                                      re.compile(r"^Reviewer 2: \d of 4 points$")])
    screenshot(page, f"6-{author.username}-reviews-of-my-work")
    list_url = page.url
    paths, reviewers = [], []
    for number in (1, 2):
        page.goto(list_url)
        page.get_by_role("link", name=f"Reviewer {number}", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            f"{TITLE}: review of your work")
        expect(page.get_by_text(f"Reviewer: Reviewer {number}")).to_be_visible()
        points = int(re.search(r"Rubric: (\d+) of", page.get_by_role(
            "heading", name=re.compile("^Rubric")).inner_text()).group(1))
        reviewer = BY_POINTS[points]
        reviewers.append(reviewer)
        rubric = page.get_by_role("region", name=re.compile("^Rubric"))
        expect(rubric).to_contain_text(f"Readability: {reviewer.readability}")
        expect(rubric).to_contain_text(f"Tests: {reviewer.tests}")
        expect(rubric).to_contain_text(reviewer.summary)
        cell = page.locator(".submitted-cell", has_text=ANSWER_CELL)
        expect(cell.locator(".review-comment")).to_have_text(f"Line 2: {reviewer.comment}")
        assert HIDDEN_TEST not in page.content()
        assert_anonymous(page, others(author))

        thanks = f"Thank you, reviewer {number}: I will work on it."
        page.get_by_label("Your reply").fill(thanks)
        page.get_by_role("button", name="Reply", exact=True).click()
        expect(page.get_by_role("status")).to_have_text("Reply sent.")
        expect(page).to_have_url(re.compile(r"#replies-heading$"))
        expect(page.locator(".review-reply")).to_have_text(f"You: {thanks}")
        page.get_by_label(str(reviewer.helpfulness), exact=True).check()
        page.get_by_role("button", name="Rate").click()
        expect(page.get_by_role("status")).to_have_text("Thank you for rating the review.")
        expect(page.get_by_label(str(reviewer.helpfulness), exact=True)).to_be_checked()
        page.get_by_role("heading", name="Replies").scroll_into_view_if_needed()
        screenshot(page, f"7-{author.username}-read-review-{number}-replied-and-rated")
        paths.append(urlsplit(page.url).path)
    assert sorted(r.username for r in reviewers) == sorted(o.username for o in others(author))
    return paths


def test_three_learners_submit_review_one_another_read_reply_and_rate(
    studio, browser, reviewing_after_submit, screenshot
):
    for learner in LEARNERS:
        enroll_learner(studio, learner.username, COURSE)
    names = {learner.username: tuple(learner.full_name.split()) for learner in LEARNERS}
    assert "named" in studio.lms_shell(NAMES.format(names=names))

    with ExitStack() as stack:
        pages = {learner.username: signed_in(stack, browser, studio, learner.username)
                 for learner in LEARNERS}
        teacher = signed_in(stack, browser, studio, "instructor")

        # The first learner's JupyterLab runs before the release; the instructor releases.
        lab = pages[IN_LAB.username].context.new_page()
        lab.goto(f"{studio.hub_url}/hub/user-redirect/lab")
        lab.wait_for_url(re.compile(rf".*/user/{IN_LAB.username}/lab"), timeout=SPAWN_MS)
        open_assignments_panel(lab)
        assignment_page(teacher, studio)
        panel = teacher.get_by_role("region", name="Peer review")
        expect(panel).to_contain_text("Once a learner has submitted")
        teacher.get_by_role("button", name=RELEASE_BUTTON).click()
        expect(teacher.get_by_role("status")).to_contain_text("elease")
        screenshot(teacher, "1-released-with-peer-review")

        # Submitted: from the Assignments panel, and through the grader's API.
        lab.locator("#refresh_assignments_list").click()
        released = lab.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT)
        released.get_by_role("button", name="Fetch").click()
        fetched = lab.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first
        expect(fetched.get_by_role("button", name="Submit")).to_be_visible()
        save_notebook(lab, studio, IN_LAB.username, f"{COURSE}/{ASSIGNMENT}/{NOTEBOOK}",
                      lambda notebook: answered(notebook, assignment=ASSIGNMENT))
        fetched.get_by_role("button", name="Submit").click()
        expect(lab.locator("#submitted_assignments_list")).to_contain_text(ASSIGNMENT)
        screenshot(lab, "2-submitted-in-jupyterlab")
        lab.close()
        submit_through_the_api(studio, LEARNERS[1], lambda notebook: answered(
            notebook, assignment=ASSIGNMENT))
        submit_through_the_api(studio, LEARNERS[2], lambda notebook: answered(
            notebook, assignment=ASSIGNMENT, instead={"ps2-greeting-answer": WRONG}))
        studio.login(IN_LAB.username, spawn=False)
        for learner in LEARNERS:
            grades = studio.wait_for_grades(learner.username, COURSE, 1, GRADED_SECONDS)
            assert [g["status"] for g in grades] == ["graded"], grades

        # The first to ask gets the round for all three: each reviews the other two.
        first = pages[IN_LAB.username]
        assignment_page(first, studio)
        first.get_by_role("link", name="Your peer reviews").click()
        first.get_by_role("button", name="Get reviews to do").click()
        expect(first.get_by_role("status")).to_have_text("Your reviews to do are listed below.")
        reviewer_paths: dict[str, list[str]] = {}
        for learner in LEARNERS:
            page = pages[learner.username]
            assignment_page(page, studio)
            page.get_by_role("link", name="Your peer reviews").click()
            to_do = page.get_by_role("region", name="Reviews to do").get_by_role("link")
            expect(to_do).to_have_text(["Review of a classmate's work"] * 2)
            assert_anonymous(page, others(learner))
            screenshot(page, f"3-{learner.username}-reviews-to-do")
            hrefs = [to_do.nth(i).get_attribute("href") for i in range(2)]
            reviewer_paths[learner.username] = []
            for number, href in enumerate(hrefs, start=1):
                page.goto(studio.lms_url + href)
                reviewer_paths[learner.username].append(
                    review(page, learner, number, screenshot))

        # Each author reads, replies and rates; the reviewer reads the reply, unnamed.
        author_paths = {learner.username: read_reviews(
            pages[learner.username], studio, learner, screenshot) for learner in LEARNERS}
        reviewer = pages[LEARNERS[1].username]
        reviewer.goto(studio.lms_url + reviewer_paths[LEARNERS[1].username][0])
        expect(reviewer.locator(".review-reply")).to_have_text(
            re.compile(r"^A classmate: Thank you, reviewer [12]: I will work on it\.$"))
        assert_anonymous(reviewer, others(LEARNERS[1]))

        # The instructor sees every review with names, points and ratings.
        teacher.goto(f"{studio.lms_url}/courses/{COURSE}/reviews/{ASSIGNMENT}/")
        rows = teacher.get_by_role("region", name="Every review").locator("tbody tr")
        expect(rows).to_have_count(6)
        seen = {tuple(rows.nth(i).locator("td").all_inner_texts()[:5]) for i in range(6)}
        assert seen == {
            (author.full_name, reviewer.full_name, "Submitted", str(reviewer.points),
             str(reviewer.helpfulness))
            for author in LEARNERS for reviewer in others(author)
        }
        screenshot(teacher, "8-instructor-every-review")

    # axe-core on the review pages, each opened by the person it is for.
    for username, pages_of in {
        IN_LAB.username: {
            "axe reviewers page": reviewer_paths[IN_LAB.username][0],
            "axe my peer reviews": f"/courses/{COURSE}/reviews/{ASSIGNMENT}/",
            "axe authors review": author_paths[IN_LAB.username][0],
        },
        "instructor": {
            "axe instructors overview": f"/courses/{COURSE}/reviews/{ASSIGNMENT}/",
            "axe instructors review": author_paths[IN_LAB.username][0],
        },
    }.items():
        tab = new_tab(browser, VIEWPORT, ACTION_MS)
        try:
            sign_in(tab, studio, username)
            assert pages_violations(tab, screenshot, studio.lms_url, pages_of) == {}
        finally:
            tab.context.close()
