"""Writes about the school's Discourse: DiscourseConnect's nonces, and the queue of admin API work
that keeps each course's category and group in step with the LMS.

Enrollments change inside requests (and the course import, and the API); Discourse may be slow
or down. So a change only queues a :class:`~.models.SyncTask` in the change's own transaction,
and the calls run after it commits, in a thread of their own (``DISCOURSE_SYNC_IN_BACKGROUND``),
never in the request: a learner never waits for Discourse nor sees its errors. A task reads the
LMS's state when it runs, so running it twice does no harm. A call that fails for a while
(Discourse unreachable, 5xx) leaves the task queued with a growing delay, retried at the next
change or by ``python -m lms discourse-sync``; a refusal (4xx) is logged and dropped. The LMS
runs no task worker of its own, which is why the queue is a table.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from courses import naming
from lms.accounts.models import User
from lms.courses.models import CoursePage, Enrollment

from . import selectors
from .client import DiscourseClient, DiscourseRefused, DiscourseUnavailable
from .models import DiscourseCourse, SyncKind, SyncTask, UsedNonce

log = logging.getLogger(__name__)

NONCE_MEMORY = dt.timedelta(hours=1)
"""How long an answered nonce is remembered. Discourse forgets its nonces after 10 minutes, so
a payload older than this is refused by Discourse itself."""
MAX_ATTEMPTS = 8
"""A task that failed this often for an unavailable Discourse is dropped (and logged); the
``discourse-sync`` command does everything again."""


# --- DiscourseConnect ---------------------------------------------------------------------------
def use_nonce(nonce: str) -> bool:
    """Remember that ``nonce`` was answered; False if it was already (a replay)."""
    UsedNonce.objects.filter(used_at__lt=timezone.now() - NONCE_MEMORY).delete()
    try:
        with transaction.atomic():
            UsedNonce.objects.create(nonce=nonce)
    except IntegrityError:
        return False
    return True


# --- The queue -----------------------------------------------------------------------------------
def queue_course(course: CoursePage, *, run: bool = True) -> None:
    """Bring the course's category, group and all its members on Discourse in line, after the
    current transaction commits (``run=False``: leave it queued for whoever runs the queue)."""
    _queue(SyncKind.COURSE, course, None, run=run)


def queue_member(course: CoursePage | int, user: User | int) -> None:
    """Bring one person's membership of the course's group in line, after commit."""
    _queue(SyncKind.MEMBER, course, user, run=True)


def _queue(kind: str, course, user, *, run: bool) -> None:
    if not selectors.sync_configured():
        return
    course_id = getattr(course, "pk", course)
    user_id = getattr(user, "pk", user)
    with transaction.atomic():
        task, created = SyncTask.objects.select_for_update().get_or_create(
            kind=kind, course_id=course_id, user_id=user_id
        )
        if not created:
            SyncTask.objects.filter(pk=task.pk).update(run_after=timezone.now())
    if run:
        transaction.on_commit(dispatch)


_draining = threading.Lock()
_again = threading.Event()


def dispatch() -> None:
    """Run the queue: in a thread of its own in production (one per process at a time; a
    dispatch meanwhile makes it go round once more), here and now in tests."""
    if not settings.DISCOURSE_SYNC_IN_BACKGROUND:
        run_pending()
        return
    _again.set()
    threading.Thread(target=_drain, name="discourse-sync", daemon=True).start()


def _drain() -> None:
    if not _draining.acquire(blocking=False):
        return
    try:
        while _again.is_set():
            _again.clear()
            run_pending()
    except Exception:
        log.exception("Discourse: the sync queue stopped; the next change or "
                      "`python -m lms discourse-sync` runs it again")
    finally:
        _draining.release()
        connection.close()


def run_pending(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Run every task that is due; ``(done, failed)``. Tasks another process is running are
    skipped (PostgreSQL's ``SKIP LOCKED``)."""
    if not selectors.sync_configured():
        return 0, 0
    client = DiscourseClient.from_settings()
    done = failed = 0
    for pk in list(SyncTask.objects.filter(run_after__lte=now or timezone.now())
                   .values_list("pk", flat=True)):
        with transaction.atomic():
            task = (SyncTask.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("course", "user").filter(pk=pk).first())
            if task is None:
                continue
            if _run(client, task):
                done += 1
            else:
                failed += 1
    return done, failed


