"""``peer_review`` of an assignment in course.yml: read into ``PeerReview`` and refused with the
field and a sentence when it cannot be used."""

from __future__ import annotations

import datetime as dt

import pytest

from courses.course_file import CourseFileError, PeerReview, load_course

PS2 = 1  # the demo course's ps2-functions has a peer review with every key


def review(data: dict) -> dict:
    return data["assignments"][PS2]["peer_review"]


def test_the_demo_courses_peer_review_is_read_with_its_rubric(python101_dir):
    spec = load_course(python101_dir).assignments[PS2].peer_review
    assert (spec.enabled, spec.reviews_per_submission, spec.opens, spec.anonymity) == (
        True, 2, "after_due", "both")
    assert spec.deadline == dt.datetime(2027, 3, 7, 23, 59, tzinfo=dt.UTC)
    assert (spec.counts_towards_grade, spec.weight, spec.show_test_results) == (True, 0.1, True)
    assert [c.criterion for c in spec.rubric] == ["Readability", "Tests"]
    assert spec.max_points == 4
    assert PeerReview.from_json(spec.as_json()) == spec


def test_an_assignment_without_peer_review_has_it_off(python101_dir):
    assert load_course(python101_dir).assignments[0].peer_review == PeerReview()
    assert PeerReview.from_json({}) == PeerReview()


def test_defaults_when_only_a_rubric_is_given(course_copy, edit_course_yml):
    rubric = [
        {"criterion": "Style", "levels": [{"label": "Good", "points": 1},
                                           {"label": "Poor", "points": 0}]}]
    edit_course_yml(course_copy, lambda d: d["assignments"][PS2].update(
        peer_review={"rubric": rubric}))
    spec = load_course(course_copy).assignments[PS2].peer_review
    assert (spec.enabled, spec.reviews_per_submission, spec.opens, spec.anonymity,
            spec.counts_towards_grade, spec.weight) == (True, 2, "after_due", "both", False, 0.0)


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda r: r.update(reviews_per_submission=0), "reviews_per_submission", "from 1 to 10"),
        (lambda r: r.update(reviews_per_submission=True), "reviews_per_submission", "whole"),
        (lambda r: r.update(opens="whenever"), "opens", "after_due, after_submit"),
        (lambda r: r.update(anonymity="secret"), "anonymity", "both, reviewers, none"),
        (lambda r: r.update(enabled="yes please"), "enabled", "true or false"),
        (lambda r: r.update(deadline="2027-02-01T00:00:00+00:00"), "deadline", "after the"),
        (lambda r: r.update(weight=1.5), "weight", "at most 1"),
        (lambda r: r.update(counts_towards_grade=False), "weight", "only allowed with"),
        (lambda r: r.pop("weight"), "weight", "above 0"),
        (lambda r: r.update(rubric=[]), "rubric", "at least one criterion"),
        (lambda r: r["rubric"][1].update(levels=[{"label": "Only", "points": 1}]),
         "rubric[1].levels", "at least two levels"),
        (lambda r: r["rubric"][0]["levels"][0].update(points=-1),
         "rubric[0].levels[0].points", "0 or more"),
        (lambda r: r["rubric"][0]["levels"][1].update(label="Clear throughout"),
         "rubric[0].levels", "appears twice"),
        (lambda r: r["rubric"][1].update(criterion="Readability"), "rubric", "appears twice"),
        (lambda r: r.update(reviewers=3), "reviewers", "unknown key"),
    ],
)
def test_a_peer_review_that_cannot_be_used_is_refused_with_field_and_sentence(
    course_copy, edit_course_yml, change, field, problem
):
    edit_course_yml(course_copy, lambda d: change(review(d)))
    with pytest.raises(CourseFileError) as error:
        load_course(course_copy)
    assert error.value.field_name == f"assignments[{PS2}].peer_review.{field}"
    assert problem in error.value.problem


def test_reviewing_after_the_due_date_needs_a_due_date(course_copy, edit_course_yml):
    edit_course_yml(course_copy, lambda d: d["assignments"][PS2].pop("due"))
    with pytest.raises(CourseFileError, match="after_due needs the assignment's due date"):
        load_course(course_copy)
