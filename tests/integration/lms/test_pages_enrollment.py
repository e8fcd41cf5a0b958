"""Enrolling, leaving and lesson progress through the course and lesson pages."""

from __future__ import annotations

import pytest
from django.test import Client

from lms.courses.models import Enrollment, LessonPage, LessonProgress, ProgressStatus
from tests.support.lms_factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def basics(course):
    return LessonPage.objects.child_of(course).get(slug="basics")


def test_learner_enrolls_from_the_course_page_when_enrollment_is_open(client, course):
    user = UserFactory(username="newcomer")
    client.force_login(user)
    assert "Enroll in Python 101" in client.get(course.url).content.decode()

    response = client.post("/enrollments/python-101/enroll/", follow=True)

    assert response.redirect_chain == [(course.url, 302)]
    assert Enrollment.objects.get(user=user, course=course).role == "learner"
    html = response.content.decode()
    assert "You are enrolled in Python 101." in html and "Leave this course" in html


def test_enrollment_is_refused_when_the_course_is_closed(client, course):
    course.enrollment_open = False
    course.save_revision().publish()
    user = UserFactory(username="latecomer")
    client.force_login(user)
    assert "Enrollment is closed" in client.get(course.url).content.decode()

    response = client.post("/enrollments/python-101/enroll/", follow=True)

    assert not Enrollment.objects.filter(user=user).exists()
    assert "Enrollment in this course is closed" in response.content.decode()


def test_enrolling_twice_keeps_one_enrollment(client, course, learner):
    client.force_login(learner)

    client.post("/enrollments/python-101/enroll/")

    assert Enrollment.objects.filter(user=learner, course=course).count() == 1


def test_enroll_and_leave_need_a_post_with_a_csrf_token(course, learner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)

    assert client.get("/enrollments/python-101/leave/").status_code == 405
    assert client.post("/enrollments/python-101/leave/").status_code == 403
    assert Enrollment.objects.filter(user=learner, course=course).exists()


def test_anonymous_enroll_is_sent_to_sign_in_and_back_to_the_course(client, course):
    response = client.post("/enrollments/python-101/enroll/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/courses/python-101/"
    assert not Enrollment.objects.exists()


def test_enrolling_in_an_unknown_course_is_404(client, learner):
    client.force_login(learner)

    assert client.post("/enrollments/no-such-course/enroll/").status_code == 404


def test_learner_leaves_a_course_from_its_page(client, course, learner):
    client.force_login(learner)

    response = client.post("/enrollments/python-101/leave/", follow=True)

    assert not Enrollment.objects.filter(user=learner, course=course).exists()
    assert "You left Python 101" in response.content.decode()
    assert "Enroll in Python 101" in response.content.decode()


def test_viewing_a_lesson_records_it_as_opened_once(client, learner, basics):
    client.force_login(learner)

    client.get(basics.url)
    first = LessonProgress.objects.get(user=learner, lesson=basics)
    client.get(basics.url)

    again = LessonProgress.objects.get(user=learner, lesson=basics)
    assert first.status == again.status == ProgressStatus.OPENED
    assert again.opened_at == first.opened_at


def test_viewing_a_lesson_without_being_a_learner_records_nothing(
    client, course, basics, instructor
):
    client.get(basics.url)  # anonymous
    client.force_login(UserFactory(username="visitor"))
    client.get(basics.url)
    client.force_login(instructor)
    client.get(basics.url)

    assert not LessonProgress.objects.exists()


def test_learner_marks_a_lesson_complete_and_not_complete_again(client, learner, basics):
    client.force_login(learner)

    response = client.post(f"/lessons/{basics.pk}/complete/", {"completed": "1"}, follow=True)

    progress = LessonProgress.objects.get(user=learner, lesson=basics)
    assert progress.status == ProgressStatus.COMPLETED and progress.completed_at is not None
    html = response.content.decode()
    assert response.redirect_chain == [(basics.url, 302)]
    assert "is marked as complete" in html and "Mark as not complete" in html

    client.post(f"/lessons/{basics.pk}/complete/", {"completed": "0"})

    progress.refresh_from_db()
    assert progress.status == ProgressStatus.OPENED and progress.completed_at is None


def test_only_enrolled_learners_can_complete_a_lesson(client, basics, instructor):
    client.force_login(UserFactory(username="visitor"))
    assert client.post(f"/lessons/{basics.pk}/complete/").status_code == 403
    client.force_login(instructor)
    assert client.post(f"/lessons/{basics.pk}/complete/").status_code == 403

    assert not LessonProgress.objects.exists()


def test_anonymous_lesson_complete_is_sent_to_sign_in(client, basics):
    response = client.post(f"/lessons/{basics.pk}/complete/")

    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not LessonProgress.objects.exists()
