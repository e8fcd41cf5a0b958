"""nbgrader's exchange over HTTP: the learner's JupyterLab talks to the grader service.

nbgrader's own exchange is a folder every server can write to; in a multi-user Docker deployment
that is a shared writable mount, which the studio never gives a learner's container. These
classes plug into nbgrader's ``ExchangeFactory`` (``nbgrader_config.json`` in the learner image
names them) and do the same four things over the grader's HTTP API (``docs/grading.md``), with
the learner's own hub token (``JUPYTERHUB_API_TOKEN``): list released and submitted assignments,
fetch an assignment, submit it, fetch feedback. nbgrader's Assignments panel in JupyterLab calls
them unchanged.

Folders follow the hub's course materials: ``<work>/<course>/<assignment>/``
(``path_includes_course``), so an assignment the hub already placed shows as fetched, and
feedback lands in ``<assignment>/feedback/<timestamp>/<notebook>.html`` as nbgrader puts it.

The instructor side (release, collect, release feedback) lives with the grader, which owns the
course directory: those classes refuse with a sentence that says where to do it instead.

Needs nbgrader and requests, which the learner image has (JupyterLab's nbgrader extension and
jupyterhub-singleuser bring them).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import sys
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

import requests
from nbgrader.exchange.abc import Exchange as ABCExchange
from nbgrader.exchange.abc import ExchangeCollect as ABCExchangeCollect
from nbgrader.exchange.abc import ExchangeFetchAssignment as ABCExchangeFetchAssignment
from nbgrader.exchange.abc import ExchangeFetchFeedback as ABCExchangeFetchFeedback
from nbgrader.exchange.abc import ExchangeList as ABCExchangeList
from nbgrader.exchange.abc import ExchangeReleaseAssignment as ABCExchangeReleaseAssignment
from nbgrader.exchange.abc import ExchangeReleaseFeedback as ABCExchangeReleaseFeedback
from nbgrader.exchange.abc import ExchangeSubmit as ABCExchangeSubmit
from traitlets import Bool, Float, Integer, Unicode, default

MIB = 1024 * 1024
# Never sent with a submission: nbgrader's own skip list and the feedback fetched into it.
SKIPPED = {".ipynb_checkpoints", "__pycache__", "feedback", ".git"}
# The jupyter_server event a submission made in a learner's server emits (data: course,
# assignment, submission, submitted_at): the grading status extension (extensions/
# pls_grading_status) registers its schema and follows the submission until it is graded.
SUBMITTED_EVENT = "urn:python-learning-studio:events:grading:submitted:v1"
INSTRUCTOR_SIDE = (
    "The grader service owns the course's nbgrader directory: {what} from the assignment's "
    "page in the LMS (or its API), not from JupyterLab."
)


class HttpExchange(ABCExchange):
    """What every exchange step shares: where the grader is, the token, the folders."""

    grader_url = Unicode(
        help="""The grader's API, e.g. http://172.17.0.1:10101/services/grader/api. Default:
        PLS_GRADER_URL, which the hub sets in each learner's server.""",
    ).tag(config=True)

    @default("grader_url")
    def _grader_url_default(self) -> str:
        return os.environ.get("PLS_GRADER_URL", "")

    api_token = Unicode(
        help="The hub API token the grader identifies the caller by. Default: the server's own.",
    ).tag(config=True)

    @default("api_token")
    def _api_token_default(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    timeout = Float(60.0, help="Seconds to wait for the grader's answer.").tag(config=True)

    path_includes_course = Bool(
        True,
        help="""Assignments live in <assignment_dir>/<course>/<assignment>/, where the hub
        puts a course's materials.""",
    ).tag(config=True)

    max_files = Integer(200, help="Most files a submission may hold.").tag(config=True)
    max_bytes = Integer(
        20 * MIB, help="Most bytes a submission's files may add up to (the grader's limit)."
    ).tag(config=True)

    # -- the grader ---------------------------------------------------------------------------

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request to the grader; any failure ends the step with the grader's own words
        (ExchangeError, shown in the Assignments panel)."""
        if not self.grader_url:
            self.fail("The grader's address is not set (PLS_GRADER_URL): ask the studio's "
                      "admins to configure the grader service.")
        url = f"{self.grader_url.rstrip('/')}/{path}"
        headers = {"Authorization": f"token {self.api_token}", **kwargs.pop("headers", {})}
        try:
            response = requests.request(
                method, url, headers=headers, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            self.fail(f"The grader does not answer ({type(exc).__name__}); try again in a "
                      "minute. Your files are unchanged.")
        if response.status_code >= 400:
            self.fail(grader_message(response))
        return response

    def courses(self) -> list[str]:
        """The course of this step, or every course the caller is in."""
        if self.coursedir.course_id:
            return [self.coursedir.course_id]
        listed = self.call("GET", "courses").json()["courses"]
        return [entry["course"] for entry in listed]

    def assignments(self, course: str) -> list[dict[str, Any]]:
        """The course's released assignments, with the caller's own submissions."""
        return self.call("GET", f"courses/{course}/assignments").json()["assignments"]

    def assignment(self, course: str, name: str) -> dict[str, Any]:
        for entry in self.assignments(course):
            if entry["assignment"] == name:
                return entry
        self.fail(f"{name} is not released in {course}.")

    # -- folders ------------------------------------------------------------------------------

    def local_dir(self, course: str, assignment: str) -> Path:
        parts = (course, assignment) if self.path_includes_course else (assignment,)
        return Path(self.assignment_dir, *parts).absolute()

    def require_course(self) -> None:
        if not self.coursedir.course_id:
            self.fail("No course id specified. Re-run with --course flag.")

    def init_src(self) -> None:
        """Overridden by the steps that read something."""

    def init_dest(self) -> None:
        """Overridden by the steps that write something."""

    def copy_files(self) -> None:
        """Overridden by the steps that transfer files."""


def grader_message(response: requests.Response) -> str:
    """The grader's sentence for a refused request (``{"error", "message"}``)."""
    try:
        return str(response.json()["message"])
    except (ValueError, KeyError, TypeError):
        return f"The grader refused the request ({response.status_code})."


def nbgrader_timestamp(iso: str, timestamp_format: str) -> str:
    """A grader time (ISO 8601, UTC) as nbgrader writes its timestamps."""
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC).strftime(timestamp_format)


