"""The API's permission matrix: every endpoint x every kind of caller.

The world: python-101 (instructor ada; learners grace and linus, each with a grade and lesson
progress; a released assignment with hints and an unreleased exam) and data-201 (instructor
barbara; learner margaret with a grade and progress), plus a staff member and the tutor's
service account (``svc-tutor``: every course's tutor policy and hints, nothing else). Anonymous
callers always get 401 with a ``WWW-Authenticate: Token`` challenge (see lms/api/base.py).
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from lms.courses.models import AssignmentPage, CoursePage, LessonPage
from lms.gradebook.models import Grade
from lms.tutor.services import ensure_tutor_account
from tests.support.lms_factories import (
    AssignmentFactory,
    EnrollmentFactory,
    GradeFactory,
    LessonFactory,
    LessonProgressFactory,
    UserFactory,
)

ACTORS = ["learner", "other_learner", "instructor", "other_course_instructor", "staff",
          "tutor_service", "anonymous"]


@pytest.fixture
def world(course, learner, other_learner, instructor, other_course_instructor, staff):
    now = timezone.now()
    ps1 = AssignmentPage.objects.get(nbgrader_name="ps1-basics")
    AssignmentPage.objects.filter(pk=ps1.pk).update(hints=["Multiply first."], tutor_policy="full")
    AssignmentFactory(
        parent=course,
        slug="ps9-exam",
        nbgrader_name="ps9-exam",
        release_at=now + dt.timedelta(days=7),
        due_at=now + dt.timedelta(days=8),
        hints=["Exam hint"],
    )
    basics = LessonPage.objects.get(slug="basics")
    data = CoursePage.objects.get(slug="data-201")
    data_lesson = LessonFactory(parent=data, slug="frames")
    data_assignment = AssignmentFactory(parent=data, slug="ds1", nbgrader_name="ds1",
                                        tutor_policy="off", hints=["Read the frame first."])
    margaret = UserFactory(username="margaret")
    EnrollmentFactory(user=margaret, course=data)
    grades = {
        "grace": GradeFactory(assignment=ps1, learner=learner),
        "linus": GradeFactory(assignment=ps1, learner=other_learner),
        "margaret": GradeFactory(assignment=data_assignment, learner=margaret),
    }
    progress = {
        "grace": LessonProgressFactory(user=learner, lesson=basics),
        "linus": LessonProgressFactory(user=other_learner, lesson=basics),
        "margaret": LessonProgressFactory(user=margaret, lesson=data_lesson),
    }
    return SimpleNamespace(
        learner=learner,
        other_learner=other_learner,
        instructor=instructor,
        other_course_instructor=other_course_instructor,
        staff=staff,
        tutor_service=ensure_tutor_account("tutor-token-for-the-permission-matrix")[0],
        anonymous=None,
        grades=grades,
        progress=progress,
    )


@pytest.fixture
def client_as(world):
    def make(actor: str) -> APIClient:
        client = APIClient()
        if actor != "anonymous":
            client.force_authenticate(getattr(world, actor))
        return client

    return make


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def assert_anonymous_challenged(response) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


# --- me/ ------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ACTORS)
def test_me_describes_the_caller_and_nobody_else(client_as, world, actor):
    response = client_as(actor).get("/api/v1/me/")
    if actor == "anonymous":
        assert_anonymous_challenged(response)
        return
    assert response.status_code == 200
    assert response.json()["username"] == getattr(world, actor).username


def test_me_lists_the_hub_groups_of_the_oidc_claim(client_as):
    me = client_as("instructor").get("/api/v1/me/").json()
    assert me == {
        "username": "ada",
        "name": me["name"],
        "email": "ada@example.org",
        "role": "instructor",
        "groups": ["formgrade-python-101"],
    }
    assert client_as("learner").get("/api/v1/me/").json()["groups"] == ["nbgrader-python-101"]
    assert "staff" in client_as("staff").get("/api/v1/me/").json()["groups"]


# --- courses, lessons, assignments ---------------------------------------------------------


@pytest.mark.parametrize("actor", ACTORS)
def test_every_signed_in_caller_sees_the_live_catalogue(client_as, actor):
    response = client_as(actor).get("/api/v1/courses/")
    if actor == "anonymous":
        assert_anonymous_challenged(response)
        return
    assert {c["slug"] for c in results(response)} == {"python-101", "data-201"}
    detail = client_as(actor).get("/api/v1/courses/python-101/")
    assert detail.status_code == 200
    assert detail.json()["title"] == "Python 101"


def test_a_draft_course_is_not_in_the_api(client_as, course):
    course.unpublish()
    assert client_as("staff").get("/api/v1/courses/python-101/").status_code == 404
    slugs = {c["slug"] for c in results(client_as("staff").get("/api/v1/courses/"))}
    assert "python-101" not in slugs


@pytest.mark.parametrize("actor", ACTORS)
def test_every_signed_in_caller_sees_a_courses_lessons(client_as, actor):
    response = client_as(actor).get("/api/v1/courses/python-101/lessons/")
    if actor == "anonymous":
        assert_anonymous_challenged(response)
        return
    assert [lesson["slug"] for lesson in results(response)] == ["basics", "functions"]


@pytest.mark.parametrize(
    ("actor", "visible"),
    [
        ("learner", {"ps1-basics"}),
        ("other_learner", {"ps1-basics"}),
        ("instructor", {"ps1-basics", "ps9-exam"}),
        ("other_course_instructor", {"ps1-basics"}),
        ("staff", {"ps1-basics", "ps9-exam"}),
        ("tutor_service", {"ps1-basics", "ps9-exam"}),  # their policy, for instructors trying
    ],
)
def test_unreleased_assignments_are_listed_only_for_the_courses_instructors_and_the_tutor(
    client_as, actor, visible
):
    response = client_as(actor).get("/api/v1/courses/python-101/assignments/")
    assert {a["nbgrader_name"] for a in results(response)} == visible


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("learner", 404),
        ("other_learner", 404),
        ("instructor", 200),
        ("other_course_instructor", 404),
        ("staff", 200),
        ("tutor_service", 200),
        ("anonymous", 401),
    ],
)
def test_an_unreleased_assignment_is_found_only_by_the_courses_instructors_and_the_tutor(
    client_as, actor, expected
):
    response = client_as(actor).get("/api/v1/courses/python-101/assignments/ps9-exam/")
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("actor", "sees_details"),
    [
        ("learner", True),
        ("other_learner", True),
        ("instructor", True),
        ("other_course_instructor", False),
        ("staff", True),
        ("tutor_service", True),
    ],
)
def test_hints_and_tutor_policy_are_for_the_courses_enrolled_people_and_the_tutor(
    client_as, actor, sees_details
):
    ps1 = client_as(actor).get("/api/v1/courses/python-101/assignments/ps1-basics/").json()
    if sees_details:
        assert ps1["hints"] == ["Multiply first."]
        assert ps1["tutor_policy"] == "full"
    else:
        assert ps1["hints"] is None
        assert ps1["tutor_policy"] is None
    assert ps1["points"] == "10.00"  # the rest is public


@pytest.mark.parametrize("actor", ["tutor_service", "instructor", "learner"])
def test_only_the_tutor_reads_the_tutor_settings_of_every_course(client_as, actor):
    (ds1,) = results(client_as(actor).get("/api/v1/courses/data-201/assignments/"))
    if actor == "tutor_service":
        assert (ds1["tutor_policy"], ds1["hints"]) == ("off", ["Read the frame first."])
    else:
        assert (ds1["tutor_policy"], ds1["hints"]) == (None, None)


# --- enrollments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "visible"),
    [
        ("learner", {("python-101", "grace")}),
        ("other_learner", {("python-101", "linus")}),
        ("instructor", {("python-101", "grace"), ("python-101", "linus"), ("python-101", "ada")}),
        ("other_course_instructor", {("data-201", "barbara"), ("data-201", "margaret")}),
        (
            "staff",
            {
                ("python-101", "grace"),
                ("python-101", "linus"),
                ("python-101", "ada"),
                ("data-201", "barbara"),
                ("data-201", "margaret"),
            },
        ),
        ("tutor_service", set()),
    ],
)
def test_enrollments_are_visible_to_the_person_their_instructors_and_staff(
    client_as, actor, visible
):
    listed = results(client_as(actor).get("/api/v1/enrollments/"))
    assert {(e["course"], e["user"]) for e in listed} == visible


def test_anonymous_cannot_list_enrollments(client_as):
    assert_anonymous_challenged(client_as("anonymous").get("/api/v1/enrollments/"))


def test_instructor_filters_enrollments_by_course(client_as):
    listed = results(client_as("instructor").get("/api/v1/enrollments/?course=python-101"))
    assert {e["user"] for e in listed} == {"grace", "linus", "ada"}
    learners = client_as("instructor").get("/api/v1/enrollments/?course=python-101&role=learner")
    assert {e["user"] for e in results(learners)} == {"grace", "linus"}


def test_learner_cannot_fetch_a_classmates_enrollment(client_as, world):
    linus = world.other_learner.enrollments.get()
    assert client_as("learner").get(f"/api/v1/enrollments/{linus.pk}/").status_code == 404
    assert client_as("instructor").get(f"/api/v1/enrollments/{linus.pk}/").status_code == 200


# --- progress -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "visible"),
    [
        ("learner", {"grace"}),
        ("other_learner", {"linus"}),
        ("instructor", {"grace", "linus"}),
        ("other_course_instructor", {"margaret"}),
        ("staff", {"grace", "linus", "margaret"}),
        ("tutor_service", set()),
    ],
)
def test_progress_is_visible_to_the_learner_their_instructors_and_staff(client_as, actor, visible):
    listed = results(client_as(actor).get("/api/v1/progress/"))
    assert {p["user"] for p in listed} == visible


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("learner", 200),
        ("other_learner", 404),
        ("instructor", 200),
        ("other_course_instructor", 404),
        ("staff", 200),
        ("tutor_service", 404),
        ("anonymous", 401),
    ],
)
def test_who_may_read_a_learners_lesson_progress(client_as, world, actor, expected):
    pk = world.progress["grace"].pk
    response = client_as(actor).get(f"/api/v1/progress/{pk}/")
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["course"] == "python-101"
        assert response.json()["lesson"] == "basics"


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("learner", 200),
        ("other_learner", 200),
        ("instructor", 403),
        ("other_course_instructor", 403),
        ("staff", 403),
        ("anonymous", 401),
    ],
)
def test_only_the_courses_learners_record_lesson_progress(client_as, world, actor, expected):
    payload = {"course": "python-101", "lesson": "functions", "status": "completed"}
    response = client_as(actor).post("/api/v1/progress/", payload, format="json")
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["user"] == getattr(world, actor).username


# --- grades ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("learner", 200),
        ("other_learner", 404),
        ("instructor", 200),
        ("other_course_instructor", 404),
        ("staff", 200),
        ("tutor_service", 404),
        ("anonymous", 401),
    ],
)
def test_who_may_read_a_learners_grade(client_as, world, actor, expected):
    response = client_as(actor).get(f"/api/v1/grades/{world.grades['grace'].pk}/")
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["learner"] == "grace"
        assert response.json()["course"] == "python-101"


@pytest.mark.parametrize(
    ("actor", "visible"),
    [
        ("learner", {"grace"}),
        ("other_learner", {"linus"}),
        ("instructor", {"grace", "linus"}),
        ("other_course_instructor", {"margaret"}),
        ("staff", {"grace", "linus", "margaret"}),
        ("tutor_service", set()),
    ],
)
def test_grade_lists_hold_only_the_grades_the_caller_may_see(client_as, actor, visible):
    assert {g["learner"] for g in results(client_as(actor).get("/api/v1/grades/"))} == visible


def test_learner_cannot_read_other_learners_grades(client_as, world):
    linus_grade = world.grades["linus"].pk
    assert client_as("learner").get(f"/api/v1/grades/{linus_grade}/").status_code == 404
    listed = results(client_as("learner").get("/api/v1/grades/?learner=linus"))
    assert listed == []


def test_instructor_cannot_read_another_courses_grades(client_as, world):
    margaret_grade = world.grades["margaret"].pk
    assert client_as("instructor").get(f"/api/v1/grades/{margaret_grade}/").status_code == 404
    assert results(client_as("instructor").get("/api/v1/grades/?course=data-201")) == []


@pytest.mark.parametrize("method", ["post", "put"])
@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("learner", 403),
        ("other_learner", 403),
        ("instructor", 403),
        ("other_course_instructor", 403),
        ("staff", 403),  # even a superuser: only an explicit gradebook.push_grades writes
        ("tutor_service", 403),
        ("anonymous", 401),
    ],
)
def test_nobody_but_the_grader_service_writes_grades(client_as, actor, expected, method):
    payload = {
        "course": "python-101",
        "assignment": "ps1-basics",
        "learner": "grace",
        "submission_id": "forged",
        "score": "10",
        "max_score": "10",
        "submitted_at": timezone.now().isoformat(),
    }
    response = getattr(client_as(actor), method)("/api/v1/grades/", payload, format="json")
    assert response.status_code == expected
    assert not Grade.objects.filter(submission_id="forged").exists()


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("learner", 405),
        ("instructor", 405),
        ("staff", 405),
        ("anonymous", 401),
    ],
)
def test_grades_cannot_be_changed_or_deleted_one_by_one(client_as, world, actor, expected):
    url = f"/api/v1/grades/{world.grades['grace'].pk}/"
    assert client_as(actor).patch(url, {"score": "10"}, format="json").status_code == expected
    assert client_as(actor).delete(url).status_code == expected


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("learner", 403),
        ("other_learner", 403),
        ("instructor", 200),
        ("other_course_instructor", 403),
        ("staff", 200),
        ("tutor_service", 403),
        ("anonymous", 401),
    ],
)
def test_only_the_courses_instructors_see_its_gradebook(client_as, actor, expected):
    response = client_as(actor).get("/api/v1/courses/python-101/gradebook/")
    assert response.status_code == expected
    if expected == 403:
        assert "instructors" in response.json()["detail"]


# --- enroll and leave -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("learner", 200),  # already enrolled: unchanged
        ("other_learner", 200),
        ("instructor", 200),  # stays an instructor
        ("other_course_instructor", 201),
        ("staff", 201),
        ("anonymous", 401),
    ],
)
def test_signed_in_callers_enroll_themselves_where_enrollment_is_open(
    client_as, world, actor, expected
):
    response = client_as(actor).post("/api/v1/courses/python-101/enroll/")
    assert response.status_code == expected
    if actor == "instructor":
        assert response.json()["role"] == "instructor"


@pytest.mark.parametrize(
    ("actor", "expected"), [("learner", 204), ("staff", 204), ("anonymous", 401)]
)
def test_signed_in_callers_leave_for_themselves_only(client_as, world, actor, expected):
    response = client_as(actor).post("/api/v1/courses/python-101/leave/")
    assert response.status_code == expected
    assert world.other_learner.enrollments.exists()  # nobody else was removed


# --- the grading actions (the LMS calls the grader for them) and the grade export -------------

GRADING = [
    ("post", "/api/v1/courses/python-101/assignments/ps1-basics/release/", 200),  # again
    ("delete", "/api/v1/courses/python-101/assignments/ps1-basics/release/", 204),
    ("get", "/api/v1/courses/python-101/assignments/ps1-basics/submissions/", 200),
    ("post", "/api/v1/courses/python-101/assignments/ps1-basics/regrade/", 202),
    ("post", "/api/v1/courses/python-101/assignments/ps1-basics/feedback/", 200),
]
ACTORS = [
    ("learner", False),
    ("other_learner", False),
    ("instructor", True),
    ("other_course_instructor", False),
    ("staff", True),
    ("tutor_service", False),
    ("anonymous", False),
]


def assert_only_instructors_served(response, actor: str, allowed: bool, done: int) -> None:
    if actor == "anonymous":
        assert_anonymous_challenged(response)
    elif not allowed:
        assert response.status_code == 403
        assert "instructors" in response.json()["detail"]
    else:
        assert response.status_code == done, response.content


@pytest.mark.parametrize(("method", "url", "done"), GRADING)
@pytest.mark.parametrize(("actor", "allowed"), ACTORS)
def test_only_the_courses_instructors_act_on_the_grader(
    client_as, world, fake_grader, actor, allowed, method, url, done
):
    fake_grader.released["python-101", "ps1-basics"] = {"due_at": None}  # so DELETE succeeds

    response = getattr(client_as(actor), method)(url, {}, format="json")

    assert_only_instructors_served(response, actor, allowed, done)
    if allowed:
        assert [r.acting_for for r in fake_grader.requests] == [getattr(world, actor).username]
    if not allowed:
        assert fake_grader.requests == []  # refused by the LMS: the grader never heard of it


@pytest.mark.parametrize(("actor", "allowed"), ACTORS)
def test_only_the_courses_instructors_export_its_grades_from_the_lms(
    client_as, world, fake_grader, actor, allowed
):
    response = client_as(actor).get("/api/v1/courses/python-101/grades.csv")

    assert_only_instructors_served(response, actor, allowed, 200)
    assert fake_grader.requests == []  # the export is the LMS's own grades


@pytest.mark.parametrize(
    "actor", ["learner", "other_course_instructor", "tutor_service", "anonymous"]
)
def test_an_unreleased_assignment_is_not_even_found_by_others(client_as, fake_grader, actor):
    response = client_as(actor).post("/api/v1/courses/python-101/assignments/ps9-exam/release/")

    assert response.status_code == (401 if actor == "anonymous" else 403)
    assert fake_grader.requests == []
