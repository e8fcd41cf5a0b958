"""The course gradebook page for instructors: learners x assignments with the counting scores,
late and invalid markers, totals, and a grade distribution chart per assignment (inline SVG with
its numbers as a table)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lms.courses.models import AssignmentPage
from lms.gradebook.models import GradeStatus
from tests.support.lms_factories import (
    AssignmentFactory,
    EnrollmentFactory,
    GradeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
URL = "/courses/python-101/gradebook/"


@pytest.fixture
def ps1(course):
    return AssignmentPage.objects.get(nbgrader_name="ps1-basics")


@pytest.fixture
def ps2(course):
    return AssignmentFactory(parent=course, slug="ps2", title="Problem set two", points=20)


def cell_texts(html: str) -> list[list[str]]:
    """The gradebook table's body rows, as the visible text of each cell."""
    html = re.sub(r'<span class="visually-hidden">.*?</span>', "", html)
    table = html[html.index('<table class="table table-striped align-middle gradebook">') :]
    body = table[table.index("<tbody>") : table.index("</tbody>")]
    rows = re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    return [
        [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
        ]
        for row in rows
    ]


def test_instructor_sees_counting_scores_markers_and_totals(
    client, course, ps1, ps2, instructor, learner, other_learner
):
    GradeFactory(assignment=ps1, learner=learner, score=8, counts=True)
    GradeFactory(assignment=ps2, learner=learner, score=15, max_score=20, late=True, late_penalty=3)
    GradeFactory(assignment=ps1, learner=other_learner, score=6, counts=True)
    GradeFactory(  # newer than the counting grade, and invalid: flagged
        assignment=ps1,
        learner=other_learner,
        status=GradeStatus.INVALID,
        score=0,
        counts=False,
        submitted_at=timezone.now() + dt.timedelta(hours=1),
    )
    GradeFactory(
        assignment=ps2, learner=other_learner, status=GradeStatus.LATE_REJECTED, counts=False
    )
    client.force_login(instructor)

    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    grace, linus = cell_texts(html)
    assert grace[1:] == ["8 / 10", "12 / 20 late", "20"]
    assert linus[1:] == ["6 / 10 invalid", "— rejected: late", "6"]
    assert "(the latest submission cannot be graded)" in html
    assert 'Total <span class="fw-normal d-block small">out of 30</span>' in html
    assert f'href="{ps1.url}?learner=grace"' in html  # to the learner's grade and feedback
    tfoot = html[html.index("<tfoot>") : html.index("</tfoot>")]
    assert "70 %" in tfoot and "60 %" in tfoot  # means of the final percents


def test_each_assignment_has_a_distribution_chart_with_its_numbers(
    client, course, ps1, ps2, instructor
):
    for n, score in enumerate([2, 5, 5, 10]):
        user = UserFactory(username=f"learner-{n}")
        EnrollmentFactory(user=user, course=course)
        GradeFactory(assignment=ps1, learner=user, score=score, counts=True)
    client.force_login(instructor)

    html = client.get(URL).content.decode()

    [chart, empty] = re.findall(r'<figure class="distribution.*?</figure>', html, flags=re.S)
    caption = " ".join(chart[chart.index("<figcaption") : chart.index("</figcaption>")].split())
    assert "4 counting grades: mean 55 %, median 50 %, lowest 20 %, highest 100 %." in caption
    svg = chart[chart.index("<svg") : chart.index("</svg>")]
    assert 'role="img"' in svg and "<title id=" in svg
    assert len(re.findall(r'<rect [^>]*class="bar"', svg)) == 3  # 20 %, 50 % (two), 100 %
    rows = re.findall(r'<tr><th scope="row" class="fw-normal">(.*?)</th><td>(\d+)</td>', chart)
    assert len(rows) == 10
    assert ("50 % to under 60 %", "2") in rows and ("90 % to 100 %", "1") in rows
    assert "No counting grades yet." in empty and "<svg" not in empty
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]


def test_staff_see_every_courses_gradebook(client, course, staff):
    client.force_login(staff)

    assert client.get(URL).status_code == 200


def test_learners_and_other_courses_instructors_are_refused(
    client, course, learner, other_course_instructor
):
    client.force_login(learner)
    assert client.get(URL).status_code == 403
    client.force_login(other_course_instructor)
    assert client.get(URL).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, course):
    response = client.get(URL)

    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_gradebook_is_linked_for_instructors_only(client, course, ps1, instructor, learner):
    client.force_login(instructor)
    assert f'href="{URL}"' in client.get(course.url).content.decode()
    assert f'href="{URL}"' in client.get(ps1.url).content.decode()
    assert f'href="{URL}"' in client.get("/dashboard/").content.decode()

    client.force_login(learner)
    assert f'href="{URL}"' not in client.get(course.url).content.decode()
    assert f'href="{URL}"' not in client.get(ps1.url).content.decode()


def test_gradebook_query_count_does_not_grow_with_learners(client, course, ps1, ps2, instructor):
    assignments = [ps1, ps2]

    def add_learners(count: int, start: int) -> None:
        for n in range(start, start + count):
            user = UserFactory(username=f"bulk-{n}")
            EnrollmentFactory(user=user, course=course)
            for assignment in assignments:
                GradeFactory(assignment=assignment, learner=user, counts=True)
                GradeFactory(
                    assignment=assignment,
                    learner=user,
                    status=GradeStatus.INVALID,
                    counts=False,
                    submitted_at=timezone.now() + dt.timedelta(hours=1),
                )

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL)
        assert response.status_code == 200
        return len(queries)

    client.force_login(instructor)
    add_learners(2, 0)
    count_queries()  # warm the per-process caches (Wagtail's site root paths)
    with_two = count_queries()
    add_learners(18, 2)
    with_twenty = count_queries()

    assert with_twenty == with_two
    assert len(client.get(URL).context["gradebook"].book.rows) == 20
