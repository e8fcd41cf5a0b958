"""Who may use the admin sites: instructors edit only their own courses in the Wagtail admin,
learners do not get in at all, staff do everything; the Django admin is for staff only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from lms.courses.models import Enrollment, EnrollmentRole, LessonPage
from lms.courses.services import enroll, instructor_admin_group, mark_lesson_opened
from tests.support.lms_factories import CourseFactory, InstructorFactory, LessonFactory, UserFactory

pytestmark = pytest.mark.django_db


def edit_url(page) -> str:
    return f"/admin/pages/{page.pk}/edit/"


@pytest.fixture
def python_101_instructor(course):
    """An instructor enrolled the way the import and the API do it (through the service), which
    also puts them in the course's Wagtail editing group."""
    user = InstructorFactory(username="guido")
    enroll(user, course, EnrollmentRole.INSTRUCTOR)
    return user


@pytest.fixture
def other_course():
    other = CourseFactory(slug="data-201", title="Data 201")
    LessonFactory(parent=other, slug="pandas", title="Pandas")
    return other


def test_instructor_edits_a_lesson_of_their_own_course(client, course, python_101_instructor):
    lesson = LessonPage.objects.child_of(course).get(slug="basics")
    client.force_login(python_101_instructor)

    response = client.get(edit_url(lesson))

    assert response.status_code == 200
    assert "Basics" in response.content.decode()
    assert client.get(edit_url(course)).status_code == 200


def test_instructor_is_turned_away_from_another_courses_pages(
    client, python_101_instructor, other_course
):
    lesson = LessonPage.objects.child_of(other_course).get()
    client.force_login(python_101_instructor)

    for page in (lesson, other_course):
        response = client.get(edit_url(page), follow=True)
        assert response.redirect_chain[0] == ("/admin/", 302), page
        assert "permission" in response.content.decode().lower()


def test_instructor_cannot_save_another_courses_page(client, python_101_instructor, other_course):
    lesson = LessonPage.objects.child_of(other_course).get()
    client.force_login(python_101_instructor)

    response = client.post(edit_url(lesson), {"title": "Defaced", "slug": "pandas"})

    assert response.status_code == 302 and response["Location"] == "/admin/"
    lesson.refresh_from_db()
    assert lesson.title == "Pandas"


def test_instructors_page_explorer_starts_at_their_course(client, course, python_101_instructor):
    client.force_login(python_101_instructor)

    response = client.get("/admin/pages/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == f"/admin/pages/{course.pk}/"


def test_leaving_the_course_takes_the_admin_access_away(client, course, python_101_instructor):
    from lms.courses.services import leave

    leave(python_101_instructor, course)
    client.force_login(python_101_instructor)

    response = client.get(edit_url(course))

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_learner_cannot_access_the_wagtail_admin_at_all(client, course, learner):
    client.force_login(learner)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    lesson = LessonPage.objects.child_of(course).get(slug="basics")
    assert client.get(edit_url(lesson)).status_code == 302


def test_staff_edit_every_courses_pages(client, staff, course, other_course):
    client.force_login(staff)

    for page in (course, other_course, LessonPage.objects.child_of(other_course).get()):
        assert client.get(edit_url(page)).status_code == 200


def test_wagtail_admin_link_shows_only_for_people_with_admin_access(
    client, course, learner, python_101_instructor
):
    client.force_login(learner)
    assert "Wagtail admin" not in client.get("/").content.decode()

    client.force_login(python_101_instructor)
    assert 'href="/admin/">Wagtail admin</a>' in client.get("/").content.decode()


def test_django_admin_is_for_staff_only(client, course, python_101_instructor, learner):
    for user in (python_101_instructor, learner):
        client.force_login(user)
        response = client.get("/django-admin/courses/enrollment/")
        assert response.status_code == 302
        assert response["Location"].startswith("/django-admin/login/")


def test_staff_search_and_filter_enrollments_and_progress(client, staff, course, learner):
    mark_lesson_opened(learner, LessonPage.objects.child_of(course).get(slug="basics"))
    client.force_login(staff)

    response = client.get("/django-admin/courses/enrollment/", {"q": "grace", "role": "learner"})

    assert response.status_code == 200
    assert [e.user.username for e in response.context["cl"].result_list] == ["grace"]
    response = client.get("/django-admin/courses/lessonprogress/", {"q": "grace"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    perms = response.context["cl"].model_admin.get_model_perms(response.wsgi_request)
    assert perms["view"] and not perms["add"] and not perms["change"]  # the learners' record


def test_staff_enrolling_an_instructor_in_the_django_admin_grants_wagtail_editing(
    client, staff, course
):
    teacher = UserFactory(username="margaret")
    client.force_login(staff)

    response = client.post(
        "/django-admin/courses/enrollment/add/",
        {"user": teacher.pk, "course": course.pk, "role": EnrollmentRole.INSTRUCTOR},
    )

    assert response.status_code == 302
    assert Enrollment.objects.get(user=teacher, course=course).role == "instructor"
    assert instructor_admin_group(course) in teacher.groups.all()

    enrollment = Enrollment.objects.get(user=teacher, course=course)
    client.post(f"/django-admin/courses/enrollment/{enrollment.pk}/delete/", {"post": "yes"})

    assert not Enrollment.objects.filter(user=teacher).exists()
    assert not Group.objects.filter(user=teacher).exists()


def test_previewing_a_new_lesson_renders_it(course):
    lesson = LessonPage(title="Draft lesson", slug="draft", notebook_path="lessons/x.ipynb")
    lesson.depth = course.depth + 1
    lesson.path = course.get_last_child()._inc_path()  # what Wagtail's create preview does

    response = lesson.make_preview_request()

    assert response.status_code == 200
    assert "Draft lesson" in response.content.decode()
