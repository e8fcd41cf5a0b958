"""Course import: creates the course from course.yml, is idempotent, and a bad file (or a failure
half-way) changes nothing."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from wagtail.models import Page, Revision

from courses.course_file import CourseFileError
from lms.courses import course_import
from lms.courses.course_import import import_course
from lms.courses.models import AssignmentPage, CoursePage, Enrollment, EnrollmentRole, LessonPage
from lms.courses.services import enroll
from tests.support.lms_factories import InstructorFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_import_creates_course_lessons_and_assignments(python101_dir):
    instructor = InstructorFactory(username="instructor")
    report = import_course(python101_dir)

    course = CoursePage.objects.get(slug="python-101")
    assert report.course == course and course.live
    assert course.title == "Python 101" and course.enrollment_open
    syllabus_html = course.syllabus.get_prep_value()[0]["value"]
    assert "<table>" in syllabus_html  # markdown, tables included, became rich text
    lessons = LessonPage.objects.child_of(course).live().order_by("position")
    assert [lesson.notebook_path for lesson in lessons][:1] == ["lessons/01-basics.ipynb"]
    assert lessons.count() >= 4
    ps1 = AssignmentPage.objects.child_of(course).get(nbgrader_name="ps1-basics")
    assert ps1.points == 10 and ps1.late_policy == "penalty" and ps1.late_cutoff_days == 3
    assert ps1.due_at.year == 2027 and ps1.hints
    assert (
        AssignmentPage.objects.child_of(course)
        .get(nbgrader_name="ps3-data-structures")
        .tutor_policy
        == "off"
    )
    assert Enrollment.objects.get(user=instructor, course=course).role == "instructor"
    assert report.warnings == []


def test_reimport_changes_nothing_and_adds_no_revisions(python101_dir):
    import_course(python101_dir)
    pages, revisions = Page.objects.count(), Revision.objects.count()

    report = import_course(python101_dir)

    assert not report.changed
    assert (Page.objects.count(), Revision.objects.count()) == (pages, revisions)


def test_reimport_applies_edits_and_unpublishes_removed_lessons(course_copy, edit_course_yml):
    import_course(course_copy)

    def change(data):
        data["title"] = "Python 101 (autumn)"
        data["lessons"].pop()  # the last lesson is gone from course.yml
        data["assignments"][1]["tutor"] = "full"

    edit_course_yml(course_copy, change)
    report = import_course(course_copy)

    course = CoursePage.objects.get(slug="python-101")
    assert course.title == "Python 101 (autumn)"
    assert report.updated == ["course python-101", "assignment page ps2-functions"]
    assert report.unpublished == ["lesson page data-structures"]
    removed = LessonPage.objects.get(slug="data-structures")
    assert not removed.live  # kept for learners' progress, but off the site
    assert AssignmentPage.objects.get(nbgrader_name="ps2-functions").tutor_policy == "full"


def test_missing_instructor_account_is_a_warning_not_an_error(python101_dir):
    report = import_course(python101_dir)
    assert report.warnings == [
        "instructor 'instructor' has no account yet: enroll them after they sign up"
    ]


def test_bad_file_names_the_problem_and_writes_nothing(course_copy, edit_course_yml):
    edit_course_yml(course_copy, lambda data: data["assignments"][2].pop("title"))
    pages = Page.objects.count()

    with pytest.raises(CourseFileError) as error:
        import_course(course_copy)

    assert error.value.field_name == "assignments[2].title"
    assert Page.objects.count() == pages
    assert not CoursePage.objects.exists()


def test_failure_half_way_rolls_back_every_write(monkeypatch, python101_dir):
    InstructorFactory(username="instructor")

    def explode(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(course_import, "enroll", explode)  # the last step of an import
    with pytest.raises(RuntimeError):
        import_course(python101_dir)

    assert not CoursePage.objects.exists()
    assert not LessonPage.objects.exists()


def test_command_reports_bad_file_and_nothing_imported(course_copy, capsys):
    (course_copy / "course.yml").write_text("title: [broken\n")
    with pytest.raises(
        CommandError, match=r"Nothing was imported\. .*course\.yml: \(file\): not valid YAML"
    ):
        call_command("import_course", str(course_copy))


def test_command_refuses_a_misspelt_key_with_the_nearest_key_and_imports_nothing(
    course_copy, edit_course_yml
):
    edit_course_yml(course_copy, lambda data: data.update(enrolment="closed"))
    with pytest.raises(CommandError) as error:
        call_command("import_course", str(course_copy))
    assert str(error.value) == (
        f"Nothing was imported. {course_copy / 'course.yml'}: enrolment: unknown key; "
        "did you mean enrollment?"
    )
    assert not CoursePage.objects.exists()


def test_command_imports_and_says_so(capsys, python101_dir):
    call_command("import_course", str(python101_dir))
    call_command("import_course", str(python101_dir))
    out = capsys.readouterr().out
    assert "python-101: created: course python-101" in out
    assert "python-101: already up to date" in out


def test_the_grading_mode_comes_from_course_yml_and_in_kernel_is_a_warning_to_instructors(
    course_copy, edit_course_yml, client
):
    import_course(course_copy)
    course = CoursePage.objects.get(slug="python-101")
    assert course.grading_mode == "judge"  # the default
    ps1 = AssignmentPage.objects.child_of(course).get(nbgrader_name="ps1-basics")
    instructor = InstructorFactory(username="instructor")
    enroll(instructor, course, EnrollmentRole.INSTRUCTOR)
    client.force_login(instructor)
    assert 'id="in-kernel-risk"' not in client.get(ps1.url).content.decode()

    edit_course_yml(course_copy, lambda data: data.update(grading="in-kernel"))
    report = import_course(course_copy)

    assert report.updated == ["course python-101"]
    assert CoursePage.objects.get(slug="python-101").grading_mode == "in-kernel"
    page = client.get(ps1.url).content.decode()
    assert 'id="in-kernel-risk"' in page and "a score may be forged" in page
    learner = UserFactory(username="learner9")
    enroll(learner, course, EnrollmentRole.LEARNER)
    client.force_login(learner)
    assert 'id="in-kernel-risk"' not in client.get(ps1.url).content.decode()
