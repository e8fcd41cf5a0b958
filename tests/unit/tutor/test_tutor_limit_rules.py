"""Per-learner rate limit and daily quota, on a clock the tests move."""

from __future__ import annotations

import datetime as dt

import pytest

from tutor.limits import LimitExceeded, Limits

NOON = dt.datetime(2027, 1, 15, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.seconds = 1000.0
        self.now = NOON

    def advance(self, seconds: float) -> None:
        self.seconds += seconds
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return Clock()


def limits(clock, per_minute=3, per_day=100, logged=None):
    logged = logged or {}
    return Limits(per_minute, per_day, lambda learner, since: logged.get(learner, 0),
                  clock=lambda: clock.seconds, now=lambda: clock.now)


def test_the_rate_limit_refuses_with_when_to_try_again(clock):
    guard = limits(clock)
    for _ in range(3):
        guard.admit("grace")
        clock.advance(10)
    with pytest.raises(LimitExceeded) as refused:
        guard.admit("grace")
    assert refused.value.code == "rate"
    assert refused.value.retry_after == 30
    assert "3 times in the last minute" in refused.value.message
    assert "at most 3 requests a minute" in refused.value.message
    assert "Try again in 30 seconds" in refused.value.message


def test_the_window_slides(clock):
    guard = limits(clock)
    for _ in range(3):
        guard.admit("grace")
    clock.advance(60)
    guard.admit("grace")  # the first three are a minute old


def test_each_learner_has_their_own_limits(clock):
    guard = limits(clock, per_minute=1)
    guard.admit("grace")
    guard.admit("linus")
    with pytest.raises(LimitExceeded):
        guard.admit("grace")


def test_the_daily_quota_counts_what_was_logged_today(clock):
    guard = limits(clock, per_minute=100, per_day=5, logged={"grace": 4})
    guard.admit("grace")
    with pytest.raises(LimitExceeded) as refused:
        guard.admit("grace")
    assert refused.value.code == "quota"
    assert "all 5 tutor requests for today" in refused.value.message
    assert "midnight UTC (00:00 UTC), in 12 hours" in refused.value.message
    assert refused.value.retry_after == 12 * 3600
    assert guard.usage("grace").used == 5


def test_the_quota_resets_at_midnight_utc(clock):
    logged = {"grace": 5}
    guard = limits(clock, per_minute=100, per_day=5, logged=logged)
    with pytest.raises(LimitExceeded):
        guard.admit("grace")
    clock.advance(12 * 3600)
    logged["grace"] = 0  # nothing logged yet on the new day
    guard.admit("grace")
    usage = guard.usage("grace")
    assert usage.used == 1
    assert usage.resets_at == dt.datetime(2027, 1, 17, tzinfo=dt.UTC)


def test_a_refused_request_is_not_counted(clock):
    guard = limits(clock, per_minute=1, per_day=10)
    guard.admit("grace")
    for _ in range(5):
        with pytest.raises(LimitExceeded):
            guard.admit("grace")
    assert guard.usage("grace").used == 1
