"""Peer review deadline reminders: once a day (with the digest's hour, ``tasks.schedule_daily``)
each reviewer with a peer review still to do that is due within a day is told so, once per
review. The worker queues the first run when it starts (``python -m lms worker``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

from lms.review.selectors import open_reviews_due

from .models import Kind
from .receivers import review_event
from .services import notify
from .tasks import schedule_daily

REMINDER = "Reminder: "


def remind_review_deadlines(now: dt.datetime | None = None) -> int:
    """Tell each reviewer, once per review, that a review still to do is due within a day;
    how many were told."""
    now = now or timezone.now()
    told = 0
    for found in open_reviews_due(now + dt.timedelta(days=1)):
        deadline = found.assignment.peer_review_spec.deadline
        if deadline is None or deadline <= now:
            continue
        event = review_event(
            Kind.REVIEWS_TO_DO,
            f"{REMINDER}a peer review for {found.assignment.title} is due "
            f"{timezone.localtime(deadline):%d %b %Y %H:%M}", found,
        )
        already = found.reviewer.notifications.filter(
            kind=Kind.REVIEWS_TO_DO, url=event.url, text__startswith=REMINDER
        ).exists()
        if not already:
            told += len(notify(event, [found.reviewer]))
    return told


@task()
def send_review_reminders() -> int:
    told = remind_review_deadlines()
    schedule_reminders()
    return told


def schedule_reminders() -> bool:
    """Queue the next daily reminders unless they are queued already."""
    return schedule_daily(send_review_reminders)
