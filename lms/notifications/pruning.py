"""Finished task results do not pile up: django-tasks-db keeps a row per task run (every email
sent, every digest), finished or not. Once a day, at the digest's hour, the worker deletes the
rows of tasks that finished (successfully or not) more than ``LMS_TASK_RESULTS_RETENTION_DAYS``
days ago; tasks waiting or running are never touched."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from .tasks import schedule_daily


def prune_finished_results(now: dt.datetime | None = None) -> int:
    """Delete the results of tasks finished before the retention; how many were deleted."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.LMS_TASK_RESULTS_RETENTION_DAYS)
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return deleted


@task()
def prune_task_results() -> int:
    pruned = prune_finished_results()
    schedule_pruning()
    return pruned


def schedule_pruning() -> bool:
    """Queue the next daily pruning unless one is queued already."""
    return schedule_daily(prune_task_results)
