"""The grader's HTTP API: a tornado application run as the JupyterHub service ``grader``.

Handlers stay thin: :class:`GraderHandler` (a ``servicekit.web.ServiceHandler``) identifies the
caller, each handler checks the caller's role in the course, then calls ``grading.services``
(writes) or ``grading.selectors`` (reads) off the event loop. Errors are JSON
``{"error", "message"}``: a sentence, never an exception's text or a path on the grader's
machine (an unexpected error is a 500 with a sentence; the traceback goes to the log). A
submission is shown to each caller as their :class:`~grading.selectors.Audience` may see it:
a failure's ``error_id`` to instructors, its ``details`` to hub admins only. ``GET api/status``
tells hub admins what the queue holds and why submissions wait. ``metrics`` is for Prometheus
(``grading.metrics``: the queue measured from the database when scraped, the workers' counts
summed), read with ``STUDIO_METRICS_TOKEN``.

Submissions are streamed to a spooled temporary file and checked against
``GRADER_MAX_SUBMISSION_BYTES`` while they arrive; what comes past the limit (or all of a body
whose declared ``Content-Length`` is over it) is read and dropped, then answered 413. Answering
before the body is read would close the connection under a client (or the hub's proxy) that is
still sending, which then sees a reset instead of the answer. Only a body over
``UNREAD_BODY_BYTES`` is cut off unanswered.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable

from jupyterhub.services.auth import HubOAuth
from tornado.ioloop import PeriodicCallback
from tornado.web import Application, stream_request_body

from courses.naming import ASSIGNMENT_NAME_REGEX, COURSE_SLUG_REGEX
from grading import selectors, services
from grading.archive import pack
from grading.manual_grades import GradebookWatcher
from grading.metrics import QueueCollector
from grading.selectors import Audience
from grading.services import CourseOps
from grading.settings import Settings
from grading.store import Database
from grading.worker import WorkerPool
from servicekit.errors import ServiceError, forbidden, invalid, not_found
from servicekit.hub_auth import hub_auth
from servicekit.metrics import DiskSpace
from servicekit.web import ServiceHandler, serve_until_signalled, service_application

log = logging.getLogger(__name__)

COURSE = rf"(?P<course>{COURSE_SLUG_REGEX})"
ASSIGNMENT = rf"(?P<assignment>{ASSIGNMENT_NAME_REGEX})"
SUBMISSION = r"(?P<submission_id>[0-9a-f]{32})"
SPOOL_BYTES = 1024 * 1024  # uploads up to this size stay in memory
UNREAD_BODY_BYTES = 1024**3  # bodies up to this size are read (and dropped) to answer 413


class GraderHandler(ServiceHandler):
    """Every API handler: the caller must be a hub user (or service) the hub vouches for."""

    @property
    def db(self) -> Database:
        return self.settings["db"]

    @property
    def grader(self) -> Settings:
        return self.settings["grader"]

    @property
    def ops(self) -> CourseOps:
        return self.settings["course_ops"]()

    # -- who may -----------------------------------------------------------------------------

    def require_member(self, course: str) -> None:
        if not self.current_user.belongs_to(course):
            raise forbidden(f"{self.current_user.name} is not in the course {course}.")

    def require_instructor(self, course: str) -> None:
        if not self.current_user.teaches(course):
            raise forbidden(f"Only instructors of {course} may do this.")

    def require_learner(self, course: str) -> None:
        if not self.current_user.learns(course):
            raise forbidden(f"Only learners of {course} may submit.")

    def require_trusted_service(self) -> None:
        if not self.current_user.trusted:
            raise forbidden("Only the LMS reads submitted notebooks for peer review.")

    def is_admin(self) -> bool:
        return self.current_user.is_person and self.current_user.admin

    def audience(self, course: str) -> Audience:
        """How much of a submission the caller sees: hub admins all (a failure's details),
        instructors (and the LMS acting for them) a failure's error id, learners a sentence."""
        if self.is_admin():
            return Audience.ADMIN
        if self.current_user.teaches(course):
            return Audience.INSTRUCTOR
        return Audience.LEARNER

    # -- answers ------------------------------------------------------------------------------

    def send_archive(self, data: bytes, filename: str) -> None:
        self.set_header("Content-Type", "application/gzip")
        self.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.finish(data)

    def submission_ids(self) -> list[str] | None:
        """``{"submissions": [ids]}`` from the body, or None for ``{}`` (all)."""
        body = self.json_object()
        unknown = set(body) - {"submissions"}
        if unknown:
            raise invalid(f"Unknown fields: {', '.join(sorted(unknown))}.")
        ids = body.get("submissions")
        if ids is None:
            return None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise invalid("submissions must be a list of submission ids.")
        return ids


class CoursesHandler(GraderHandler):
    """``GET api/courses``: the caller's courses and role in each, from their hub groups
    (what nbgrader's course list in JupyterLab shows)."""

    async def get(self) -> None:
        listed = [{"course": c, "role": r} for c, r in self.current_user.courses().items()]
        self.send_json({"courses": listed})


class AssignmentsHandler(GraderHandler):
    async def get(self, course: str) -> None:
        self.require_member(course)
        listed = await self.run(selectors.assignments, self.db, course, self.current_user.name,
                                self.audience(course))
        self.send_json({"assignments": listed})


class ReleaseHandler(GraderHandler):
    async def get(self, course: str, assignment: str) -> None:
        self.require_member(course)
        if await self.run(selectors.release_of, self.db, course, assignment) is None:
            raise not_found(f"{assignment!r} is not released in {course}")
        folder = await self.run(
            self.ops.released_files, self.grader.nbgrader_course_dir(course), assignment
        )
        self.send_archive(await self.run(pack, folder), f"{assignment}.tar.gz")

    async def post(self, course: str, assignment: str) -> None:
        self.require_instructor(course)
        options = self.json_object()
        release, created = await self.run(
            services.release, self.db, self.grader, self.ops, course, assignment, options
        )
        self.send_json(
            {
                "assignment": release.assignment,
                "released_at": selectors.iso(release.released_at),
                "due_at": selectors.iso(release.due_at),
                "late_policy": release.late_policy,
                "feedback": "auto" if release.feedback_auto else "manual",
                "notebooks": release.notebooks,
            },
            201 if created else 200,
        )

    async def delete(self, course: str, assignment: str) -> None:
        self.require_instructor(course)
        await self.run(services.unrelease, self.db, self.grader, self.ops, course, assignment)
        self.set_status(204)
        self.finish()


@stream_request_body
class SubmissionsHandler(GraderHandler):
    """``GET``: the caller's submissions (instructors: everyone's, or ``?learner=``).
    ``POST``: a new submission, streamed into a spooled file while its size is checked."""

    upload: tempfile.SpooledTemporaryFile | None = None
    received = 0
    too_large = False

    async def prepare(self) -> None:
        await super().prepare()
        if self._finished or self.request.method != "POST":
            return
        course, assignment = self.path_kwargs["course"], self.path_kwargs["assignment"]
        self.require_learner(course)
        if await self.run(selectors.release_of, self.db, course, assignment) is None:
            raise not_found(f"{assignment!r} is not released in {course}")
        declared = self.request.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.grader.max_submission_bytes:
            self.too_large = True  # drop the body as it arrives; post() answers 413
            return
        # closed in post() or on_finish(): the request outlives this method
        self.upload = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115

    def refuse_too_large(self) -> None:
        raise ServiceError(
            413, "too-large",
            f"The upload is larger than {self.grader.max_submission_bytes} bytes: remove large "
            "outputs or data files from the assignment folder and submit again.",
        )

    def data_received(self, chunk: bytes) -> None:
        if self.upload is None:  # refused already, or not a POST: drop what still arrives
            return
        self.received += len(chunk)
        if self.received > self.grader.max_submission_bytes:
            self.too_large = True
            self.upload.close()
            self.upload = None
            return
        self.upload.write(chunk)

    async def get(self, course: str, assignment: str) -> None:
        self.require_member(course)
        learner = self.get_query_argument("learner", None)
        if not self.current_user.teaches(course):
            if learner not in (None, self.current_user.name):
                raise forbidden("Learners see only their own submissions.")
            learner = self.current_user.name
        found = await self.run(selectors.submissions, self.db, course, assignment, learner)
        audience = self.audience(course)
        self.send_json({"submissions": [selectors.submission_json(s, audience) for s in found]})

    async def post(self, course: str, assignment: str) -> None:
        if self.too_large:
            self.refuse_too_large()
        upload = self.upload
        assert upload is not None
        try:
            upload.seek(0)
            submission = await self.run(
                services.submit, self.db, self.grader, course, assignment,
                self.current_user.name, upload,
            )
        finally:
            upload.close()
        self.send_json(selectors.submission_json(submission), 202)

    def on_finish(self) -> None:
        if self.upload is not None:
            self.upload.close()


class FeedbackFilesHandler(GraderHandler):
    async def get(self, course: str, assignment: str, submission_id: str) -> None:
        self.require_member(course)
        found = await self.run(selectors.submission, self.db, course, assignment, submission_id)
        caller = self.current_user
        if found is None or not (caller.teaches(course) or found.learner == caller.name):
            raise not_found(f"no submission {submission_id} of {assignment!r}")
        folder = selectors.feedback_folder(found, released_only=not caller.teaches(course))
        if folder is None:
            raise not_found("No feedback for this submission yet.")
        data = await self.run(pack, folder, [".html"])
        self.send_archive(data, f"{assignment}-{submission_id}-feedback.tar.gz")


class SubmissionStatusHandler(GraderHandler):
    """``GET …/submissions/{id}/status``: the grading status of one submission, for the learner
    who submitted it and instructors. ``GET …/submissions/latest/status``: of the caller's
    newest submission (instructors and trusted services: ``?learner=``'s). ``404`` for a
    submission that is not there or not the caller's to see."""

    async def get(self, course: str, assignment: str, submission_id: str | None = None) -> None:
        self.require_member(course)
        caller = self.current_user
        if submission_id is None:
            learner = self.get_query_argument("learner", None) or caller.name
            if learner != caller.name and not caller.teaches(course):
                raise forbidden("Learners see only their own submissions.")
            found = await self.run(
                selectors.latest_submission, self.db, course, assignment, learner
            )
            if found is None:
                raise not_found(f"{learner} has no submission of {assignment!r} in {course}.")
        else:
            found = await self.run(
                selectors.submission, self.db, course, assignment, submission_id
            )
            if found is None or not (caller.teaches(course) or found.learner == caller.name):
                raise not_found(f"no submission {submission_id} of {assignment!r}")
        status = await self.run(
            selectors.submission_status, self.db, found, self.grader.lms_public_url
        )
        self.send_json(status)


class SubmittedNotebookHandler(GraderHandler):
    """``GET …/submissions/{id}/notebook``: for the LMS alone (a trusted service), the submitted
    notebooks of one submission as a peer reviewer may see them: hidden tests removed, the
    per-test results only when ``?tests=1`` asks and course.yml's ``show_test_results``
    allows. ``?learner=`` (optional) must be the submission's learner. The LMS decides who
    reviews whom; nobody else reads another learner's notebook here."""

    async def get(self, course: str, assignment: str, submission_id: str) -> None:
        self.require_trusted_service()
        found = await self.run(selectors.submission, self.db, course, assignment, submission_id)
        learner = self.get_query_argument("learner", None)
        if found is None or (learner is not None and found.learner != learner):
            raise not_found(f"no submission {submission_id} of {assignment!r}")
        with_tests = self.get_query_argument("tests", "0") == "1" and await self.run(
            selectors.shows_test_results, self.grader.studio_course_dir(course), assignment
        )
        self.send_json(await self.run(selectors.review_copy, self.db, found, with_tests))


class RegradeHandler(GraderHandler):
    async def post(self, course: str, assignment: str) -> None:
        self.require_instructor(course)
        ids = self.submission_ids()
        queued = await self.run(services.regrade, self.db, course, assignment, ids)
        self.send_json({"submissions": queued}, 202)


class FeedbackReleaseHandler(GraderHandler):
    async def post(self, course: str, assignment: str) -> None:
        self.require_instructor(course)
        ids = self.submission_ids()
        released = await self.run(
            services.release_feedback, self.db, course, assignment, ids,
            bool(self.grader.lms_token),
        )
        self.send_json({"released": released})


class StatusHandler(GraderHandler):
    """``GET api/status``: for hub admins, the queue and why submissions wait."""

    async def get(self) -> None:
        if not self.is_admin():
            raise forbidden("Only the hub's admins see the grader's status.")
        self.send_json(await self.run(selectors.queue_status, self.db))


def make_app(
    settings: Settings,
    db: Database,
    course_ops: Callable[[], CourseOps] = services.nbgrader_course_ops,
    auth: HubOAuth | None = None,
) -> Application:
    """The application. ``course_ops`` returns what release and fetch call (by default
    ``grading.release``); tests pass fakes."""
    auth = auth or hub_auth(settings.service_name)
    prefix = auth.base_url  # JUPYTERHUB_SERVICE_PREFIX, e.g. /services/grader/
    api = f"{prefix}api/courses/{COURSE}"
    on = f"{api}/assignments/{ASSIGNMENT}"
    return service_application(
        auth,
        [
            (f"{prefix}api/status", StatusHandler),
            (f"{prefix}api/courses", CoursesHandler),
            (f"{api}/assignments", AssignmentsHandler),
            (f"{on}/release", ReleaseHandler),
            (f"{on}/submissions", SubmissionsHandler),
            (f"{on}/submissions/{SUBMISSION}/feedback", FeedbackFilesHandler),
            (f"{on}/submissions/{SUBMISSION}/status", SubmissionStatusHandler),
            (f"{on}/submissions/{SUBMISSION}/notebook", SubmittedNotebookHandler),
            (f"{on}/submissions/latest/status", SubmissionStatusHandler),
            (f"{on}/regrade", RegradeHandler),
            (f"{on}/feedback", FeedbackReleaseHandler),
        ],
        title="grader",
        trusted_services=settings.trusted_services,
        cookie_secret=settings.cookie_secret(),
        metrics_token=settings.metrics_token,
        metrics_collectors=(
            QueueCollector(lambda: selectors.queue_measures(db)),
            DiskSpace({"grader": settings.root}),
        ),
        db=db,
        grader=settings,
        course_ops=course_ops,
    )


def serve(
    settings: Settings,
    course_ops: Callable[[], CourseOps] = services.nbgrader_course_ops,
    with_workers: bool = True,
) -> None:
    """``python -m grading serve``: the API on ``JUPYTERHUB_SERVICE_URL``, ``GRADER_WORKERS``
    worker processes beside it (none when 0), and the scan for grades instructors changed by
    hand (``grading.manual_grades``, every ``GRADER_GRADEBOOK_SCAN_SECONDS``; 0: none). SIGTERM
    stops the API, then the workers."""
    db = Database(settings.db_url)
    services.remove_stale_incoming(settings)
    pool = WorkerPool(settings, settings.workers) if with_workers and settings.workers else None
    if pool:
        pool.start()
    app = make_app(settings, db, course_ops)

    async def main() -> None:
        log.info("grader: %s workers", pool.count if pool else 0)
        checker = PeriodicCallback(pool.check, 5000) if pool else None
        if checker:
            checker.start()
        watcher = GradebookWatcher(db, settings) if settings.gradebook_scan_seconds else None
        if watcher:
            watcher.start()
        try:
            await serve_until_signalled(
                app, settings.bind_url,
                max_body_size=max(UNREAD_BODY_BYTES, settings.max_submission_bytes),
            )
        finally:
            if watcher:
                watcher.stop()
            if checker:
                checker.stop()

    try:
        asyncio.run(main())
    finally:
        if pool:
            pool.stop()
        db.dispose()