# -- archives -------------------------------------------------------------------------------------


def safe_members(archive: tarfile.TarFile) -> list[tuple[tarfile.TarInfo, PurePosixPath]]:
    """The regular files of an archive from the grader, with their relative paths; anything
    else (links, absolute paths, '..') is left out. (Python 3.11.2, the image's, has no
    tarfile extraction filters.)"""
    found = []
    for member in archive:
        path = PurePosixPath(member.name)
        if not member.isfile() or path.is_absolute() or ".." in path.parts:
            continue
        found.append((member, path))
    return found


def extract(data: bytes, target: Path, only_missing: bool = False) -> list[PurePosixPath]:
    """Write the archive's files under ``target``; with ``only_missing`` an existing file is
    kept (the learner's work is never overwritten). Returns what was written."""
    written = []
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member, path in safe_members(archive):
            destination = target.joinpath(*path.parts)
            if only_missing and destination.exists():
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None  # a regular file
            destination.write_bytes(source.read())
            written.append(path)
    return written


def pack(folder: Path, max_files: int, max_bytes: int) -> tuple[bytes, list[str]]:
    """A gzipped tar of the assignment folder (what is submitted) and the notebooks in it.
    Skips checkpoints, caches, fetched feedback and links."""
    buffer = io.BytesIO()
    files = 0
    total = 0
    notebooks = []
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if any(part in SKIPPED for part in relative.parts) or path.is_symlink():
                continue
            if not path.is_file():
                continue
            files += 1
            total += path.stat().st_size
            if files > max_files or total > max_bytes:
                raise ValueError(
                    f"the folder holds more than {max_files} files or {max_bytes // MIB} MiB"
                )
            archive.add(path, arcname=relative.as_posix(), recursive=False)
            if path.suffix == ".ipynb" and len(relative.parts) == 1:
                notebooks.append(path.stem)
    return buffer.getvalue(), notebooks


# -- the learner's steps --------------------------------------------------------------------------


