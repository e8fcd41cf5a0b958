"""The course pages under load: what is the same for everyone (where a URL leads, a course's
lessons and assignments) is cached per content version (lms/base/versioned_cache.py) and read
again after any change, by any process; whether a person may open the admin, per permissions
version (lms/accounts/permissions.py); what is a viewer's own (enrollment, progress, grades) is
read for each request, once (lms/base/request_memo.py), and never passes to another viewer."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from wagtail.models import PageViewRestriction

from lms.base import versioned_cache
from lms.base.models import CacheVersion
from lms.base.request_memo import RequestMemoMiddleware, remembered
from lms.courses.models import Enrollment, LessonPage
from lms.courses.selectors import enrollment_of
from lms.courses.services import enroll, mark_lesson_completed
from lms.notifications.models import Kind
from lms.notifications.services import Event, mark_read, notify
from tests.support.lms_factories import GradeFactory, LessonFactory, UserFactory

pytestmark = pytest.mark.django_db


def lesson(course, slug: str) -> LessonPage:
    return LessonPage.objects.child_of(course).get(slug=slug)


def queries_of(client: Client, url: str) -> list[str]:
    """The SQL of one request, after one request that fills the caches."""
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_a_published_edit_shows_at_the_next_request(client, course, learner):
    client.force_login(learner)
    basics = lesson(course, "basics")
    assert "Basics" in client.get(basics.url).content.decode()

    basics.title = "Values and variables"
    basics.save_revision().publish()
    LessonFactory(parent=course, slug="loops", title="Loops", position=99)

    assert "Values and variables" in client.get(basics.url).content.decode()
    course_page = client.get(course.url).content.decode()
    assert "Values and variables" in course_page and "Loops" in course_page


def test_an_unpublished_or_renamed_page_is_gone_at_the_next_request(client, course, learner):
    client.force_login(learner)
    basics, functions = lesson(course, "basics"), lesson(course, "functions")
    old_url = functions.url
    assert client.get(basics.url).status_code == 200
    assert client.get(old_url).status_code == 200

    basics.unpublish()
    functions.slug = "defining-functions"
    functions.save_revision().publish()

    assert client.get(basics.url).status_code == 404
    assert client.get(old_url).status_code == 404
    assert client.get(lesson(course, "defining-functions").url).status_code == 200
    assert "Basics" not in client.get(course.url).content.decode()


def test_a_view_restriction_added_to_a_cached_page_is_enforced(client, course):
    url = lesson(course, "basics").url
    assert client.get(url).status_code == 200

    restriction = PageViewRestriction.objects.create(
        page=course, restriction_type=PageViewRestriction.GROUPS
    )
    restriction.groups.add(Group.objects.create(name="Only these"))

    assert client.get(url).status_code == 302  # to sign in


def test_a_change_made_by_another_process_shows_at_the_next_request(client, course, learner):
    """Another gunicorn worker has its own cache: it learns of a change only from the content
    version in the database, which the changing process replaced."""
    client.force_login(learner)
    basics = lesson(course, "basics")
    assert "Basics" in client.get(basics.url).content.decode()

    # the edit as this process sees it when another one made it: rows changed, no signal here
    LessonPage.objects.filter(pk=basics.pk).update(title="Edited elsewhere")
    assert "Edited elsewhere" not in client.get(basics.url).content.decode()  # cached
    # what the other process's receiver did
    CacheVersion.objects.filter(kind="content").update(value=versioned_cache.new_version())

    assert "Edited elsewhere" in client.get(basics.url).content.decode()


def test_each_content_change_draws_a_version_never_seen(course):
    seen = {versioned_cache.version(versioned_cache.CONTENT)}
    for n in range(5):
        LessonFactory(parent=course, slug=f"extra-{n}")
        seen.add(versioned_cache.version(versioned_cache.CONTENT))
    assert len(seen) == 6


def test_a_learner_never_sees_another_learners_progress_or_grades(course, learner):
    other = UserFactory(username="hopper", first_name="Grace", last_name="Hopper")
    learner.first_name, learner.last_name = "Ada", "Lovelace"
    learner.save()
    enroll(other, course)
    basics = lesson(course, "basics")
    mark_lesson_completed(learner, basics)
    assignment = course.get_children().get(slug="ps1-basics").specific
    GradeFactory(assignment=assignment, learner=learner, score=7, max_score=10)
    ada, hopper = Client(), Client()
    ada.force_login(learner)
    hopper.force_login(other)

    for url in (course.url, basics.url, "/dashboard/"):
        ada_page, hopper_page = ada.get(url).content.decode(), hopper.get(url).content.decode()
        assert "Ada Lovelace" in ada_page and "Ada Lovelace" not in hopper_page
        assert "Grace Hopper" in hopper_page and "Grace Hopper" not in ada_page
    for url in (course.url, basics.url):
        assert "Completed" in ada.get(url).content.decode()
        assert "Completed" not in hopper.get(url).content.decode()
    assert "1 of 2 lessons completed" in ada.get("/dashboard/").content.decode()
    assert "0 of 2 lessons completed" in hopper.get("/dashboard/").content.decode()
    assert "7 / 10" in ada.get(course.url).content.decode()
    assert "Not graded yet" in hopper.get(course.url).content.decode()


def test_an_enrollment_made_during_a_request_is_read_again_in_it(course, rf):
    """The viewer's enrollments are read once per request, but a change in the request
    (``enroll``, ``leave``) makes the next question read them again."""
    newcomer = UserFactory(username="newcomer")
    answers = []

    def view(request):
        answers.append(enrollment_of(newcomer, course))
        enroll(newcomer, course)
        answers.append(enrollment_of(newcomer, course))
        return None

    RequestMemoMiddleware(view)(rf.get("/"))

    assert answers[0] is None
    assert answers[1] == Enrollment.objects.get(user=newcomer, course=course)


def test_joining_a_course_s_instructors_shows_the_admin_link_at_the_next_request(
    client, course, learner
):
    client.force_login(learner)
    assert "Wagtail admin" not in client.get(course.url).content.decode()

    enroll(learner, course, "instructor")  # joins the course's admin group

    assert "Wagtail admin" in client.get(course.url).content.decode()
    learner.groups.clear()
    assert "Wagtail admin" not in client.get(course.url).content.decode()


def test_a_permission_given_directly_shows_the_admin_link_at_the_next_request(
    client, course, learner
):
    client.force_login(learner)
    assert "Wagtail admin" not in client.get(course.url).content.decode()

    learner.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )

    assert "Wagtail admin" in client.get(course.url).content.decode()


def test_the_bell_counts_a_new_notification_and_one_read_at_the_next_request(client, learner):
    client.force_login(learner)
    assert "data-unread" not in client.get("/dashboard/").content.decode()
    event = Event(kind=Kind.GRADE, text="graded “Loops”", url="/dashboard/")

    made, = notify(event, [learner])
    assert 'data-unread="1"' in client.get("/dashboard/").content.decode()
    mark_read(learner, made.pk)
    assert "data-unread" not in client.get("/dashboard/").content.decode()
    again, = notify(event, [learner])
    assert 'data-unread="1"' in client.get("/dashboard/").content.decode()
    again.delete()  # as with its course or its recipient
    assert "data-unread" not in client.get("/dashboard/").content.decode()


def test_nothing_is_remembered_outside_a_request():
    calls = []
    remembered("key", lambda: calls.append(1))
    remembered("key", lambda: calls.append(1))
    assert len(calls) == 2


# The queries of each page kind a learner opens most, once the content is cached: the cache
# versions, the session and the user, the learner's enrollments (once, for every app that adds
# to the page), and their own progress or grades. (Before the caches: 22-26 a page, 12 the
# dashboard.)
COMMON = 3  # versions, the session with its person (lms/accounts/sessions.py), enrollments


def test_a_course_page_costs_a_fixed_few_queries(client, course, learner):
    client.force_login(learner)
    queries = queries_of(client, course.url)
    # + the learner's lesson statuses and their counting grades
    assert len(queries) == COMMON + 2, "\n".join(queries)
    assert sum("courses_enrollment" in q for q in queries) == 1


def test_a_lesson_page_costs_a_fixed_few_queries(client, course, learner):
    client.force_login(learner)
    queries = queries_of(client, lesson(course, "basics").url)
    # + the learner's progress on it (read once: recorded as opened, and shown); the board's
    # "Discussion (N)" is counted once per process and version of the board
    assert len(queries) == COMMON + 1, "\n".join(queries)
    assert sum("courses_enrollment" in q for q in queries) == 1


def test_an_assignment_page_costs_a_fixed_few_queries(client, course, learner):
    client.force_login(learner)
    url = course.get_children().get(slug="ps1-basics").url
    queries = queries_of(client, url)
    # + the learner's grades of it ("Discussion (N)": counted once per version of the board)
    assert len(queries) == COMMON + 1, "\n".join(queries)
    assert sum("courses_enrollment" in q for q in queries) == 1


def test_the_dashboard_costs_a_fixed_few_queries(client, course, learner):
    client.force_login(learner)
    queries = queries_of(client, "/dashboard/")
    # + the completed lessons, the latest grades, and the study sessions
    assert len(queries) == COMMON + 3, "\n".join(queries)
