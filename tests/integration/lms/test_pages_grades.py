"""What a learner sees of their grade: the counting score, the score per test and the grader's
feedback (in a sandboxed frame) on the assignment page, and a line per assignment on the
dashboard. Only the learner and the course's instructors see it."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.utils import timezone

from lms.courses.models import AssignmentPage
from lms.gradebook.models import GradeStatus
from tests.support.lms_factories import GradeFactory, UserFactory

pytestmark = pytest.mark.django_db

BREAKDOWN = [
    {"id": "test_double", "notebook": "problems", "score": 4.0, "max_score": 4.0},
    {"id": "test_initials", "notebook": "problems", "score": 1.5, "max_score": 6.0},
]
FEEDBACK = '<h1>Feedback</h1><script>alert("grade")</script><p>Test <b>initials</b> failed</p>'


@pytest.fixture
def ps1(course) -> AssignmentPage:
    return AssignmentPage.objects.get(nbgrader_name="ps1-basics")


@pytest.fixture
def graces_grade(ps1, learner):
    return GradeFactory(
        assignment=ps1,
        learner=learner,
        score=5.5,
        max_score=10,
        counts=True,
        breakdown=BREAKDOWN,
        feedback_html=FEEDBACK,
    )


def feedback_frames(html: str) -> list[str]:
    return re.findall(r"<iframe[^>]*>", html)


def test_learner_sees_the_counting_score_tests_and_feedback(client, graces_grade, ps1, learner):
    client.force_login(learner)

    html = client.get(ps1.url).content.decode()

    assert '<h2 id="grade-heading">Your grade</h2>' in html
    assert "5.5 / 10" in html
    table = html[html.index('<table class="table table-sm align-middle breakdown">') :]
    table = table[: table.index("</table>")]
    assert "<caption>Score per test of the submission that counts</caption>" in table
    assert '<th scope="col">Test</th>' in table and '<th scope="col">Out of</th>' in table
    assert '<th scope="row" class="fw-normal"><code>test_double</code></th>' in table
    assert "<td>4</td>" in table and "(full marks)" in table
    assert "<td>1.5</td>" in table and "<td>6</td>" in table


def test_feedback_is_in_a_sandbox_where_its_scripts_cannot_run(client, graces_grade, ps1, learner):
    client.force_login(learner)

    html = client.get(ps1.url).content.decode()

    [frame] = feedback_frames(html)
    assert ' sandbox="" ' in frame  # no allow-scripts, no allow-same-origin
    assert 'title="Feedback from the grader on the submission that counts"' in frame
    srcdoc = re.search(r'srcdoc="([^"]*)"', frame)[1]
    assert unescape(srcdoc) == FEEDBACK  # the grader's HTML, whole, as the frame's document
    assert "<script>alert" not in html  # never live markup in the page itself


def test_other_learner_cannot_see_my_feedback(client, graces_grade, ps1, other_learner):
    client.force_login(other_learner)

    own = client.get(ps1.url)
    mine = client.get(f"{ps1.url}?learner=grace")

    assert own.status_code == 200
    assert feedback_frames(own.content.decode()) == []
    assert "5.5 / 10" not in own.content.decode()
    assert mine.status_code == 403
    assert "Test &lt;b&gt;initials" not in mine.content.decode()


def test_another_courses_instructor_cannot_see_a_learners_grade(
    client, graces_grade, ps1, other_course_instructor
):
    client.force_login(other_course_instructor)

    assert client.get(f"{ps1.url}?learner=grace").status_code == 403


def test_anonymous_visitors_see_no_grade(client, graces_grade, ps1):
    html = client.get(f"{ps1.url}?learner=grace").content.decode()

    assert "5.5 / 10" not in html and feedback_frames(html) == []


def test_the_courses_instructor_sees_a_learners_grade_and_feedback(
    client, graces_grade, ps1, instructor, learner
):
    client.force_login(instructor)

    response = client.get(f"{ps1.url}?learner=grace")

    html = response.content.decode()
    assert response.status_code == 200
    assert f"Grade of {learner.display_name}" in html and "5.5 / 10" in html
    assert len(feedback_frames(html)) == 1
    assert "<code>test_initials</code>" in html


def test_an_unknown_learner_is_404(client, ps1, instructor):
    client.force_login(instructor)

    assert client.get(f"{ps1.url}?learner=nobody").status_code == 404


def test_a_learner_may_name_themselves(client, graces_grade, ps1, learner):
    client.force_login(learner)

    html = client.get(f"{ps1.url}?learner=GRACE").content.decode()

    assert '<h2 id="grade-heading">Your grade</h2>' in html


def test_a_newer_invalid_submission_is_shown_beside_the_counting_grade(
    client, graces_grade, ps1, learner
):
    GradeFactory(
        assignment=ps1,
        learner=learner,
        status=GradeStatus.INVALID,
        score=0,
        counts=False,
        submitted_at=timezone.now() + dt.timedelta(hours=1),
    )
    client.force_login(learner)

    html = client.get(ps1.url).content.decode()

    assert "5.5 / 10" in html
    assert "Your latest submission" in html and "Invalid submission." in html


def test_a_grade_without_feedback_says_it_is_not_released_yet(client, ps1, learner):
    GradeFactory(assignment=ps1, learner=learner, counts=True, feedback_html="", breakdown=[])
    client.force_login(learner)

    html = client.get(ps1.url).content.decode()

    assert feedback_frames(html) == []
    assert "No feedback has been released for this submission yet." in html
    assert "breakdown" not in html


# --- the dashboard --------------------------------------------------------------------------


def test_the_dashboard_shows_each_assignments_score_tests_and_a_feedback_link(
    client, graces_grade, course, ps1, learner
):
    from tests.support.lms_factories import AssignmentFactory

    ps2 = AssignmentFactory(parent=course, slug="ps2", title="Problem set two")
    GradeFactory(assignment=ps2, learner=learner, score=9, counts=True, feedback_html="")
    client.force_login(learner)

    html = client.get("/dashboard/").content.decode()

    table = html[html.index('<table class="table grades">') :]
    table = table[: table.index("</table>")]
    assert '<th scope="col">Tests</th>' in table
    assert "5.5 / 10" in table and "1 of 2 at full marks" in table
    assert "9 / 10" in table
    assert f'href="{ps1.url}#grade-heading">Feedback' in table
    assert f'href="{ps2.url}#grade-heading"' not in table  # no feedback, no link
    assert FEEDBACK not in html and "initials" not in html  # the feedback stays on its page


def test_the_dashboard_shows_only_my_grades(client, graces_grade, other_learner):
    client.force_login(UserFactory(username="someone"))

    assert "5.5 / 10" not in client.get("/dashboard/").content.decode()
