"""Per-learner rate limit and daily quota, on a tutor allowing 3 requests a minute, 5 a day."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import create_engine, text

from tests.support.notebook_requests import notebook_of

pytestmark = [pytest.mark.slow]

CHAT = {"mode": "chat", "assignment": "ps1-basics", "question": "What is a loop?",
        **notebook_of("ps1-basics")}


def test_the_fourth_request_in_a_minute_is_429_with_when_to_retry(limited_tutor):
    for _ in range(3):
        assert limited_tutor.ask("quentin", **CHAT).last["type"] == "done"
    refused = limited_tutor.ask("quentin", **CHAT)
    assert refused.status == 429
    assert refused.error["error"] == "rate"
    assert "at most 3 requests a minute" in refused.error["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    other = limited_tutor.ask("grace", **CHAT)  # another learner is not held up
    assert other.last["type"] == "done"


def test_the_daily_quota_counts_what_the_log_holds_for_today(limited_tutor):
    engine = create_engine(limited_tutor.db_url())
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with engine.begin() as connection:  # four exchanges earlier today (before a restart, say)
        for _ in range(4):
            connection.execute(text(
                "INSERT INTO tutor_exchanges (course, learner, mode, reply, offline, refused, "
                "failed, error, created_at, duration_ms) VALUES ('python-101', 'linus', "
                "'chat', 'earlier', 0, 0, 0, '', :at, 5)"), {"at": now})
    engine.dispose()
    status = limited_tutor.call("linus", "GET", "status?course=python-101").json()
    assert status["quota"]["used"] == 4 and status["quota"]["limit"] == 5
    assert limited_tutor.ask("linus", **CHAT).last["type"] == "done"
    refused = limited_tutor.ask("linus", **CHAT)
    assert refused.status == 429
    assert refused.error["error"] == "quota"
    assert "all 5 tutor requests for today" in refused.error["message"]
    assert "midnight UTC" in refused.error["message"]
    assert int(refused.headers["Retry-After"]) > 0
    after = limited_tutor.call("linus", "GET", "status?course=python-101").json()
    assert after["quota"]["used"] == 5
