"""The board's pages pass axe-core in a real browser (Debian's Chromium through Playwright,
the LMS served by Django's live server): the board, a thread, the new-thread form, the review
queue and the audit log with its bans, as a learner and as an instructor, show no serious or
critical violation. axe-core comes from npm (``.ci/provision browser`` keeps it in
``var/axe/``); each page is kept as a screenshot in ``var/e2e/`` (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms.community import selectors, services
from lms.community.models import PostStatus
from lms.courses.models import EnrollmentRole
from lms.courses.services import enroll
from tests.conftest import ACTION_MS, VIEWPORT
from tests.support.lms_factories import (
    PASSWORD,
    AssignmentFactory,
    CourseFactory,
    InstructorFactory,
    LessonFactory,
    PostFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("wagtail_initial_tree"),
]

AXE = Path(__file__).resolve().parents[3] / "var/axe/node_modules/axe-core/axe.min.js"
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module", autouse=True)
def _orm_beside_the_browser():
    """Playwright's sync API keeps an event loop running in the test's thread; these tests call
    the ORM only between browser steps, never from the loop."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def board(live_server, settings):
    """A course's board with what each page shows: threads (one anonymous, one pinned, one with
    code), answers and comments, a held post, a report, a ban and the audit log."""
    settings.LMS_COMMUNITY_POST_RATE = "100/min"
    course = CourseFactory(slug="python-101", title="Python 101")
    LessonFactory(parent=course, slug="basics", title="Basics")
    AssignmentFactory(parent=course, slug="ps1-basics", nbgrader_name="ps1-basics")
    learner, other = UserFactory(username="grace"), UserFactory(username="linus")
    instructor = InstructorFactory(username="ada")
    for user in (learner, other):
        enroll(user, course)
    enroll(instructor, course, EnrollmentRole.INSTRUCTOR)
    as_learner = selectors.viewer(learner, course)
    as_other = selectors.viewer(other, course)
    as_instructor = selectors.viewer(instructor, course)
    thread, _ = services.create_thread(
        as_learner, kind="question", title="Why does my loop never end?",
        body="I wrote:\n\n```python\nwhile x < 10:\n    print(x)\n```\n\nWhat is wrong?",
        anchor_page=selectors.anchor_of(course, "basics"),
    )
    answer, _ = services.reply(as_other, thread, body="You never change `x`. Add `x += 1`.")
    services.reply(as_learner, thread, body="Thanks @linus!", parent=answer)
    services.endorse(as_instructor, answer)
    services.create_thread(as_other, kind="discussion", title="Study group?", body="Anyone?",
                           anonymous=True)
    pinned, _ = services.create_thread(as_instructor, kind="announcement", title="Office hours",
                                       body="Tuesdays at **4 pm**.")
    services.set_thread_flags(as_instructor, pinned, pinned=True, locked=True)
    PostFactory(thread=thread, author=other, status=PostStatus.HELD, held_for="ps1-basics",
                body="def to_f(c): ...", html="<pre><code>def to_f(c): ...</code></pre>")
    services.report(as_learner, answer, "It gives the whole answer away.")
    services.ban(as_instructor, other, days=2, reason="Posting solutions")
    return live_server.url, course, thread


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/dashboard/")


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:3])
        for v in found["violations"]
        if v["impact"] in SERIOUS
    ]


@pytest.fixture
def tab(browser):
    """A page whose content security policy does not stop the injected axe-core script."""
    assert AXE.exists(), f"{AXE} is missing: run `.ci/provision browser`"
    context = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    context.set_default_timeout(ACTION_MS)
    yield context.new_page()
    context.close()


def _check(tab, screenshot, base, pages) -> dict[str, list[str]]:
    found = {}
    for name, path in pages.items():
        response = tab.goto(base + path)
        assert response is not None and response.status == 200, path
        if name == "new thread":
            tab.locator("#new-heading").scroll_into_view_if_needed()
            tab.get_by_label("Title").fill("How do I read a CSV file?")
        screenshot(tab, name.replace(" ", "-"))
        if violations := serious_violations(tab):
            found[name] = violations
    return found


def test_the_learners_board_pages_have_no_serious_axe_violations(tab, screenshot, board):
    base, course, thread = board
    _sign_in(tab, base, "grace")
    root = f"/courses/{course.slug}/board/"
    pages = {"board": root, "board search": root + "?q=loop&unanswered=1",
             "thread": f"{root}{thread.pk}/", "new thread": root}
    assert _check(tab, screenshot, base, pages) == {}


def test_the_instructors_board_pages_have_no_serious_axe_violations(tab, screenshot, board):
    base, course, thread = board
    _sign_in(tab, base, "ada")
    root = f"/courses/{course.slug}/board/"
    pages = {"instructor board": root, "instructor thread": f"{root}{thread.pk}/",
             "review queue": root + "review/", "audit log and bans": root + "audit/"}
    assert _check(tab, screenshot, base, pages) == {}