class HttpExchangeList(HttpExchange, ABCExchangeList):
    """Released assignments (``fetched`` when the folder exists) and, with ``cached``, the
    caller's submissions with their feedback state, in the shapes nbgrader's panel reads."""

    def list_files(self) -> list[dict[str, Any]]:
        if self.inbound:
            self.fail("Listing everyone's submissions is done in the LMS, not in JupyterLab.")
        listed: list[dict[str, Any]] = []
        for course in self.courses():
            for entry in self.assignments(course):
                if self.coursedir.assignment_id and entry["assignment"] != (
                    self.coursedir.assignment_id
                ):
                    continue
                if self.cached:
                    if entry["submissions"]:
                        listed.append(self.submitted(course, entry))
                else:
                    listed.append(self.released(course, entry))
        return listed

    def released(self, course: str, entry: dict[str, Any]) -> dict[str, Any]:
        name = entry["assignment"]
        folder = self.local_dir(course, name)
        fetched = folder.is_dir()
        return {
            "course_id": course,
            "assignment_id": name,
            "status": "fetched" if fetched else "released",
            "path": str(folder) if fetched else f"{self.grader_url}/courses/{course}/{name}",
            "notebooks": [
                {"notebook_id": Path(nb).stem, "path": str(folder / nb)}
                for nb in entry["notebooks"]
            ],
        }

    def submitted(self, course: str, entry: dict[str, Any]) -> dict[str, Any]:
        name = entry["assignment"]
        folder = self.local_dir(course, name)
        with_feedback = set(entry.get("feedback", []))
        submissions = []
        for submission in sorted(entry["submissions"], key=lambda s: s["submitted_at"]):
            stamp = nbgrader_timestamp(submission["submitted_at"], self.timestamp_format)
            local = folder / "feedback" / stamp
            notebooks = []
            for nb in entry["notebooks"]:
                html = local / f"{Path(nb).stem}.html"
                notebooks.append({
                    "notebook_id": Path(nb).stem,
                    "path": str(folder / nb),
                    "has_local_feedback": html.is_file(),
                    "has_exchange_feedback": submission["id"] in with_feedback,
                    "local_feedback_path": str(html) if html.is_file() else None,
                    "feedback_updated": False,
                })
            has_local = bool(notebooks) and all(n["has_local_feedback"] for n in notebooks)
            submissions.append({
                "course_id": course,
                "student_id": submission["learner"],
                "assignment_id": name,
                "timestamp": stamp,
                "status": "submitted",
                "path": str(folder),
                "notebooks": notebooks,
                "has_local_feedback": has_local,
                "has_exchange_feedback": submission["id"] in with_feedback,
                "feedback_updated": False,
                "local_feedback_path": str(local) if has_local else None,
                # beyond nbgrader's fields: what the grader says of it
                "grader_status": submission["status"],
                "score": submission["score"],
                "max_score": submission["max_score"],
                "message": submission["message"],
            })
        return {
            "course_id": course,
            "student_id": submissions[0]["student_id"],
            "assignment_id": name,
            "status": "submitted",
            "submissions": submissions,
        }

    def remove_files(self) -> list[dict[str, Any]]:
        self.fail("Removing released assignments is done in the LMS, not in JupyterLab.")


class HttpExchangeFetchAssignment(HttpExchange, ABCExchangeFetchAssignment):
    """Download the released files into ``<course>/<assignment>/``; files already there are
    kept (with ``replace_missing_files``, only missing ones are added)."""

    def init_src(self) -> None:
        self.require_course()

    def init_dest(self) -> None:
        self.dest_path = self.local_dir(self.coursedir.course_id, self.coursedir.assignment_id)
        if self.dest_path.is_dir() and not self.replace_missing_files:
            self.fail(f"You already have a copy of the assignment in this directory: "
                      f"{self.coursedir.course_id}/{self.coursedir.assignment_id}")

    def copy_files(self) -> None:
        course, name = self.coursedir.course_id, self.coursedir.assignment_id
        data = self.call("GET", f"courses/{course}/assignments/{name}/release").content
        written = extract(data, self.dest_path, only_missing=True)
        self.log.info("Fetched as: %s %s (%d files)", course, name, len(written))


