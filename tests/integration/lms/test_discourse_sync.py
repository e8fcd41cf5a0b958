"""Each course's category and group on Discourse, kept in step with enrollments through the admin
API (a local server playing Discourse, recording every call); the calls run after the change
commits, never fail a learner's request, and running them again changes nothing."""

from __future__ import annotations

import logging

import pytest
from django.core.management import CommandError, call_command

from lms.courses.models import EnrollmentRole
from lms.courses.services import enroll, leave
from lms.discourse import services
from lms.discourse.models import DiscourseCourse, SyncTask
from tests.support.lms_factories import UserFactory

pytestmark = pytest.mark.django_db

GROUP = "course-python-101"


@pytest.fixture
def synced(fake_discourse, course, django_capture_on_commit_callbacks):
    """python-101 published once, so its category and group exist; the calls forgotten."""
    with django_capture_on_commit_callbacks(execute=True):
        course.save_revision().publish()
    fake_discourse.calls.clear()
    return DiscourseCourse.objects.get(course=course)


def test_publishing_a_course_creates_its_group_and_category_open_to_that_group_only(
    fake_discourse, course, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        course.save_revision().publish()

    known = DiscourseCourse.objects.get(course=course)
    assert [(c.method, c.path) for c in fake_discourse.writes()] == [
        ("POST", "/admin/groups.json"), ("POST", "/categories.json"),
    ]
    group = fake_discourse.groups[GROUP]
    assert (group["id"], group["full_name"], group["public_admission"]) == (
        known.group_id, "Python 101", False)
    category = fake_discourse.categories[known.category_id]
    assert (category["name"], category["slug"], category["permissions"]) == (
        "Python 101", "python-101", {GROUP: 1})
    assert not SyncTask.objects.exists()


def test_the_calls_carry_the_api_key_and_wait_for_the_commit(
    fake_discourse, course, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        course.save_revision().publish()
    assert fake_discourse.calls == []  # nothing before the commit

    for callback in callbacks:
        callback()
    assert fake_discourse.groups  # the fake answers only the configured key (403 otherwise)


def test_a_learner_who_uses_discourse_joins_the_group_on_enrolling_and_leaves_it_on_leaving(
    synced, fake_discourse, course, django_capture_on_commit_callbacks
):
    user = UserFactory(username="grace")
    fake_discourse.users[str(user.pk)] = "grace_h"

    with django_capture_on_commit_callbacks(execute=True):
        enroll(user, course)
    assert [(c.method, c.path, c.body) for c in fake_discourse.writes()] == [
        ("PUT", f"/groups/{synced.group_id}/members.json", {"usernames": "grace_h"}),
    ]
    assert fake_discourse.members(GROUP) == {"grace_h"}

    fake_discourse.calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        leave(user, course)
    assert [(c.method, c.path, c.body) for c in fake_discourse.writes()] == [
        ("DELETE", f"/groups/{synced.group_id}/members.json", {"usernames": "grace_h"}),
    ]
    assert fake_discourse.members(GROUP) == set()


def test_an_instructor_joins_the_group_too(
    synced, fake_discourse, course, django_capture_on_commit_callbacks
):
    user = UserFactory(username="ada")
    fake_discourse.users[str(user.pk)] = "ada"

    with django_capture_on_commit_callbacks(execute=True):
        enroll(user, course, EnrollmentRole.INSTRUCTOR)

    assert fake_discourse.members(GROUP) == {"ada"}


def test_someone_who_never_signed_in_to_discourse_is_left_to_their_first_sign_in(
    synced, fake_discourse, course, django_capture_on_commit_callbacks
):
    user = UserFactory(username="newbie")

    with django_capture_on_commit_callbacks(execute=True):
        enroll(user, course)

    assert [(c.method, c.path) for c in fake_discourse.calls] == [
        ("GET", f"/u/by-external/{user.pk}.json"),
    ]
    assert not SyncTask.objects.exists()


def test_enrolling_before_the_course_was_synced_creates_it_first(
    fake_discourse, course, django_capture_on_commit_callbacks
):
    user = UserFactory(username="grace")
    fake_discourse.users[str(user.pk)] = "grace"

    with django_capture_on_commit_callbacks(execute=True):
        enroll(user, course)

    assert DiscourseCourse.objects.get(course=course).category_id
    assert fake_discourse.members(GROUP) == {"grace"}


def test_a_discourse_that_is_down_costs_the_learner_nothing_and_is_retried(
    synced, fake_discourse, course, client, django_capture_on_commit_callbacks, caplog
):
    user = UserFactory(username="grace")
    fake_discourse.users[str(user.pk)] = "grace"
    fake_discourse.failing = True
    client.force_login(user)

    with caplog.at_level(logging.WARNING, logger="lms.discourse"), \
            django_capture_on_commit_callbacks(execute=True):
        response = client.post("/enrollments/python-101/enroll/", follow=True)

    assert response.status_code == 200
    assert "Discourse answered" not in response.content.decode()
    task = SyncTask.objects.get()
    assert (task.kind, task.user, task.attempts) == ("member", user, 1)
    assert "answered GET" in task.last_error and "500" in task.last_error
    assert "retried in" in caplog.text

    fake_discourse.failing = False
    assert services.run_pending(now=task.run_after) == (1, 0)
    assert fake_discourse.members(GROUP) == {"grace"}
    assert not SyncTask.objects.exists()


def test_a_refusal_is_logged_and_not_retried(
    synced, fake_discourse, course, settings, django_capture_on_commit_callbacks, caplog
):
    user = UserFactory(username="grace")
    settings.DISCOURSE_API_KEY = "revoked-key"

    with caplog.at_level(logging.ERROR, logger="lms.discourse"), \
            django_capture_on_commit_callbacks(execute=True):
        enroll(user, course)

    assert "refused, not retried" in caplog.text
    assert not SyncTask.objects.exists()


def test_without_an_api_key_nothing_is_queued_or_called(
    discourse, course, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        course.save_revision().publish()
        enroll(UserFactory(username="grace"), course)

    assert not SyncTask.objects.exists()
    assert not DiscourseCourse.objects.exists()


def test_the_resync_command_makes_the_group_exactly_the_courses_members_and_again_changes_nothing(
    synced, fake_discourse, course, learner, instructor, other_learner
):
    fake_discourse.users.update({str(learner.pk): "grace", str(instructor.pk): "ada",
                                 "999999": "mallory"})
    fake_discourse.groups[GROUP]["members"].update({"grace", "mallory"})
    fake_discourse.calls.clear()
    SyncTask.objects.all().delete()  # the fixtures' enrollments, whose commit never came

    call_command("discourse_sync")

    assert fake_discourse.members(GROUP) == {"grace", "ada"}
    assert [(c.method, c.path) for c in fake_discourse.writes()] == [
        ("PUT", f"/groups/{synced.group_id}.json"),
        ("PUT", f"/categories/{synced.category_id}.json"),
        ("PUT", f"/groups/{synced.group_id}/members.json"),
        ("DELETE", f"/groups/{synced.group_id}/members.json"),
    ]

    fake_discourse.calls.clear()
    call_command("discourse_sync")
    assert [c.path for c in fake_discourse.writes()] == [
        f"/groups/{synced.group_id}.json", f"/categories/{synced.category_id}.json",
    ]
    assert len(fake_discourse.groups) == 1 and len(fake_discourse.categories) == 1


def test_the_resync_finds_a_category_and_group_made_before_instead_of_duplicating_them(
    fake_discourse, course
):
    fake_discourse.groups[GROUP] = {"id": 7, "name": GROUP, "full_name": "old",
                                    "members": set()}
    fake_discourse.categories[8] = {"name": "Old", "slug": "python-101", "permissions": {}}

    call_command("discourse_sync")

    known = DiscourseCourse.objects.get(course=course)
    assert (known.group_id, known.category_id) == (7, 8)
    assert not [c for c in fake_discourse.calls if c.method == "POST"]
    assert fake_discourse.categories[8]["permissions"] == {GROUP: 1}


def test_the_resync_command_says_when_discourse_is_not_configured(db):
    with pytest.raises(CommandError, match="DISCOURSE_API_KEY"):
        call_command("discourse_sync")
