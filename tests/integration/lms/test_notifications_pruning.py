"""Finished task results do not pile up: the worker queues a daily pruning that deletes the
results of tasks finished longer ago than LMS_TASK_RESULTS_RETENTION_DAYS, and never a task that
waits or runs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from lms.notifications.pruning import prune_finished_results, prune_task_results
from lms.notifications.tasks import send_emails


@pytest.fixture(autouse=True)
def _a_week(settings):
    settings.LMS_TASK_RESULTS_RETENTION_DAYS = 7


def a_result(status: str, days_ago: float | None) -> int:
    result = send_emails.enqueue([])
    finished = None if days_ago is None else timezone.now() - dt.timedelta(days=days_ago)
    DBTaskResult.objects.filter(pk=result.id).update(status=status, finished_at=finished)
    return result.id


def test_results_finished_before_the_retention_are_deleted_and_the_rest_kept(db):
    old_ok = a_result(TaskResultStatus.SUCCESSFUL, 8)
    old_failed = a_result(TaskResultStatus.FAILED, 30)
    recent = a_result(TaskResultStatus.SUCCESSFUL, 6)
    waiting = a_result(TaskResultStatus.READY, None)
    running = a_result(TaskResultStatus.RUNNING, None)
    assert prune_finished_results() == 2
    left = {str(pk) for pk in DBTaskResult.objects.values_list("pk", flat=True)}
    assert left == {str(recent), str(waiting), str(running)}
    assert not DBTaskResult.objects.filter(pk__in=[old_ok, old_failed]).exists()


def test_the_retention_is_the_setting(db, settings):
    kept = a_result(TaskResultStatus.SUCCESSFUL, 8)
    settings.LMS_TASK_RESULTS_RETENTION_DAYS = 10
    assert prune_finished_results() == 0
    assert DBTaskResult.objects.filter(pk=kept).exists()


def test_the_worker_queues_the_daily_pruning_and_each_run_queues_the_next(transactional_db):
    """(Transactional: the worker closes its database connection when it stops.)"""
    call_command("worker", batch=True, interval=0.1, verbosity=0)
    queued = DBTaskResult.objects.filter(task_path=prune_task_results.module_path,
                                         status=TaskResultStatus.READY)
    [first] = queued
    assert first.run_after > timezone.now()  # at the digest's hour, not now
    old = a_result(TaskResultStatus.SUCCESSFUL, 8)
    DBTaskResult.objects.filter(pk=first.pk).update(status=TaskResultStatus.RUNNING)
    assert prune_task_results.call() == 1
    assert not DBTaskResult.objects.filter(pk=old).exists()
    [following] = queued.all()
    assert following.pk != first.pk
