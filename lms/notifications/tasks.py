"""The background tasks (django-tasks, database backend: the worker, ``python -m lms worker``,
runs them; requests only enqueue them, once their transaction has committed).

- :data:`send_emails`: the named notifications that go out at once.
- :data:`send_daily_digest`: every pending digest, then the next day's run is queued for
  ``LMS_NOTIFICATIONS_DIGEST_HOUR`` (the worker queues the first when it starts): the digest
  needs no cron.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from . import mailing


@task()
def send_emails(notification_ids: list[int]) -> int:
    return mailing.send_immediate(notification_ids)


@task()
def send_daily_digest() -> int:
    sent = mailing.send_digests()
    schedule_digest()
    return sent


def next_digest_time(now: dt.datetime | None = None) -> dt.datetime:
    """The next ``LMS_NOTIFICATIONS_DIGEST_HOUR`` o'clock (the LMS's time zone) after ``now``."""
    now = timezone.localtime(now or timezone.now())
    at = now.replace(hour=settings.LMS_NOTIFICATIONS_DIGEST_HOUR, minute=0, second=0,
                     microsecond=0)
    return at if at > now else at + dt.timedelta(days=1)


def schedule_daily(daily) -> bool:
    """Queue the next run of the daily task ``daily`` (at :func:`next_digest_time`) unless one
    is queued already; whether one was queued. (A running task is not READY any more, so it
    queues its successor.)"""
    waiting = DBTaskResult.objects.filter(
        task_path=daily.module_path, status=TaskResultStatus.READY
    ).exists()
    if waiting:
        return False
    daily.using(run_after=next_digest_time()).enqueue()
    return True


def schedule_digest() -> bool:
    """Queue the next daily digest unless one is queued already (:func:`schedule_daily`)."""
    return schedule_daily(send_daily_digest)
