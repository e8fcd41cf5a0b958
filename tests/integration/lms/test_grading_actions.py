"""The instructors' grading actions on the assignment page: release and unrelease, regrade,
release feedback and the submissions table, against a fake grader
(tests/support/fake_grader.py), and the grade export (the LMS's own grades). The grader's
answers become messages; nothing crashes when it is missing, down, slow or refuses."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from lms.courses.models import AssignmentPage, LatePolicyMode
from lms.gradebook.services import record_grade
from tests.integration.lms.test_gradebook_page import cell_texts
from tests.support.fake_grader import TOKEN, closed_port_url
from tests.support.lms_factories import AssignmentFactory, GradeFactory

pytestmark = pytest.mark.django_db

DUE = dt.datetime(2031, 3, 14, 23, 59, tzinfo=dt.UTC)
RELEASE = "/courses/python-101/assignments/ps1-basics/release"


@pytest.fixture
def ps1(course) -> AssignmentPage:
    ps1 = AssignmentPage.objects.get(nbgrader_name="ps1-basics")
    ps1.release_at = DUE - dt.timedelta(days=14)
    ps1.due_at = DUE
    ps1.late_policy = LatePolicyMode.PENALTY
    ps1.late_percent_per_day = 12.5
    ps1.late_cutoff_days = 3
    ps1.save_revision().publish()
    return AssignmentPage.objects.get(pk=ps1.pk)


def post(client, ps1, action: str, **data):
    return client.post(f"/assignments/{ps1.pk}/{action}/", data)


def shown(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- release and unrelease ---------------------------------------------------------------------


def test_instructor_releases_with_the_pages_due_date_and_late_policy(
    client, fake_grader, ps1, instructor
):
    client.force_login(instructor)

    response = post(client, ps1, "release")

    assert response.status_code == 302 and response["Location"] == ps1.url
    [call] = fake_grader.calls("POST")
    assert call.path == RELEASE
    assert call.body == {
        "due_at": "2031-03-14T23:59:00+00:00",
        "late_policy": {"mode": "penalty", "percent_per_day": 12.5, "cutoff_days": 3},
        "feedback": "auto",
    }
    assert call.headers["authorization"] == f"token {TOKEN}"
    assert call.acting_for == "ada"
    assert shown(response) == [
        f"“{ps1.title}” is released to learners (due 14 Mar 2031, 23:59 UTC, with the page's "
        "late policy)."
    ]


def test_an_undated_assignment_is_released_without_a_due_date(client, fake_grader, ps1, instructor):
    ps1.due_at = None
    ps1.late_policy = LatePolicyMode.REJECT
    ps1.late_percent_per_day = 0
    ps1.late_cutoff_days = 0
    ps1.save_revision().publish()
    client.force_login(instructor)

    response = post(client, ps1, "release")

    body = fake_grader.calls("POST")[0].body
    assert body["due_at"] is None
    assert body["late_policy"] == {"mode": "reject", "percent_per_day": 0, "cutoff_days": 0}
    assert "no due date" in shown(response)[0]


def test_releasing_again_sends_the_new_due_date_and_says_so(client, fake_grader, ps1, instructor):
    client.force_login(instructor)
    post(client, ps1, "release")
    ps1.due_at = DUE + dt.timedelta(days=2)
    ps1.save_revision().publish()

    response = post(client, ps1, "release")

    assert fake_grader.calls("POST")[-1].body["due_at"] == "2031-03-16T23:59:00+00:00"
    assert "is released again (due 16 Mar 2031" in shown(response)[-1]


def test_instructor_unreleases_and_learners_keep_their_submissions_message(
    client, fake_grader, ps1, instructor
):
    client.force_login(instructor)
    post(client, ps1, "release")

    response = post(client, ps1, "unrelease")

    assert [(c.method, c.path) for c in fake_grader.requests][-1] == ("DELETE", RELEASE)
    assert shown(response)[-1] == (
        f"“{ps1.title}” is withdrawn from learners; their submissions are kept."
    )


def test_the_graders_refusal_is_shown_in_its_own_words(client, fake_grader, ps1, instructor):
    client.force_login(instructor)

    response = post(client, ps1, "unrelease")  # never released

    assert response.status_code == 302
    assert shown(response) == ["'ps1-basics' is not released in python-101"]
    page = client.get(ps1.url)
    assert "&#x27;ps1-basics&#x27; is not released in python-101" in page.content.decode()


@pytest.mark.parametrize("action", ["release", "unrelease", "regrade", "release-feedback"])
def test_learner_cannot_release_or_regrade(client, fake_grader, ps1, learner, action):
    client.force_login(learner)

    response = post(client, ps1, action)

    assert response.status_code == 403
    assert fake_grader.requests == []


@pytest.mark.parametrize("action", ["release", "unrelease", "regrade", "release-feedback"])
def test_another_courses_instructor_cannot_act_on_this_course(
    client, fake_grader, ps1, other_course_instructor, action
):
    client.force_login(other_course_instructor)

    assert post(client, ps1, action).status_code == 403
    assert fake_grader.requests == []


def test_anonymous_visitors_are_sent_to_sign_in_and_nothing_is_released(client, fake_grader, ps1):
    response = post(client, ps1, "release")

    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert fake_grader.requests == []


def test_staff_may_release_any_course(client, fake_grader, ps1, staff):
    client.force_login(staff)

    post(client, ps1, "release")

    assert fake_grader.calls("POST")[0].acting_for == "root-admin"


def test_actions_need_a_post_with_a_csrf_token(fake_grader, ps1, instructor):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(instructor)

    assert csrf_client.get(f"/assignments/{ps1.pk}/release/").status_code == 405
    assert csrf_client.post(f"/assignments/{ps1.pk}/release/").status_code == 403
    assert fake_grader.requests == []


def test_the_page_has_csrf_protected_forms_for_each_action(client, fake_grader, ps1, instructor):
    client.force_login(instructor)
    post(client, ps1, "release")  # so that it may be unreleased

    html = client.get(ps1.url).content.decode()

    for action in ["release", "unrelease", "regrade", "release-feedback"]:
        form = re.search(
            rf'<form method="post" action="/assignments/{ps1.pk}/{action}/">\s*'
            r'<input type="hidden" name="csrfmiddlewaretoken"',
            html,
        )
        assert form, action
    assert ">Release again</button>" in html and ">Regrade all</button>" in html
    assert ">Release feedback</button>" in html
    assert 'href="/courses/python-101/grades.csv"' in html
    assert 'href="/courses/python-101/gradebook/"' in html


# --- regrade and release feedback --------------------------------------------------------------


def test_regrade_all_sends_an_empty_body_and_counts_what_was_queued(
    client, fake_grader, ps1, instructor
):
    fake_grader.add_submission("python-101", "ps1-basics", learner="grace")
    fake_grader.add_submission("python-101", "ps1-basics", learner="linus")
    client.force_login(instructor)

    response = post(client, ps1, "regrade")

    [call] = fake_grader.calls("POST")
    assert (call.path, call.body) == ("/courses/python-101/assignments/ps1-basics/regrade", {})
    assert shown(response) == [f"2 submissions of “{ps1.title}” queued for grading again."]


def test_regrading_one_submission_names_it(client, fake_grader, ps1, instructor):
    wanted = fake_grader.add_submission("python-101", "ps1-basics", learner="grace")
    fake_grader.add_submission("python-101", "ps1-basics", learner="linus")
    client.force_login(instructor)

    response = post(client, ps1, "regrade", submission=wanted["id"])

    assert fake_grader.calls("POST")[0].body == {"submissions": [wanted["id"]]}
    assert shown(response) == [f"1 submission of “{ps1.title}” queued for grading again."]


def test_regrading_nothing_says_so(client, fake_grader, ps1, instructor):
    client.force_login(instructor)

    response = post(client, ps1, "regrade")

    assert shown(response) == [
        "No submission was queued: there are none, or they are all waiting already."
    ]


def test_instructor_releases_feedback(client, fake_grader, ps1, instructor):
    fake_grader.add_submission("python-101", "ps1-basics", status="graded")
    fake_grader.add_submission("python-101", "ps1-basics", status="queued")
    client.force_login(instructor)

    response = post(client, ps1, "release-feedback")

    [call] = fake_grader.calls("POST")
    assert call.path == "/courses/python-101/assignments/ps1-basics/feedback"
    assert call.body == {}
    assert shown(response) == [f"Feedback on 1 submission of “{ps1.title}” is released."]


# --- the grader missing, down, slow or odd -------------------------------------------------------


def test_without_a_grader_the_actions_are_shown_as_unavailable(client, ps1, instructor):
    client.force_login(instructor)

    response = client.get(ps1.url)

    html = response.content.decode()
    assert response.status_code == 200
    assert "No grader service is configured for this LMS (LMS_GRADER_API_URL is empty)" in html
    assert 'disabled aria-describedby="grader-unavailable">Release</button>' in html
    assert f'action="/assignments/{ps1.pk}/release/"' not in html
    assert shown(post(client, ps1, "release"))[0].startswith("No grader service is configured")


def test_a_grader_url_without_a_token_is_explained(client, settings, ps1, instructor):
    settings.LMS_GRADER_API_URL = closed_port_url()
    client.force_login(instructor)

    response = post(client, ps1, "release")

    assert "no hub service token (LMS_HUB_SERVICE_TOKEN)" in shown(response)[0]


def test_grader_down_shows_a_clear_message(client, settings, ps1, instructor):
    settings.LMS_GRADER_API_URL = closed_port_url()
    settings.LMS_HUB_SERVICE_TOKEN = TOKEN
    client.force_login(instructor)

    response = post(client, ps1, "release")
    page = client.get(ps1.url)

    assert response.status_code == 302
    assert shown(response) == [
        "The grader service cannot be reached at the moment; nothing was changed. Try again in "
        "a minute, or ask the studio's administrators to check it."
    ]
    assert page.status_code == 200
    assert "The grader's state cannot be shown. The grader service cannot be reached" in (
        page.content.decode()
    )


def test_a_hanging_grader_times_out_with_a_clear_message(client, fake_grader, ps1, instructor):
    fake_grader.misbehave("POST", RELEASE, "hang")
    client.force_login(instructor)

    started = timezone.now()
    response = post(client, ps1, "release")

    assert timezone.now() - started < dt.timedelta(seconds=10)
    assert shown(response) == [
        "The grader service did not answer within 1 second. Try again in a minute; if you asked "
        "for a change, reload the page first to see whether it went through."
    ]


def test_a_grader_that_closes_the_connection_is_unavailable(client, fake_grader, ps1, instructor):
    fake_grader.misbehave("POST", RELEASE, "close")
    client.force_login(instructor)

    response = post(client, ps1, "release")

    assert shown(response) == [
        "The grader service cannot be reached at the moment; nothing was changed. Try again in "
        "a minute, or ask the studio's administrators to check it."
    ]


def test_a_grader_failure_is_a_message_not_a_stack_trace(client, fake_grader, ps1, instructor):
    fake_grader.misbehave(
        "POST",
        RELEASE,
        ("json", 500, {"error": "internal", "message": "The grader failed to answer."}),
    )
    client.force_login(instructor)

    response = post(client, ps1, "release")

    assert shown(response) == [
        "The grader service failed to answer (HTTP 500): The grader failed to answer. Try again "
        "later."
    ]


def test_the_hub_proxys_error_page_is_not_shown_as_a_message(client, fake_grader, ps1, instructor):
    fake_grader.misbehave("POST", RELEASE, ("raw", 503, "text/html", b"<h1>503</h1>"))
    client.force_login(instructor)

    response = post(client, ps1, "release")

    assert shown(response) == ["The grader service failed to answer (HTTP 503). Try again later."]


def test_a_grader_refusing_the_lms_token_says_so(client, fake_grader, settings, ps1, instructor):
    settings.LMS_HUB_SERVICE_TOKEN = "not-the-token"
    client.force_login(instructor)

    response = post(client, ps1, "release")

    assert shown(response) == [
        "lms may not use the grader service (the hub has not granted access to it)."
    ]


# --- the submissions table and the release state ------------------------------------------------


def test_instructor_sees_every_submission_with_status_lateness_and_score(
    client, fake_grader, ps1, instructor, learner, other_learner
):
    fake_grader.add_submission(
        "python-101",
        "ps1-basics",
        learner="grace",
        submitted_at="2031-03-10T08:00:00+00:00",
        score=7.5,
    )
    fake_grader.add_submission(
        "python-101",
        "ps1-basics",
        learner="linus",
        submitted_at="2031-03-16T09:30:00+00:00",
        status="invalid",
        late=True,
        score=0,
        message="The notebook is not valid JSON.",
    )
    client.force_login(instructor)

    response = client.get(ps1.url)

    html = response.content.decode()
    rows = response.context["grading"].submissions
    assert [row.learner for row in rows] == [other_learner, learner]  # newest first
    table = html[html.index('<table class="table table-sm align-middle submissions"') :]
    table = table[: table.index("</table>")]
    assert '<th scope="col">Learner</th>' in table and '<th scope="col">Late</th>' in table
    assert "7.5 / 10" in table and "Graded" in table
    assert "Cannot be graded" in table and "The notebook is not valid JSON." in table
    assert '<span class="badge text-bg-warning">late</span>' in table
    assert 'datetime="2031-03-16T09:30:00+00:00"' in table
    assert 'href="?learner=grace#grade-heading"' in table
    [listing] = [c for c in fake_grader.calls("GET") if c.path.endswith("/submissions")]
    assert listing.acting_for == "ada"


def test_a_failed_grading_shows_its_sentence_and_folds_the_error_id_away(
    client, fake_grader, ps1, instructor, learner
):
    fake_grader.add_submission(
        "python-101", "ps1-basics", learner="grace", status="failed", late=None, score=None,
        message="This submission could not be graded because of a problem on the grader's side.",
        error_id="5f3a9c01",
    )
    client.force_login(instructor)

    table = client.get(ps1.url).content.decode()
    table = table[table.index('<table class="table table-sm align-middle submissions"') :]
    table = table[: table.index("</table>")]

    assert "a problem on the grader&#x27;s side" in table
    details = table[table.index("<details") : table.index("</details>")]
    assert "<summary>Details for the studio's admins</summary>" in details
    assert "<code>5f3a9c01</code>" in details
    assert "<td>—</td>" in table  # no lateness recorded by the LMS: none is shown


def test_the_page_says_whether_the_grader_has_released_it(client, fake_grader, ps1, instructor):
    client.force_login(instructor)

    before = client.get(ps1.url).content.decode()
    post(client, ps1, "release")
    after = client.get(ps1.url).content.decode()

    assert "Not released in the grader yet: learners cannot fetch it" in before
    assert f'action="/assignments/{ps1.pk}/unrelease/"' not in before
    assert "Released in the grader on" in after and ">Release again</button>" in after
    assert f'action="/assignments/{ps1.pk}/unrelease/"' in after
    assert "is not the one the grader has" not in after


def test_a_due_date_changed_since_the_release_is_pointed_out(client, fake_grader, ps1, instructor):
    client.force_login(instructor)
    post(client, ps1, "release")
    ps1.due_at = DUE + dt.timedelta(days=1)
    ps1.save_revision().publish()

    html = client.get(ps1.url).content.decode()

    assert "is not the one the grader has: release again to update it." in html


def test_learners_do_not_see_the_grading_panel_and_the_grader_is_not_asked(
    client, fake_grader, ps1, learner
):
    client.force_login(learner)

    html = client.get(ps1.url).content.decode()

    assert 'id="grading-heading"' not in html
    assert "formgrader" not in html
    assert fake_grader.requests == []


def test_instructors_find_the_courses_formgrader_on_the_assignment_page(
    client, fake_grader, settings, ps1, instructor
):
    settings.STUDIO_HUB_URL = "https://hub.example.org"
    client.force_login(instructor)

    html = client.get(ps1.url).content.decode()

    # on the formgrader's own host, below the hub's: it shows learners' work
    link = ('href="https://formgrader-python-101--service.hub.example.org'
            '/services/formgrader-python-101/formgrader"')
    assert html.count(link) == 2  # in the grading panel and in "For instructors"
    assert "Grade by hand in the formgrader" in html


def test_without_a_grader_there_is_no_formgrader_to_link(client, ps1, instructor):
    client.force_login(instructor)

    html = client.get(ps1.url).content.decode()

    assert "/services/formgrader-" not in html


# --- the grade export ---------------------------------------------------------------------------


def push(ps1, learner, submission_id: str, submitted_at: dt.datetime, score: float):
    """A grade as the grader pushes it (lms.gradebook.services.record_grade decides the rest)."""
    grade, _created = record_grade(
        assignment=ps1, learner=learner, submission_id=submission_id, score=Decimal(str(score)),
        max_score=Decimal(10), submitted_at=submitted_at,
    )
    return grade


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_grade_export_is_the_lms_gradebook_and_needs_no_grader(
    client, course, ps1, instructor, learner, other_learner
):
    push(ps1, learner, "first", DUE - dt.timedelta(days=2), 4)
    push(ps1, learner, "second", DUE - dt.timedelta(days=1), 8)
    push(ps1, learner, "late", DUE + dt.timedelta(hours=1), 10)  # an on-time grade counts
    push(ps1, other_learner, "two-days-late", DUE + dt.timedelta(hours=30), 9)  # 25 % off
    push(ps1, instructor, "trying-it", DUE - dt.timedelta(days=3), 10)  # not a learner
    client.force_login(instructor)

    response = client.get("/courses/python-101/grades.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="python-101-grades.csv"'
    assert response.content.decode().splitlines()[0] == (
        "course,assignment,learner,submission_id,submitted_at,late,days_late,score,max_score,"
        "late_penalty,final_score"
    )
    assert csv_rows(response) == [
        {"course": "python-101", "assignment": "ps1-basics", "learner": "grace",
         "submission_id": "second", "submitted_at": "2031-03-13T23:59:00+00:00", "late": "no",
         "days_late": "0", "score": "8.00", "max_score": "10.00", "late_penalty": "0.00",
         "final_score": "8.00"},
        {"course": "python-101", "assignment": "ps1-basics", "learner": "linus",
         "submission_id": "two-days-late", "submitted_at": "2031-03-16T05:59:00+00:00",
         "late": "yes", "days_late": "2", "score": "9.00", "max_score": "10.00",
         "late_penalty": "2.25", "final_score": "6.75"},
    ]


def test_the_grade_export_matches_the_gradebook_page(
    client, course, ps1, instructor, learner, other_learner
):
    ps2 = AssignmentFactory(parent=course, slug="ps2", title="Problem set two", points=20)
    push(ps1, learner, "g1", DUE - dt.timedelta(days=1), 7.5)
    push(ps1, other_learner, "l1", DUE + dt.timedelta(hours=2), 10)
    GradeFactory(assignment=ps2, learner=learner, score=15, max_score=20, late=True,
                 late_penalty=3, counts=True)
    client.force_login(instructor)

    exported = csv_rows(client.get("/courses/python-101/grades.csv"))
    page = client.get("/courses/python-101/gradebook/").content.decode()

    rows = cell_texts(page)
    head = page[page.index("<thead>") : page.index("</thead>")]
    titles = re.findall(r'<th scope="col"><a href="[^"]*">([^<]*)</a>', head)
    column = {{ps1.title: "ps1-basics", ps2.title: "ps2"}[t]: i + 1 for i, t in enumerate(titles)}
    by_learner = {row[0].split()[-1]: row for row in rows}  # "Grace Hopper grace" -> "grace"
    for line in exported:
        cell = by_learner[line["learner"]][column[line["assignment"]]]
        shown_score, shown_max = cell.split(" / ")
        assert Decimal(shown_score) == Decimal(line["final_score"]), line
        assert Decimal(shown_max.split()[0]) == Decimal(line["max_score"]), line
        assert ("late" in cell.split()) == (line["late"] == "yes"), line
    cells = sum(1 for row in rows for cell in row[1:-1] if " / " in cell)
    assert len(exported) == cells == 3


@pytest.mark.parametrize("actor", ["learner", "other_course_instructor"])
def test_only_the_courses_instructors_export_its_grades(
    client, fake_grader, course, request, actor
):
    client.force_login(request.getfixturevalue(actor))

    assert client.get("/courses/python-101/grades.csv").status_code == 403
    assert fake_grader.requests == []
