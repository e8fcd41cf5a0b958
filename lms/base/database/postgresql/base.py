"""PostgreSQL as the LMS uses it: django-prometheus's backend (queries counted for
``/metrics``), whose persistent connections are health-checked only when they may have gone
stale.

Django's ``CONN_HEALTH_CHECKS`` (on, from ``DATABASE_URL``, so that a connection the server
dropped, say by a restart, is replaced instead of failing a request) pings a reused connection
with ``SELECT 1`` before the first query of *every* request. Under load that is a round trip to
the server on every page: the bench's LMS at 100 requests a second spent 6 % of its time in it
(``make bench``, docs/architecture.md, "Operations: capacity"). A connection that served the
previous request of its worker without an error (or answered Django's own check after a
request that had one) less than :data:`RECENTLY_USED_SECONDS` ago has just been shown to work;
it is not pinged again. One that sat idle longer is checked as Django checks it.
"""

from __future__ import annotations

import time

from django_prometheus.db.backends.postgresql import base

# How long a connection that has just answered is trusted without a ping: the gap between two
# requests of a busy worker is milliseconds; after a second of quiet, a check costs nothing.
RECENTLY_USED_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    answered_at: float | None = None  # when the connection last served a request without error

    def close_if_unusable_or_obsolete(self) -> None:
        # Called when a request starts and when it ends. ``health_check_done`` is True when the
        # request now ending used the connection (checked, or opened, at its first query), or
        # when Django checked it after a request that had a database error.
        errored = self.errors_occurred
        served = self.connection is not None and self.health_check_done and not errored
        super().close_if_unusable_or_obsolete()
        if self.connection is None or errored:
            self.answered_at = None
        elif served:
            self.answered_at = time.monotonic()

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and not self.health_check_done
            and self.answered_at is not None
            and time.monotonic() - self.answered_at < RECENTLY_USED_SECONDS
        ):
            self.health_check_done = True  # as if checked: it answered a moment ago
            return
        super().close_if_health_check_failed()
