"""The board's pages pass axe-core in a real browser (Debian's Chromium through Playwright,
the LMS served by Django's live server): the board, a thread, the new-thread form, the review
queue and the audit log with its bans, as a learner and as an instructor, show no serious or
critical violation. axe-core comes from npm (``.ci/provision browser`` keeps it in
``var/axe/``); each page is kept as a screenshot in ``var/e2e/`` (tests/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from lms.accounts.models import User
from lms.community import selectors, services
from lms.community.models import PostStatus
from lms.community.views import PAGE_SIZE
from lms.courses.models import EnrollmentRole
from lms.courses.services import enroll
from tests.support.axe import LIVE_PAGE_CHECKS, pages_violations, sign_in
from tests.support.lms_factories import (
    AssignmentFactory,
    CourseFactory,
    InstructorFactory,
    LessonFactory,
    PostFactory,
    ThreadFactory,
    UserFactory,
)

pytestmark = LIVE_PAGE_CHECKS

@pytest.fixture
def board(live_server, settings):
    """A course's board with what each page shows: threads (one anonymous, one pinned, one with
    code, and older ones enough for a second page), answers and comments, a held post, a
    report, a ban and the audit log."""
    settings.LMS_COMMUNITY_POST_RATE = "100/min"
    course = CourseFactory(slug="python-101", title="Python 101")
    ThreadFactory.create_batch(PAGE_SIZE, course=course, last_activity_at=timezone.now()
                               - timedelta(days=30))
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


def _fill_in_the_new_thread(name: str, tab) -> None:
    if name == "new thread":
        tab.locator("#new-heading").scroll_into_view_if_needed()
        tab.get_by_label("Title").fill("How do I read a CSV file?")


def test_the_learners_board_pages_have_no_serious_axe_violations(tab, screenshot, board):
    base, course, thread = board
    sign_in(tab, base, "grace")
    root = f"/courses/{course.slug}/board/"
    grace = selectors.viewer(User.objects.get(username="grace"), course)
    _, older = selectors.page_after(selectors.threads_for(grace), PAGE_SIZE)
    pages = {"board": root, "board search": root + "?q=loop&unanswered=1",
             "older threads": f"{root}?after={older}", "thread": f"{root}{thread.pk}/",
             "new thread": root}
    assert pages_violations(tab, screenshot, base, pages, _fill_in_the_new_thread) == {}


def test_the_instructors_board_pages_have_no_serious_axe_violations(tab, screenshot, board):
    base, course, thread = board
    sign_in(tab, base, "ada")
    root = f"/courses/{course.slug}/board/"
    pages = {"instructor board": root, "instructor thread": f"{root}{thread.pk}/",
             "review queue": root + "review/", "audit log and bans": root + "audit/"}
    assert pages_violations(tab, screenshot, base, pages) == {}