class HttpExchangeSubmit(HttpExchange, ABCExchangeSubmit):
    """Send ``<course>/<assignment>/`` to the grader, which keeps every submission and grades
    each in a sandbox; the answer (202) comes once the submission is stored."""

    def init_src(self) -> None:
        self.require_course()
        self.src_path = self.local_dir(self.coursedir.course_id, self.coursedir.assignment_id)
        if not self.src_path.is_dir():
            self.fail(f"There is no folder {self.coursedir.course_id}/"
                      f"{self.coursedir.assignment_id} to submit: fetch the assignment first.")

    def copy_files(self) -> None:
        course, name = self.coursedir.course_id, self.coursedir.assignment_id
        try:
            data, notebooks = pack(self.src_path, self.max_files, self.max_bytes)
        except ValueError as exc:
            self.fail(f"Cannot submit {name}: {exc}. Remove large data or output files.")
        released = [Path(nb).stem for nb in self.assignment(course, name)["notebooks"]]
        missing = sorted(set(released) - set(notebooks))
        if missing:
            names = ", ".join(f"{nb}.ipynb" for nb in missing)
            if self.strict:
                self.fail(f"Assignment {name} not submitted: notebooks are missing ({names}).")
            self.log.warning("Submitting %s without %s", name, names)
        answer = self.call(
            "POST", f"courses/{course}/assignments/{name}/submissions", data=data,
            headers={"Content-Type": "application/gzip"},
        ).json()
        stamp = nbgrader_timestamp(answer["submitted_at"], self.timestamp_format)
        self.log.info("Submitted as: %s %s %s", course, name, stamp)
        self.announce(answer)

    def announce(self, answer: dict[str, Any]) -> None:
        """Emit :data:`SUBMITTED_EVENT` on the event bus of the server this runs in (nbgrader's
        Assignments panel submits inside the learner's server), so the learner sees the grading
        status follow; nothing when no server runs (``nbgrader submit`` in a terminal) or none
        listens. The submission is stored whatever happens here."""
        # A server running in this process has imported jupyter_server's ServerApp; nbgrader's
        # command line has not, and need not pay for importing the web server to learn so.
        serverapp = sys.modules.get("jupyter_server.serverapp")
        if serverapp is None or not serverapp.ServerApp.initialized():
            return
        data = {
            "course": str(answer["course"]),
            "assignment": str(answer["assignment"]),
            "submission": str(answer["id"]),
            "submitted_at": str(answer["submitted_at"]),
        }
        try:
            events = serverapp.ServerApp.instance().event_logger
            events.emit(schema_id=SUBMITTED_EVENT, data=data)
        except Exception as exc:  # the status is a courtesy: the submission is made
            self.log.warning("Could not announce submission %s: %s", data["submission"], exc)


class HttpExchangeFetchFeedback(HttpExchange, ABCExchangeFetchFeedback):
    """Download the released feedback of each of the caller's submissions of the assignment
    into ``<assignment>/feedback/<timestamp>/``."""

    def init_src(self) -> None:
        self.require_course()

    def copy_files(self) -> None:
        course, name = self.coursedir.course_id, self.coursedir.assignment_id
        entry = self.assignment(course, name)
        ready = set(entry.get("feedback", []))
        folder = self.local_dir(course, name) / "feedback"
        fetched = 0
        for submission in entry["submissions"]:
            if submission["id"] not in ready:
                continue
            stamp = nbgrader_timestamp(submission["submitted_at"], self.timestamp_format)
            path = f"courses/{course}/assignments/{name}/submissions/{submission['id']}/feedback"
            fetched += len(extract(self.call("GET", path).content, folder / stamp))
        if not fetched:
            self.log.warning("No feedback for %s %s yet", course, name)
        else:
            self.log.info("Fetched feedback: %s %s (%d files)", course, name, fetched)


# -- the instructor's steps live with the grader --------------------------------------------------


class GraderOwnsIt:
    """An exchange step the grader does for the course: refused here, with where to do it."""

    what = "do this"

    def start(self) -> None:
        self.fail(INSTRUCTOR_SIDE.format(what=self.what))


class HttpExchangeReleaseAssignment(GraderOwnsIt, HttpExchange, ABCExchangeReleaseAssignment):
    what = "release and unrelease assignments"


class HttpExchangeCollect(GraderOwnsIt, HttpExchange, ABCExchangeCollect):
    what = "submissions are collected and autograded by the grader; see them"


class HttpExchangeReleaseFeedback(GraderOwnsIt, HttpExchange, ABCExchangeReleaseFeedback):
    what = "release feedback"


__all__ = [
    "HttpExchange",
    "HttpExchangeCollect",
    "HttpExchangeFetchAssignment",
    "HttpExchangeFetchFeedback",
    "HttpExchangeList",
    "HttpExchangeReleaseAssignment",
    "HttpExchangeReleaseFeedback",
    "HttpExchangeSubmit",
]
