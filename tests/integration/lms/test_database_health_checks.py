"""PostgreSQL's persistent connections are pinged before a request only when they may have
gone stale (lms/base/database/postgresql/base.py): not after a request they served a moment
ago, as Django's CONN_HEALTH_CHECKS would on every request, but after a quiet spell or an error.
"""

import pytest
from django.db import DatabaseError, connection
from django_prometheus.db.backends.postgresql.base import DatabaseWrapper as CountingWrapper

from lms.base.database.postgresql import base

pytestmark = pytest.mark.django_db


class Clock:
    now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def pinged(monkeypatch):
    """A persistent, health-checked connection to the test database, the pings it gets, and
    the clock it reads."""
    clock = Clock()
    monkeypatch.setattr(base.time, "monotonic", clock.monotonic)
    wrapper = base.DatabaseWrapper(
        {**connection.settings_dict, "CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True}, "pinged"
    )
    pings = []
    usable = wrapper.is_usable
    monkeypatch.setattr(wrapper, "is_usable", lambda: pings.append(clock.now) or usable())
    yield wrapper, pings, clock
    wrapper.close()


def request(wrapper, sql: str = "SELECT 1") -> None:
    """One request's life as Django's handler drives a connection."""
    wrapper.close_if_unusable_or_obsolete()  # request_started
    try:
        with wrapper.cursor() as cursor:
            cursor.execute(sql)
    finally:
        wrapper.close_if_unusable_or_obsolete()  # request_finished


def test_the_backend_still_counts_queries_for_metrics():
    assert issubclass(base.DatabaseWrapper, CountingWrapper)


def test_a_connection_that_just_served_a_request_is_not_pinged(pinged):
    wrapper, pings, clock = pinged
    request(wrapper)  # opens the connection: nothing to check
    for _ in range(3):
        clock.now += 0.2
        request(wrapper)
    assert pings == []


def test_a_connection_idle_for_a_while_is_pinged_first(pinged):
    wrapper, pings, clock = pinged
    request(wrapper)
    clock.now += base.RECENTLY_USED_SECONDS + 0.5
    request(wrapper)
    assert pings == [clock.now]
    clock.now += 0.1
    request(wrapper)  # it answered the ping and the request
    assert pings == [clock.now - 0.1]


def test_a_connection_whose_request_failed_is_checked_again(pinged):
    wrapper, pings, clock = pinged
    request(wrapper)
    clock.now += 0.1
    with pytest.raises(DatabaseError):
        request(wrapper, "SELECT * FROM no_such_table")
    assert len(pings) == 1  # Django's own check, when the failed request ends
    clock.now += 0.1
    request(wrapper)  # the check answered a moment ago
    assert len(pings) == 1
    clock.now += base.RECENTLY_USED_SECONDS + 0.5
    request(wrapper)
    assert len(pings) == 2


def test_a_connection_the_server_dropped_is_replaced_after_a_quiet_spell(pinged):
    wrapper, pings, clock = pinged
    request(wrapper)
    old = wrapper.connection
    with connection.cursor() as cursor:  # the server ends the connection (as a restart would)
        cursor.execute("SELECT pg_terminate_backend(%s)", [old.info.backend_pid])
    clock.now += base.RECENTLY_USED_SECONDS + 0.5
    request(wrapper)
    assert pings and wrapper.connection is not old