def _run(client: DiscourseClient, task: SyncTask) -> bool:
    """Run one task; it leaves the queue unless Discourse was unavailable."""
    try:
        if task.kind == SyncKind.COURSE:
            sync_course(client, task.course)
        else:
            sync_member(client, task.course, task.user)
    except DiscourseUnavailable as error:
        task.attempts += 1
        if task.attempts >= MAX_ATTEMPTS:
            log.error("Discourse: gave up on %s after %d attempts: %s", task, task.attempts,
                      error.message)
            task.delete()
            return False
        delay = min(dt.timedelta(minutes=2 ** task.attempts), dt.timedelta(hours=6))
        task.run_after = timezone.now() + delay
        task.last_error = error.message
        task.save(update_fields=["attempts", "run_after", "last_error"])
        log.warning("Discourse: %s failed (attempt %d), retried in %s: %s", task,
                    task.attempts, delay, error.message)
        return False
    except DiscourseRefused as error:
        log.error("Discourse: %s refused, not retried: %s", task, error.message)
        task.delete()
        return False
    task.delete()
    return True


# --- The work ------------------------------------------------------------------------------------
def _members(course: CoursePage):
    return User.objects.filter(pk__in=Enrollment.objects.filter(course=course)
                               .values("user_id")).order_by("pk")


def sync_course(client: DiscourseClient, course: CoursePage) -> DiscourseCourse:
    """Make the course's group and category exist with the LMS's settings, then make the
    group's members exactly the course's learners and instructors who have signed in to
    Discourse (the others join at their first sign-in, through DiscourseConnect's groups).
    Everything is looked up before it is created, so it is safe to run again."""
    group = naming.discourse_group(course.slug)
    known, _ = DiscourseCourse.objects.get_or_create(course=course,
                                                     defaults={"group_name": group})
    group_id = client.group_id(group)
    if group_id is None:
        group_id = client.create_group(group, course.title)
    else:
        client.update_group(group_id, group, course.title)

    category = None
    if known.category_id:
        try:
            client.update_category(known.category_id, course.title, course.slug, group)
            category = (known.category_id, known.category_slug or course.slug)
        except DiscourseRefused as error:
            if error.status != 404:
                raise
    if category is None:
        category = client.category_by_slug(course.slug)
        if category is None:
            category = client.create_category(course.title, course.slug, group)
        else:
            client.update_category(category[0], course.title, course.slug, group)

    wanted = {name for user in _members(course) if (name := client.username_of(str(user.pk)))}
    present = client.group_members(group)
    if missing := sorted(wanted - present):
        client.add_members(group_id, missing)
    if extra := sorted(present - wanted):
        client.remove_members(group_id, extra)

    known.group_name, known.group_id = group, group_id
    known.category_id, known.category_slug = category
    known.synced_at = timezone.now()
    known.save()
    log.info("Discourse: %s in step (category %s, group %s: +%d -%d)", course.slug,
             category[0], group, len(missing), len(extra))
    return known


def sync_member(client: DiscourseClient, course: CoursePage, user: User) -> None:
    """Put ``user`` in the course's group if enrolled, else take them out. Before the course's
    group exists this syncs the whole course; before the person first signed in to Discourse
    there is nothing to do (their first sign-in adds the group)."""
    known = DiscourseCourse.objects.filter(course=course, group_id__isnull=False).first()
    if known is None:
        sync_course(client, course)
        return
    username = client.username_of(str(user.pk))
    if username is None:
        return
    if Enrollment.objects.filter(course=course, user=user).exists():
        client.add_members(known.group_id, [username])
    else:
        client.remove_members(known.group_id, [username])


def resync_all() -> tuple[int, int]:
    """Queue every live course and run the queue here: ``(done, failed)``."""
    for course in CoursePage.objects.live():
        queue_course(course, run=False)
    return run_pending()
