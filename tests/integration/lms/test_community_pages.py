"""Who may open and post to each page of the board (learner of the course, learner of another
course, instructor, staff, anonymous), the board's lists cost the same queries for 2 or 20
threads (no N+1), and the board's pages and API read the course (kept per content version) and
the member's standing in it (their enrollments) in one query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lms.community.models import Ban, Post
from tests.support.board_queries import add_threads, queries_for
from tests.support.lms_factories import (
    PostFactory,
    ThreadFactory,
    UserFactory,
)
from tests.support.lms_fixtures import ROLES, client_for


@pytest.fixture
def thread(course, other_learner):
    made = ThreadFactory(course=course, author=other_learner)
    PostFactory(thread=made, author=other_learner)
    return made


READ = {"course_learner": 200, "other_course_learner": 403, "instructor": 200, "staff": 200,
        "anonymous": 302}
MODERATE = {"course_learner": 403, "other_course_learner": 403, "instructor": 200, "staff": 200,
            "anonymous": 302}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("path", "expected"),
    [("board/", READ), ("board/{thread}/", READ), ("board/review/", MODERATE),
     ("board/audit/", MODERATE)],
)
def test_who_may_open_each_page(callers, course, thread, role, path, expected):
    url = f"/courses/{course.slug}/" + path.format(thread=thread.pk)
    assert client_for(callers[role]).get(url).status_code == expected[role]


WRITE = {"course_learner": 302, "other_course_learner": 403, "instructor": 302, "staff": 302,
         "anonymous": 302}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_reply(callers, course, thread, role):
    client_for(callers[role]).post(f"/courses/{course.slug}/board/{thread.pk}/act/",
                                   {"action": "reply", "body": f"reply by {role}"})
    written = Post.objects.filter(body=f"reply by {role}").exists()
    assert written == (role in {"course_learner", "instructor", "staff"})


@pytest.mark.parametrize("role", ROLES)
def test_who_may_pin(callers, course, thread, role):
    client_for(callers[role]).post(f"/courses/{course.slug}/board/{thread.pk}/act/",
                                   {"action": "pin", "on": "1"})
    thread.refresh_from_db()
    assert thread.pinned == (role in {"instructor", "staff"})


@pytest.mark.parametrize("role", ROLES)
def test_who_may_ban(callers, course, other_learner, role):
    client_for(callers[role]).post(f"/courses/{course.slug}/board/bans/",
                                   {"username": other_learner.username, "days": "2"})

    assert Ban.objects.filter(user=other_learner).exists() == (role in {"instructor", "staff"})


@pytest.mark.parametrize("role", ["course_learner", "instructor"])
def test_the_board_costs_the_same_queries_for_2_or_20_threads(callers, course, role):
    client = client_for(callers[role])
    url = f"/courses/{course.slug}/board/"
    add_threads(course, 2)
    few = queries_for(client, url)
    add_threads(course, 18)
    assert queries_for(client, url) == few


def test_a_thread_costs_the_same_queries_for_2_or_20_replies(course, learner, thread):
    client = client_for(learner)
    url = f"/courses/{course.slug}/board/{thread.pk}/"
    few = queries_for(client, url)
    for _ in range(18):
        PostFactory(thread=thread, author=UserFactory())
    assert queries_for(client, url) == few


@pytest.mark.parametrize("path", ["/courses/{slug}/board/", "/api/v1/courses/{slug}/threads/"])
def test_the_board_reads_its_course_and_the_members_standing_in_one_query(course, learner, path):
    client = client_for(learner)
    url = path.format(slug=course.slug)
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    queries = [query["sql"] for query in captured]
    assert len([sql for sql in queries if '"courses_enrollment"' in sql]) == 1
    assert [sql for sql in queries if 'FROM "courses_coursepage"' in sql] == []


@pytest.mark.parametrize("path", ["/courses/{slug}/board/", "/api/v1/courses/{slug}/threads/"])
def test_the_board_of_a_course_that_is_not_live_is_not_found(course, learner, path):
    client = client_for(learner)
    url = path.format(slug=course.slug)
    course.unpublish()
    assert client.get(url).status_code == 404
    assert client.get(path.format(slug="no-such-course")).status_code == 404
