"""The pages the community's second wave added pass axe-core in a real browser (Debian's Chromium
through Playwright, the LMS served by Django's live server), each opened by the person it is for
with data made through the apps' services: the dashboard with the notification bell, the
notifications, the email preferences and a signed unsubscribe link's confirmation
(lms.notifications); the tutor panel's "Ask the class" draft (lms.community.drafts); a course's
study groups, a group, its board, the sessions' calendar and an invite (lms.groups); an
assignment's reviews for its instructor and for a learner (their reviews to do and of their
work), a review with the peer's notebook for its reviewer and, once submitted, for the work's
author (lms.review, the notebook from a stand-in grader). None shows a serious or critical
violation; each is kept as a screenshot in ``var/e2e/`` (tests/conftest.py)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from courses.course_file import PeerReview, RubricCriterion, RubricLevel
from lms.community import selectors as board_selectors
from lms.community import services as board_services
from lms.courses.models import EnrollmentRole
from lms.courses.services import enroll
from lms.groups import selectors as group_selectors
from lms.groups import services as group_services
from lms.groups.models import Admission
from lms.notifications import unsubscribe
from lms.notifications.models import Kind
from lms.review import services as review_services
from lms.review.models import Review
from tests.support.axe import LIVE_PAGE_CHECKS, pages_violations, sign_in
from tests.support.lms_factories import (
    AssignmentFactory,
    CourseFactory,
    GradeFactory,
    InstructorFactory,
    LessonFactory,
    UserFactory,
)

pytestmark = LIVE_PAGE_CHECKS

LEARNERS = ("grace", "linus", "katherine")
RUBRIC = (
    RubricCriterion("Readability", (RubricLevel("Clear", 2), RubricLevel("Muddled", 0))),
    RubricCriterion("Tests", (RubricLevel("Tried", 2), RubricLevel("Not tried", 0))),
)
SCORES = {"Readability": "Clear", "Tests": "Tried"}


def submission_id(username: str) -> str:
    return f"{LEARNERS.index(username) + 1:032x}"


def submitted_notebook(username: str) -> dict:
    """The grader's answer for a learner's submitted ps2-functions (docs/grading.md)."""
    cells = [
        {"cell_type": "markdown", "source": "## Celsius to Fahrenheit\nWrite `to_f(c)`.",
         "metadata": {}},
        {"cell_type": "code", "execution_count": 1, "metadata": {},
         "source": "def to_f(c):\n    return c * 9 / 5 + 32\n\nto_f(100)",
         "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                      "data": {"text/plain": "212.0"}}]},
    ]
    return {"submission": {"id": submission_id(username), "learner": username,
                           "submitted_at": None, "status": "graded"},
            "notebooks": [{"name": "ps2-functions.ipynb", "problem": "", "notebook": {
                "cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}],
            "tests": None}


@pytest.fixture
def wave(live_server, settings, fake_grader):
    """Python 101 with three learners and an instructor: a board thread answered, endorsed and
    announced over (so each has notifications), a study group with a session and a thread, and
    ps2-functions' peer review round with one review submitted and commented."""
    settings.LMS_COMMUNITY_POST_RATE = "100/min"
    course = CourseFactory(slug="python-101", title="Python 101")
    LessonFactory(parent=course, slug="basics", title="Basics")
    spec = PeerReview(enabled=True, reviews_per_submission=2, opens="after_due",
                      anonymity="both", deadline=timezone.now() + dt.timedelta(days=7),
                      counts_towards_grade=True, weight=0.5, rubric=RUBRIC)
    ps2 = AssignmentFactory(parent=course, slug="ps2-functions", nbgrader_name="ps2-functions",
                            title="Functions", due_at=timezone.now() - dt.timedelta(days=1),
                            peer_review=spec.as_json())
    people = {name: UserFactory(username=name) for name in LEARNERS}
    for user in people.values():
        enroll(user, course)
    ada = InstructorFactory(username="ada")
    enroll(ada, course, EnrollmentRole.INSTRUCTOR)

    grace, linus = board_selectors.viewer(people["grace"], course), \
        board_selectors.viewer(people["linus"], course)
    teacher = board_selectors.viewer(ada, course)
    thread, _ = board_services.create_thread(
        grace, kind="question", title="Why does my loop never end?",
        body="```python\nwhile x < 10:\n    print(x)\n```",
        anchor_page=board_selectors.anchor_of(course, "basics"),
    )
    answer, _ = board_services.reply(linus, thread, body="@grace you never change `x`.")
    board_services.endorse(teacher, answer)
    board_services.create_thread(teacher, kind="announcement", title="Office hours",
                                 body="Tuesdays at **4 pm**.")

    as_grace = group_selectors.groups_viewer(people["grace"], course)
    group = group_services.create_group(as_grace, name="Loop lovers", size_limit=4,
                                        admission=Admission.INVITATION)
    group_services.assign(group_selectors.groups_viewer(ada, course), group, people["linus"])
    starts = (timezone.now() + dt.timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    group_services.add_session(as_grace, group, title="Loops, together", starts_at=starts,
                               ends_at=starts + dt.timedelta(hours=1), place="Library, room 2",
                               link="https://meet.example.org/loops")
    board_services.create_thread(
        group_selectors.board_viewer(as_grace, group), kind="discussion",
        title="Before Tuesday", body="Read chapter 3 first?",
    )
    invite = group_services.invite_token(as_grace, group)

    for name, user in people.items():
        GradeFactory(assignment=ps2, learner=user, submission_id=submission_id(name))
        fake_grader.misbehave(
            "GET", f"/courses/python-101/assignments/ps2-functions/submissions/"
                   f"{submission_id(name)}/notebook", ("json", 200, submitted_notebook(name)))
    review_services.assign_reviews(ps2)
    # grace and linus share a study group, so neither reviews the other
    done = Review.objects.get(assignment=ps2, reviewer=people["katherine"],
                              author=people["linus"])
    review_services.add_comment(done, people["katherine"], "ps2-functions.ipynb", 1, 2,
                                "Name the 32: `FREEZING = 32`.")
    review_services.submit_review(done, people["katherine"], SCORES,
                                  "Clear and correct. Well done.")
    to_do = Review.objects.get(assignment=ps2, reviewer=people["grace"],
                               author=people["katherine"])
    return {"base": live_server.url, "course": course, "group": group, "invite": invite,
            "done": done, "to_do": to_do, "grace": people["grace"]}


def test_a_learners_new_pages_have_no_serious_axe_violations(tab, screenshot, wave):
    course, group = wave["course"], wave["group"]
    sign_in(tab, wave["base"], "grace")
    ask = urlencode({"title": "NameError in to_f", "about": "basics", "cell": "a1b2c3", "n": 3,
                     "error": "NameError: name 'c' is not defined",
                     "traceback": 'Traceback (most recent call last):\n  File "<cell>", line 2'
                                  "\nNameError: name 'c' is not defined"})
    pages = {
        "dashboard with bell": "/dashboard/",
        "notifications": reverse("notifications"),
        "notification preferences": reverse("notifications-preferences"),
        "unsubscribe confirm": reverse("notifications-unsubscribe",
                                       args=[unsubscribe.token(wave["grace"].pk, Kind.REPLY)]),
        "ask the class draft": f"/courses/{course.slug}/board/ask/?{ask}",
        "study groups": reverse("groups-course", args=[course.slug]),
        "study group": reverse("groups-group", args=[course.slug, group.pk]),
        "study group board": reverse("groups-board", args=[course.slug, group.pk]),
        "study sessions calendar": reverse("groups-calendar"),
        "review to do": reverse("review", args=[wave["to_do"].pk]),
    }
    assert pages_violations(tab, screenshot, wave["base"], pages) == {}


def test_an_invited_learners_invite_page_has_no_serious_axe_violations(tab, screenshot, wave):
    sign_in(tab, wave["base"], "katherine")
    pages = {"group invite": reverse("groups-invite", args=[wave["invite"]])}
    assert pages_violations(tab, screenshot, wave["base"], pages) == {}


def test_an_authors_reviewed_work_has_no_serious_axe_violations(tab, screenshot, wave):
    sign_in(tab, wave["base"], "linus")
    pages = {
        "my peer reviews": reverse("review-assignment",
                                   args=[wave["course"].slug, "ps2-functions"]),
        "review of my work": reverse("review", args=[wave["done"].pk]),
    }
    assert pages_violations(tab, screenshot, wave["base"], pages) == {}


def test_an_instructors_review_pages_have_no_serious_axe_violations(tab, screenshot, wave):
    sign_in(tab, wave["base"], "ada")
    pages = {
        "assignment reviews": reverse("review-assignment",
                                      args=[wave["course"].slug, "ps2-functions"]),
        "instructor review": reverse("review", args=[wave["done"].pk]),
        "instructor notifications": reverse("notifications"),
    }
    assert pages_violations(tab, screenshot, wave["base"], pages) == {}
