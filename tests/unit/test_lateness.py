"""courses.lateness: the one lateness rule, property-tested against its statement."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from courses.course_file import LatePolicy
from courses.lateness import as_decimal, assess, days_late

UTC = dt.UTC
DUE = dt.datetime(2027, 1, 31, 23, 59, tzinfo=UTC)
MICROSECOND = dt.timedelta(microseconds=1)

offsets = st.timedeltas(min_value=dt.timedelta(days=-30), max_value=dt.timedelta(days=60))
scores = st.one_of(
    st.decimals(min_value=0, max_value=1000, places=3),
    st.floats(min_value=0, max_value=1000, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=1000),
)
policies = st.builds(
    LatePolicy,
    mode=st.sampled_from(["reject", "accept", "penalty"]),
    percent_per_day=st.one_of(st.integers(0, 100), st.floats(0, 100, allow_nan=False)),
    cutoff_days=st.integers(0, 40),
)


def started_days(offset: dt.timedelta) -> int:
    """The statement, on exact fractions of a day."""
    if offset <= dt.timedelta(0):
        return 0
    fraction = Fraction(offset // MICROSECOND, dt.timedelta(days=1) // MICROSECOND)
    return -(-fraction.numerator // fraction.denominator)


@given(offset=offsets)
def test_days_late_counts_started_days_exactly(offset):
    assert days_late(DUE, DUE + offset) == started_days(offset)


@pytest.mark.parametrize(("offset", "days"), [
    (dt.timedelta(0), 0),
    (MICROSECOND, 1),
    (dt.timedelta(seconds=1), 1),
    (dt.timedelta(days=1), 1),
    (dt.timedelta(days=1) + MICROSECOND, 2),
    (dt.timedelta(days=3), 3),
    (-dt.timedelta(days=2), 0),
])
def test_the_boundaries_of_a_day(offset, days):
    assert days_late(DUE, DUE + offset) == days


@given(policy=policies, offset=offsets, score=scores)
def test_on_time_work_is_untouched_and_late_work_follows_its_policy(policy, offset, score):
    verdict = assess(policy, DUE, DUE + offset, score)
    points = as_decimal(score)
    days = started_days(offset)
    assert verdict.days_late == days
    assert verdict.late == (days > 0)
    if days == 0:
        assert (verdict.rejected, verdict.penalty, verdict.final_score) == (False, 0, points)
        return
    refused = policy.mode == "reject" or (
        policy.mode == "penalty" and policy.cutoff_days and days > policy.cutoff_days)
    assert verdict.rejected == bool(refused)
    assert verdict.may_count == (not refused)
    if refused:
        assert (verdict.penalty, verdict.final_score) == (0, 0)
    elif policy.mode == "accept":
        assert (verdict.penalty, verdict.final_score) == (0, points)
    else:
        percent = min(days * Fraction(as_decimal(policy.percent_per_day)), 100)
        exact = Fraction(points) * percent / 100
        expected = Decimal(exact.numerator) / Decimal(exact.denominator)
        expected = min(expected.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), points)
        assert verdict.penalty == expected
        assert verdict.final_score == points - verdict.penalty
    assert 0 <= verdict.final_score <= points


@given(policy=policies, score=scores, days=st.integers(1, 50))
def test_a_later_submission_never_loses_less(policy, score, days):
    earlier = assess(policy, DUE, DUE + dt.timedelta(days=days), score)
    later = assess(policy, DUE, DUE + dt.timedelta(days=days + 1), score)
    assert later.final_score <= earlier.final_score
    assert later.rejected >= earlier.rejected


@given(policy=policies, offset=offsets, score=scores)
def test_no_due_date_is_never_late(policy, offset, score):
    verdict = assess(policy, None, DUE + offset, score)
    assert not verdict.late and not verdict.rejected and verdict.penalty == 0


def test_a_float_score_is_taken_as_written():
    verdict = assess(LatePolicy("penalty", 10, 0), DUE, DUE + dt.timedelta(hours=1), 0.15)
    assert verdict.penalty == Decimal("0.02")  # 0.015 rounds half up: not the binary 0.01499...
    assert verdict.final_score == Decimal("0.13")
