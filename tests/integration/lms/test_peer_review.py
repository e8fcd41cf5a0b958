"""Peer code review in the LMS (``lms.review``): rounds assigned from the learners whose submission
counts (late submitters and dropouts), who may see and do what on every endpoint, names by
anonymity, the submitted notebook from the grader rendered sanitised, hostile text inert, hidden
reviews, the review score export, and what peer review notifies. The assignment rule itself is
property-tested in tests/unit/lms/test_review_allocation.py."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from courses.course_file import PeerReview, RubricCriterion, RubricLevel
from lms.courses.course_import import import_course
from lms.courses.models import AssignmentPage, CoursePage, Enrollment, EnrollmentRole
from lms.courses.services import enroll
from lms.gradebook.models import GradeStatus
from lms.notifications.models import Kind, Notification
from lms.notifications.reminders import remind_review_deadlines
from lms.review import services, signals
from lms.review.models import Review, ReviewComment, ReviewStatus
from lms.review.selectors import open_reviews_due
from lms.review.services import ReviewError
from tests.support.lms_factories import (
    AssignmentFactory,
    CourseFactory,
    GradeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

RUBRIC = (
    RubricCriterion("Readability", (RubricLevel("Clear", 2), RubricLevel("Muddled", 0))),
    RubricCriterion("Tests", (RubricLevel("Tried", 2), RubricLevel("Not tried", 0))),
)
HOSTILE = ('<script>alert("x")</script><img src=x onerror=alert(1)>'
           '<a href="javascript:alert(1)">x</a>')


def peer_review(**changes) -> dict:
    spec = PeerReview(enabled=True, reviews_per_submission=2, opens="after_due",
                      anonymity="both", deadline=timezone.now() + dt.timedelta(days=7),
                      counts_towards_grade=True, weight=0.5, rubric=RUBRIC)
    return PeerReview(**{**spec.__dict__, **changes}).as_json()


@pytest.fixture
def ps2(course) -> AssignmentPage:
    """An assignment of python-101 with peer review, due yesterday."""
    return AssignmentFactory(
        parent=course, slug="ps2-functions", nbgrader_name="ps2-functions",
        due_at=timezone.now() - dt.timedelta(days=1), peer_review=peer_review(),
    )


def submitted(assignment: AssignmentPage, user, **fields):
    return GradeFactory(assignment=assignment, learner=user, **fields)


@pytest.fixture
def katherine(course):
    user = UserFactory(username="katherine")
    enroll(user, course, EnrollmentRole.LEARNER)
    return user


@pytest.fixture
def trio(ps2, learner, other_learner, katherine):
    for user in (learner, other_learner, katherine):
        submitted(ps2, user)
    return learner, other_learner, katherine


def pairs(assignment) -> set[tuple[str, str]]:
    return {(r.reviewer.username, r.author.username) for r in Review.objects.filter(
        assignment=assignment).exclude(status=ReviewStatus.CANCELLED)}


# -- rounds -------------------------------------------------------------------------------------


def test_a_round_gives_every_submission_its_reviewers_and_tells_each_reviewer(
    ps2, trio, django_capture_on_commit_callbacks
):
    told = []

    def receiver(sender, reviewer, reviews, **kwargs):
        told.append((reviewer.username, len(reviews)))

    signals.reviews_assigned.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = services.assign_reviews(ps2)
    finally:
        signals.reviews_assigned.disconnect(receiver)
    assert result.assigned == 6 and result.short == {}
    names = {"grace", "linus", "katherine"}
    assert pairs(ps2) == {(r, a) for r in names for a in names if r != a}
    assert sorted(told) == [("grace", 2), ("katherine", 2), ("linus", 2)]
    again = services.assign_reviews(ps2)  # nothing new: the round is kept as it is
    assert again.assigned == 0


def test_reviewing_after_the_due_date_does_not_open_before_it(ps2, trio):
    ps2.due_at = timezone.now() + dt.timedelta(days=1)
    ps2.save()
    with pytest.raises(ReviewError, match="opens at the due date"):
        services.assign_reviews(ps2)
    assert not Review.objects.exists()


def test_invalid_or_late_rejected_submissions_and_instructors_are_not_in_a_round(
    ps2, trio, instructor
):
    dave = UserFactory(username="dave")
    enroll(dave, ps2.get_parent().specific, EnrollmentRole.LEARNER)
    submitted(ps2, dave, status=GradeStatus.LATE_REJECTED)
    submitted(ps2, instructor)
    services.assign_reviews(ps2)
    assert {"dave", "ada"}.isdisjoint({p for pair in pairs(ps2) for p in pair})


def test_a_late_submitter_joins_the_round_and_a_dropouts_open_reviews_go_to_others(
    ps2, trio, course
):
    katherine = trio[2]
    services.assign_reviews(ps2)
    late = UserFactory(username="late")
    enroll(late, course, EnrollmentRole.LEARNER)
    submitted(ps2, late)
    services.assign_reviews(ps2)
    assert sum(1 for r, a in pairs(ps2) if a == "late") == 2
    assert sum(1 for r, a in pairs(ps2) if r == "late") == 2

    Enrollment.objects.filter(user=katherine, course=course).delete()  # katherine drops out
    result = services.assign_reviews(ps2)
    assert result.cancelled > 0
    assert "katherine" not in {p for pair in pairs(ps2) for p in pair}
    for author in ("grace", "linus", "late"):
        assert sum(1 for r, a in pairs(ps2) if a == author) == 2


def test_a_submitted_review_stays_when_its_reviewer_drops_out(ps2, trio, course):
    katherine = trio[2]
    services.assign_reviews(ps2)
    done = Review.objects.filter(assignment=ps2, reviewer=katherine).first()
    services.submit_review(done, katherine, {"Readability": "Clear", "Tests": "Tried"}, "Good.")
    Enrollment.objects.filter(user=katherine, course=course).delete()
    services.assign_reviews(ps2)
    done.refresh_from_db()
    assert done.status == ReviewStatus.SUBMITTED


def test_an_instructor_reassigns_a_review_but_never_to_the_author_or_twice(
    ps2, trio, instructor
):
    grace, linus, katherine = trio
    review = Review.objects.create(assignment=ps2, reviewer=grace, author=linus,
                                   submission_id="s1")
    with pytest.raises(ReviewError, match="own work"):
        services.reassign(review, linus, instructor)
    Review.objects.create(assignment=ps2, reviewer=katherine, author=linus, submission_id="s1")
    with pytest.raises(ReviewError, match="already reviews"):
        services.reassign(review, katherine, instructor)
    dave = UserFactory(username="dave")
    enroll(dave, ps2.get_parent().specific, EnrollmentRole.LEARNER)
    new = services.reassign(review, dave, instructor)
    review.refresh_from_db()
    assert review.status == ReviewStatus.CANCELLED
    assert (new.reviewer, new.author, new.assigned_by) == (dave, linus, instructor)


# -- who may do what, endpoint by endpoint -------------------------------------------------------


@pytest.fixture
def people(trio, instructor, other_course_instructor, staff):
    """Everyone who may knock: the review is grace's of linus's work."""
    grace, linus, katherine = trio
    outsider = UserFactory(username="outsider")
    enroll(outsider, CoursePage.objects.get(slug="data-201"), EnrollmentRole.LEARNER)
    return {"reviewer": grace, "author": linus, "other learner": katherine,
            "instructor": instructor, "staff": staff, "other course instructor":
            other_course_instructor, "other course learner": outsider, "anonymous": None}


@pytest.fixture
def review(ps2, people):
    return Review.objects.create(assignment=ps2, reviewer=people["reviewer"],
                                 author=people["author"], submission_id="a" * 32)


def notebook_answer(*cells) -> dict:
    return {"submission": {"id": "a" * 32, "learner": "linus", "submitted_at": None,
                           "status": "graded"},
            "notebooks": [{"name": "ps2-functions.ipynb", "problem": "", "notebook": {
                "cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}],
            "tests": None}


def code_cell(source: str, outputs=()) -> dict:
    return {"cell_type": "code", "source": source, "metadata": {}, "outputs": list(outputs),
            "execution_count": 1}


@pytest.fixture
def grader_notebook(fake_grader):
    path = "/courses/python-101/assignments/ps2-functions/submissions/" + "a" * 32 + "/notebook"
    fake_grader.misbehave("GET", path, ("json", 200, notebook_answer(code_cell("x = 1\ny = 2"))))
    return fake_grader


def as_(client, user):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client


def status_of(client, user, method, url, data=None) -> int:
    response = getattr(as_(client, user), method)(url, data or {})
    if user is None:
        assert response.status_code == 302 and "/login" in response["Location"], url
        return 401
    return response.status_code


def test_the_review_page_is_for_its_reviewer_and_the_course_instructors_until_submitted(
    client, people, review, grader_notebook
):
    url = reverse("review", args=[review.pk])
    got = {role: status_of(client, user, "get", url) for role, user in people.items()}
    assert got == {"reviewer": 200, "author": 403, "other learner": 403, "instructor": 200,
                   "staff": 200, "other course instructor": 403, "other course learner": 403,
                   "anonymous": 401}


def test_a_submitted_review_is_for_its_author_too(client, people, review, grader_notebook):
    services.submit_review(review, people["reviewer"], {"Readability": "Clear",
                                                         "Tests": "Tried"}, "Nice.")
    url = reverse("review", args=[review.pk])
    got = {role: status_of(client, user, "get", url) for role, user in people.items()}
    assert got == {"reviewer": 200, "author": 200, "other learner": 403, "instructor": 200,
                   "staff": 200, "other course instructor": 403, "other course learner": 403,
                   "anonymous": 401}


@pytest.mark.parametrize(("action", "data", "allowed"), [
    ("review-submit", {"criterion-0": "Clear", "criterion-1": "Tried", "summary": "Good"},
     {"reviewer"}),
    ("review-comment", {"notebook": "ps2-functions.ipynb", "cell": "0", "body": "Hm"},
     {"reviewer"}),
    ("review-hide", {"hidden": "1"}, {"instructor", "staff"}),
    ("review-reassign", {"reviewer": "katherine"}, {"instructor", "staff"}),
])
def test_each_review_action_is_for_whom_it_is_for(client, people, review, action, data,
                                                  allowed):
    url = reverse(action, args=[review.pk])
    for role, user in people.items():
        status = status_of(client, user, "post", url, data)
        if user is None:
            continue
        assert (status == 302) == (role in allowed), (role, status)
        assert status in (302, 403), (role, status)


@pytest.mark.parametrize(("action", "data", "allowed"), [
    ("review-reply", {"body": "Thanks"}, {"author", "instructor", "staff"}),
    ("review-rate", {"helpfulness": "4"}, {"author"}),
])
def test_replying_and_rating_are_for_the_author_of_the_work(client, people, review, action,
                                                            data, allowed):
    services.submit_review(review, people["reviewer"], {"Readability": "Clear",
                                                         "Tests": "Tried"}, "Nice.")
    url = reverse(action, args=[review.pk])
    for role, user in people.items():
        status = status_of(client, user, "post", url, data)
        if user is not None:
            assert (status == 302) == (role in allowed), (role, status)
    review.refresh_from_db()
    if action == "review-rate":
        assert review.helpfulness == 4


def test_the_assignments_review_page_assigning_and_the_export_are_for_whom_they_are_for(
    client, people, ps2
):
    page = reverse("review-assignment", args=["python-101", "ps2-functions"])
    assign = reverse("review-assign", args=["python-101", "ps2-functions"])
    export = reverse("review-scores-csv", args=["python-101"])
    learners = {"reviewer", "author", "other learner"}
    managers = {"instructor", "staff"}
    for role, user in people.items():
        expected = 200 if role in learners | managers else 403
        assert status_of(client, user, "get", page) == (401 if user is None else expected), role
        expected = 302 if role in managers else 403
        assert status_of(client, user, "post", assign) == (401 if user is None else expected), role
        expected = 200 if role in managers else 403
        assert status_of(client, user, "get", export) == (401 if user is None else expected), role


def test_an_assignment_without_peer_review_has_no_review_page(client, instructor, course):
    as_(client, instructor)
    url = reverse("review-assignment", args=["python-101", "ps1-basics"])
    assert client.get(url).status_code == 404


# -- what is shown -----------------------------------------------------------------------------


def test_hostile_comments_summaries_and_replies_are_inert(client, people, review,
                                                          grader_notebook):
    reviewer, author = people["reviewer"], people["author"]
    services.add_comment(review, reviewer, "ps2-functions.ipynb", 0, 2, HOSTILE)
    services.submit_review(review, reviewer, {"Readability": "Clear", "Tests": "Tried"}, HOSTILE)
    services.reply(review, author, HOSTILE)
    for user in (author, reviewer, people["instructor"]):
        page = as_(client, user).get(reverse("review", args=[review.pk])).content.decode()
        assert "<script>alert" not in page
        assert "<img src=x onerror" not in page
        assert 'href="javascript:' not in page
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
        assert "Line 2:" in page


def test_hostile_markup_in_the_submitted_notebook_is_cleaned(client, people, review,
                                                             fake_grader):
    path = "/courses/python-101/assignments/ps2-functions/submissions/" + "a" * 32 + "/notebook"
    cells = [
        {"cell_type": "markdown", "source": "# Mine\n" + HOSTILE, "metadata": {}},
        code_cell("print(1)", [{"output_type": "display_data", "metadata": {}, "data": {
            "text/html": HOSTILE, "application/javascript": "alert(2)",
            "text/plain": "plain"}}]),
    ]
    fake_grader.misbehave("GET", path, ("json", 200, notebook_answer(*cells)))
    page = as_(client, people["reviewer"]).get(reverse("review", args=[review.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Mine" in html
    for bad in ("<script>alert", "onerror", "javascript:alert", "alert(2)"):
        assert bad not in html, bad


def test_the_grader_is_asked_as_the_lms_for_the_reviewed_submission(client, people, review,
                                                                    grader_notebook):
    as_(client, people["reviewer"]).get(reverse("review", args=[review.pk]))
    (call,) = [c for c in grader_notebook.calls("GET") if c.path.endswith("/notebook")]
    assert call.query["learner"] == ["linus"]
    assert call.query["tests"] == ["0"]  # show_test_results is off
    assert call.acting_for == "grace"


def test_a_grader_that_cannot_answer_is_a_sentence_on_the_page(client, people, review,
                                                               fake_grader):
    path = "/courses/python-101/assignments/ps2-functions/submissions/" + "a" * 32 + "/notebook"
    fake_grader.misbehave("GET", path, ("json", 503, {"error": "x", "message": "busy"}))
    page = as_(client, people["reviewer"]).get(reverse("review", args=[review.pk]))
    assert page.status_code == 200
    assert "alert-warning" in page.content.decode()


@pytest.mark.parametrize(("anonymity", "author_sees_reviewer", "reviewer_sees_author"), [
    ("both", False, False), ("reviewers", False, True), ("none", True, True),
])
def test_names_follow_the_anonymity_setting(client, people, review, grader_notebook, ps2,
                                            anonymity, author_sees_reviewer,
                                            reviewer_sees_author):
    ps2.peer_review = peer_review(anonymity=anonymity)
    ps2.save()
    services.submit_review(review, people["reviewer"], {"Readability": "Clear",
                                                         "Tests": "Tried"}, "Nice.")
    url = reverse("review", args=[review.pk])
    author_page = as_(client, people["author"]).get(url).content.decode()
    reviewer_page = as_(client, people["reviewer"]).get(url).content.decode()
    assert (people["reviewer"].display_name in author_page) == author_sees_reviewer
    assert (people["author"].display_name in reviewer_page) == reviewer_sees_author
    instructor_page = as_(client, people["instructor"]).get(url).content.decode()
    assert people["reviewer"].display_name in instructor_page
    assert people["author"].display_name in instructor_page


def test_an_anonymous_authors_work_is_named_in_lower_case_mid_sentence(
    client, people, review, grader_notebook
):
    """Anonymity both ways names the author "a classmate" inside a sentence (never "review of
    A classmate's work"), and the author's own page says "your work" (never "You's work")."""
    reviewer_page = as_(client, people["reviewer"]).get(reverse("review", args=[review.pk]))
    reviewer_list = as_(client, people["reviewer"]).get(
        reverse("review-assignment", args=["python-101", "ps2-functions"]))
    for page in (reviewer_page, reviewer_list):
        text = page.content.decode()
        assert "eview of a classmate&#x27;s work" in text
        assert "A classmate" not in text
    services.submit_review(review, people["reviewer"], {"Readability": "Clear",
                                                         "Tests": "Tried"}, "Nice.")
    author_page = as_(client, people["author"]).get(reverse("review", args=[review.pk]))
    text = author_page.content.decode()
    assert "<title>Review of your work" in text
    assert "You&#x27;s" not in text and "You's" not in text


def test_commenting_on_a_cell_or_replying_brings_the_person_back_to_it(
    client, people, review, grader_notebook
):
    """The comment and reply forms post to a URL with the commented cell's (or the replies')
    anchor, which the browser keeps through the redirect back to the review: a reviewer who
    comments on the ninth cell is not sent back to the top of the notebook."""
    url = reverse("review", args=[review.pk])
    text = as_(client, people["reviewer"]).get(url).content.decode()
    assert f'action="{reverse("review-comment", args=[review.pk])}#cell-0-0"' in text
    assert 'id="cell-0-0"' in text
    services.submit_review(review, people["reviewer"], {"Readability": "Clear",
                                                         "Tests": "Tried"}, "Nice.")
    text = as_(client, people["author"]).get(url).content.decode()
    assert f'action="{reverse("review-reply", args=[review.pk])}#replies-heading"' in text
    assert 'id="replies-heading"' in text


def test_the_line_picker_shows_each_lines_text(client, people, review, fake_grader):
    """A reviewer picks the line of code they comment on by its number and its text (the
    rendered code has no line numbers); the notebook as JupyterLab saves it has its source as a
    list of lines."""
    path = "/courses/python-101/assignments/ps2-functions/submissions/" + "a" * 32 + "/notebook"
    fake_grader.misbehave("GET", path, ("json", 200, notebook_answer(
        code_cell(["def clamp(value):\n", "    return max(0, value)\n"]))))
    text = as_(client, people["reviewer"]).get(reverse("review", args=[review.pk])) \
        .content.decode()
    assert '<option value="1">1: def clamp(value):</option>' in text
    assert '<option value="2">2:     return max(0, value)</option>' in text


def test_review_points_are_shown_as_the_rubric_counts_them(client, people, review,
                                                           grader_notebook, ps2):
    """Points as the LMS shows scores (the ``points`` filter): 4, 2.25, never 4.0 or 2.3."""
    quarter = (RubricCriterion("Style", (RubricLevel("Neat", 0.25), RubricLevel("Messy", 0))),)
    ps2.peer_review = peer_review(rubric=RUBRIC + quarter)
    ps2.save()
    services.submit_review(review, people["reviewer"], {"Readability": "Clear",
                                                         "Tests": "Tried", "Style": "Messy"},
                           "Nice.")
    author = as_(client, people["author"])
    review_page = author.get(reverse("review", args=[review.pk])).content.decode()
    own_list = author.get(reverse("review-assignment", args=["python-101", "ps2-functions"]))
    overview = as_(client, people["instructor"]).get(
        reverse("review-assignment", args=["python-101", "ps2-functions"])).content.decode()
    assert "Rubric: 4 of 4.25 points" in review_page
    assert "</a>: 4 of 4.25 points" in own_list.content.decode()
    assert "<td>4</td>" in overview and "Neat 0.25" in overview


def test_a_hidden_review_is_gone_for_its_author_and_from_the_score(client, people, review, ps2):
    services.submit_review(review, people["reviewer"], {"Readability": "Muddled",
                                                         "Tests": "Not tried"}, "Rubbish.")
    services.hide(review, people["instructor"])
    assert as_(client, people["author"]).get(reverse("review", args=[review.pk])).status_code \
        == 403
    listing = client.get(reverse("review-assignment", args=["python-101", "ps2-functions"]))
    assert reverse("review", args=[review.pk]) not in listing.content.decode()
    with pytest.raises(PermissionDenied):  # the author may no longer rate it
        services.rate(review, people["author"], 1)


def test_the_rubric_must_be_filled_and_the_deadline_holds(people, review, ps2):
    with pytest.raises(ReviewError, match="Choose a level for Tests"):
        services.submit_review(review, people["reviewer"], {"Readability": "Clear"}, "x")
    with pytest.raises(ReviewError, match="Choose a level"):
        services.submit_review(review, people["reviewer"],
                               {"Readability": "Brilliant", "Tests": "Tried"}, "x")
    ps2.peer_review = peer_review(deadline=timezone.now() - dt.timedelta(hours=1))
    ps2.save()
    review.assignment.refresh_from_db()
    with pytest.raises(ReviewError, match="deadline has passed"):
        services.submit_review(review, people["reviewer"],
                               {"Readability": "Clear", "Tests": "Tried"}, "x")
    with pytest.raises(ReviewError, match="deadline has passed"):
        services.add_comment(review, people["reviewer"], "ps2-functions.ipynb", 0, None, "x")
    assert not ReviewComment.objects.exists()


def test_the_author_is_told_their_work_was_reviewed_once(people, review,
                                                        django_capture_on_commit_callbacks):
    told = []

    def receiver(sender, author, review, **kwargs):
        told.append(author.username)

    signals.work_reviewed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            for summary in ("First.", "Edited."):
                services.submit_review(review, people["reviewer"],
                                       {"Readability": "Clear", "Tests": "Tried"}, summary)
    finally:
        signals.work_reviewed.disconnect(receiver)
    assert told == ["linus"]


def test_review_scores_are_exported_with_the_grades(client, people, ps2, instructor):
    linus = people["author"]
    services.assign_reviews(ps2)
    for review in Review.objects.filter(assignment=ps2, author=linus):
        services.submit_review(review, review.reviewer,
                               {"Readability": "Clear", "Tests": "Not tried"}, "Ok.")
    response = as_(client, instructor).get(reverse("review-scores-csv", args=["python-101"]))
    assert response["Content-Disposition"] == 'attachment; filename="python-101-review-scores.csv"'
    rows = {row["learner"]: row for row in csv.DictReader(io.StringIO(response.content.decode()))}
    assert set(rows) == {"grace", "linus", "katherine"}
    row = rows["linus"]
    assert (row["assignment"], row["final_score"], row["reviews"], row["review_score"],
            row["review_max"], row["review_weight"]) == (
        "ps2-functions", "8.00", "2", "2.00", "4.00", "0.5")
    # half the grade (8 of 10) and half the review (2 of 4, times 10 points)
    assert Decimal(row["score_with_reviews"]) == Decimal("6.50")
    assert rows["grace"]["review_score"] == ""


# -- course.yml is the source ------------------------------------------------------------------


def test_the_import_keeps_the_peer_review_settings_and_instructors_see_them(
    python101_dir, client
):
    import_course(python101_dir)
    course = CoursePage.objects.get(slug="python-101")
    ps2 = AssignmentPage.objects.child_of(course).get(nbgrader_name="ps2-functions")
    ps1 = AssignmentPage.objects.child_of(course).get(nbgrader_name="ps1-basics")
    assert ps2.peer_review_spec.rubric[0].criterion == "Readability"
    assert ps1.peer_review == {}
    teacher = UserFactory(username="teacher")
    enroll(teacher, course, EnrollmentRole.INSTRUCTOR)
    page = as_(client, teacher).get(ps2.url).content.decode()
    assert 'id="peer-review-heading"' in page and "Reviews per submission" in page
    assert reverse("review-assignment", args=["python-101", "ps2-functions"]) in page
    student = UserFactory(username="student")
    enroll(student, course, EnrollmentRole.LEARNER)
    page = as_(client, student).get(ps2.url).content.decode()
    assert "Your peer reviews" in page and "Reviews per submission" not in page
    assert 'id="peer-review-heading"' not in as_(client, student).get(ps1.url).content.decode()


def test_another_courses_assignment_of_that_name_is_not_reached(client, instructor):
    other = CourseFactory(slug="data-201", title="Data 201")
    AssignmentFactory(parent=other, slug="ps2-functions", nbgrader_name="ps2-functions",
                      peer_review=peer_review())
    url = reverse("review-assignment", args=["python-101", "ps2-functions"])
    assert as_(client, instructor).get(url).status_code == 404


def test_reviews_still_to_do_before_their_deadline_are_found_for_reminders(people, review):
    assert list(open_reviews_due(timezone.now() + dt.timedelta(days=8))) == [review]
    assert list(open_reviews_due(timezone.now() + dt.timedelta(days=6))) == []
    services.submit_review(review, people["reviewer"], {"Readability": "Clear",
                                                         "Tests": "Tried"}, "Done.")
    assert list(open_reviews_due(timezone.now() + dt.timedelta(days=8))) == []


def test_the_command_assigns_every_open_round(ps2, trio, capsys):
    call_command("assign_reviews")
    assert "ps2-functions: 6 reviews assigned." in capsys.readouterr().out
    assert len(pairs(ps2)) == 6


def test_per_test_results_are_asked_for_and_shown_only_when_course_yml_allows(
    client, people, review, ps2, fake_grader
):
    ps2.peer_review = peer_review(show_test_results=True)
    ps2.save()
    path = "/courses/python-101/assignments/ps2-functions/submissions/" + "a" * 32 + "/notebook"
    answer = notebook_answer(code_cell("x = 1"))
    answer["tests"] = [{"id": "test_clamp", "notebook": "ps2-functions", "score": 1.0,
                        "max_score": 2.0}]
    fake_grader.misbehave("GET", path, ("json", 200, answer))
    page = as_(client, people["reviewer"]).get(reverse("review", args=[review.pk]))
    (call,) = [c for c in fake_grader.calls("GET") if c.path.endswith("/notebook")]
    assert call.query["tests"] == ["1"]
    assert "test_clamp: 1 of 2" in page.content.decode()


# -- notifications (lms.notifications' receivers of lms.review.signals, its reminders) --------


SCORES = {"Readability": "Clear", "Tests": "Tried"}


def told(user, kind) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=kind))


def test_each_reviewer_is_told_of_the_reviews_they_have_to_do(
    ps2, trio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.assign_reviews(ps2)
    for reviewer in trio:
        [notification] = told(reviewer, Kind.REVIEWS_TO_DO)
        assert notification.sentence.startswith("You have 2 peer reviews to do for ")
        first = Review.objects.filter(reviewer=reviewer).order_by("pk").first()
        assert notification.url == reverse("review", args=(first.pk,))


def test_the_author_is_told_of_a_review_without_the_reviewers_name_when_anonymous(
    people, review, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_review(review, people["reviewer"], SCORES, "Nice work.")
        services.submit_review(review, people["reviewer"], SCORES, "Edited.")  # told once
    [notification] = told(people["author"], Kind.WORK_REVIEWED)
    assert notification.actor is None
    assert people["reviewer"].display_name not in notification.sentence
    assert notification.sentence.startswith("A reviewer reviewed your work on ")


def test_without_anonymity_the_author_sees_who_reviewed_and_the_reviewer_who_answered(
    ps2, people, review, django_capture_on_commit_callbacks
):
    ps2.peer_review = peer_review(anonymity="none")
    ps2.save()
    review.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_review(review, people["reviewer"], SCORES, "Nice work.")
        services.reply(review, people["author"], "Thank you!")
    [reviewed] = told(people["author"], Kind.WORK_REVIEWED)
    assert reviewed.actor == people["reviewer"]
    [answered] = told(people["reviewer"], Kind.REVIEW_REPLY)
    assert answered.actor == people["author"]
    assert answered.sentence.startswith(people["author"].display_name)


def test_an_anonymous_authors_answer_reaches_the_reviewer_without_their_name(
    people, review, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_review(review, people["reviewer"], SCORES, "Nice work.")
        services.reply(review, people["author"], "Thank you!")
    [answered] = told(people["reviewer"], Kind.REVIEW_REPLY)
    assert answered.actor is None
    assert people["author"].display_name not in answered.sentence


def test_a_review_due_within_a_day_is_reminded_once_and_a_done_one_never(
    ps2, people, review, django_capture_on_commit_callbacks
):
    ps2.peer_review = peer_review(deadline=timezone.now() + dt.timedelta(hours=20))
    ps2.save()
    done = Review.objects.create(assignment=ps2, reviewer=people["other learner"],
                                 author=people["author"], submission_id="a" * 32)
    services.submit_review(done, people["other learner"], SCORES, "Done.")
    with django_capture_on_commit_callbacks(execute=True):
        assert remind_review_deadlines() == 1
        assert remind_review_deadlines() == 0  # the next day's run does not tell it again
    [reminder] = told(people["reviewer"], Kind.REVIEWS_TO_DO)
    assert reminder.sentence.startswith("Reminder: a peer review for ")
    assert told(people["other learner"], Kind.REVIEWS_TO_DO) == []


def test_a_deadline_further_than_a_day_is_not_reminded_yet(ps2, people, review):
    assert remind_review_deadlines() == 0  # the fixture's deadline is a week away
    assert told(people["reviewer"], Kind.REVIEWS_TO_DO) == []
