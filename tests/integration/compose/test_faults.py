"""Faults survived, in docker-compose.yml's stack (the folder's ``stack``, conftest.py): during a
burst of submissions and a streaming tutor reply, each part is killed with SIGKILL in turn, and
what brings it back is what brings it back in production.

- the LMS, the hub, the grader and the tutor: ``kill -9`` of the service's container's first
  process, from the host (the test runs as root, as ``make test`` does); its restart policy
  (``restart: unless-stopped``) starts it again. Not ``docker kill``: the engine counts that as
  stopping the container by hand, and no restart policy restarts it;
- the proxy (configurable-http-proxy): not a container of its own, the hub starts it in the hub's
  container, so it is killed there (``kill -9`` of its process); the hub sees it gone, starts it
  again and puts every route back.

After each kill: every submission of the burst is graded exactly once and its grade reaches the
LMS; the learner's server (a container the hub spawned, not compose's) kept running, the same
container, and answers through the proxy; the tutor's client saw its reply end (completed, or an
``error`` event, or cut off: never a hang or a traceback) and asking again works. Each test waits
until every part answers again before it ends, so the tests do not depend on their order.

Everything a learner does goes through the stack's one entry point as their browser would: signed
in to the hub through the LMS, the grader's and the tutor's APIs with their own hub token. The
restart of the Docker engine itself (live-restore) is not here: see docs/architecture.md,
"Operations: faults".
"""

from __future__ import annotations

import io
import json
import os
import secrets
import signal
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests

from tests.support.assignment_cycle import packed
from tests.support.assignments import answered
from tests.support.compose_stack import START_SECONDS, Stack, wait_for
from tests.support.fake_openai import FakeOpenAI
from tests.support.studio import Studio

pytestmark = [pytest.mark.docker, pytest.mark.slow]

COURSE = "python-101"
ASSIGNMENT = "ps1-basics"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
LEARNERS = ("faulta", "faultb", "faultc", "faultd")
WORKING = LEARNERS[0]  # the learner whose server runs through every fault, and who asks the tutor
PARTS = ("lms", "hub", "proxy", "grader", "tutor")
ON_THE_STREAMS_WAY = {"hub", "proxy", "tutor"}  # a reply in flight cannot survive these
GRADED_SECONDS = 420  # the burst graded by one worker on two busy cores, a part restarted between
READ_SECONDS = 60  # the longest silence the tutor's client waits for (a hang fails the test)
REPLY = [f"word{i:03d} " for i in range(120)]  # a slow reply: 60 s, longer than a kill takes
PROXY_PID_FILE = "/srv/studio/var/hub/jupyterhub-proxy.pid"  # hub.config.configure_proxy


# -- the class: learners signed in, the assignment released ---------------------------------


@dataclass
class Classroom:
    stack: Stack
    studio: Studio  # the harness's sign-in, pointed at the stack's entry point
    submitted: dict[str, list[str]] = field(default_factory=dict)  # learner -> submission ids
    notebook: dict = field(default_factory=dict)  # the released notebook, as learners have it


ACCOUNTS = """
from lms.accounts.models import Role, User
from lms.courses.models import CoursePage, EnrollmentRole
from lms.courses.services import enroll
course = CoursePage.objects.get(slug={course!r})
for name, password, role in {people!r}:
    user, _ = User.objects.get_or_create(
        username=name, defaults={{"role": role, "email": name + "@studio.example"}})
    user.set_password(password)
    user.save()
    enroll(user, course, EnrollmentRole.INSTRUCTOR if role == Role.INSTRUCTOR
           else EnrollmentRole.LEARNER)
"""


@pytest.fixture(scope="module")
def classroom(stack: Stack, tmp_path_factory) -> Classroom:
    """An instructor and :data:`LEARNERS` in the stack's LMS (made at its console, as an admin
    would), each signed in to the hub through the LMS; the assignment released; the working
    learner's server running."""
    passwords = {name: secrets.token_urlsafe(12) for name in ("instructor", *LEARNERS)}
    people = [(name, password, "instructor" if name == "instructor" else "learner")
              for name, password in passwords.items()]
    made = stack.compose("exec", "-T", "lms", "python", "-m", "lms", "shell", "-c",
                         ACCOUNTS.format(course=COURSE, people=people), check=False)
    assert made.returncode == 0, made.stdout + made.stderr
    studio = Studio(stack.url, stack.hub_url, tmp_path_factory.mktemp("studio"), passwords,
                    prefix=stack.project)
    studio.login("instructor", spawn=False)
    released = grader(studio, "instructor", "POST", "release", json={})
    assert released.status_code in {200, 201}, released.text
    for name in LEARNERS:
        studio.login(name, spawn=False)
    studio.spawn(WORKING)
    return Classroom(stack, studio, {name: [] for name in LEARNERS}, released_notebook(studio))


def grader(studio: Studio, username: str, method: str, path: str, **kwargs) -> requests.Response:
    """The grader's API for the assignment, through the entry point, with the user's hub token."""
    headers = {"Authorization": f"token {studio.tokens[username]}", **kwargs.pop("headers", {})}
    return requests.request(
        method, f"{studio.hub_url}/services/grader/api/courses/{COURSE}/assignments/"
                f"{ASSIGNMENT}/{path}", headers=headers, timeout=60, **kwargs)


def released_notebook(studio: Studio) -> dict:
    """The assignment's notebook as learners fetch it."""
    fetched = grader(studio, WORKING, "GET", "release")
    assert fetched.status_code == 200, fetched.text
    with tarfile.open(fileobj=io.BytesIO(fetched.content)) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith(NOTEBOOK))
        return json.load(archive.extractfile(member))


def submission(notebook: dict) -> bytes:
    """What a learner's Assignments panel uploads: the released notebook, answered, packed."""
    return packed({NOTEBOOK: answered(notebook)})


def submit_burst(classroom: Classroom) -> None:
    """One submission from every learner, as fast as they come."""
    studio = classroom.studio
    data = submission(classroom.notebook)
    for name in LEARNERS:
        sent = grader(studio, name, "POST", "submissions", data=data,
                      headers={"Content-Type": "application/gzip"})
        assert sent.status_code == 202, sent.text
        classroom.submitted[name].append(sent.json()["id"])


# -- the tutor's client ---------------------------------------------------------------------


@dataclass
class Reply:
    """What the tutor's client saw of one ``POST ask``."""

    status: int | None = None
    events: list[dict] = field(default_factory=list)
    body: str = ""  # an answer that is not a stream
    cut: str = ""  # the connection's end before ``done`` or ``error``, as the client saw it
    hung: bool = False

    @property
    def done(self) -> bool:
        return bool(self.events) and self.events[-1].get("type") == "done"

    @property
    def text(self) -> str:
        return "".join(e.get("text", "") for e in self.events if e.get("type") == "delta")

    def clear_failure(self) -> str:
        """Why this is a failure a learner is told about (the panel's words, or the tutor's), or
        ``""`` when it is not one."""
        said = self.body + json.dumps(self.events) + self.cut
        if self.hung or "Traceback" in said:
            return ""
        if self.events and self.events[-1].get("type") == "error":
            return self.events[-1].get("message", "")
        if self.status == 200 and not self.done:
            return "the reply was cut off"  # what the panel's reader says (pls_tutor api.ts)
        if self.status is not None and self.status >= 500:
            return f"the tutor is unavailable ({self.status})"
        return ""


def ask(classroom: Classroom, started: threading.Event | None = None) -> Reply:
    """The working learner's ``POST ask`` from the assignment's notebook (its cell and grade
    ids, as the panel sends them), through the entry point, read as the panel reads it;
    ``started`` is set at the first piece of the reply."""
    studio, username, cells = classroom.studio, WORKING, classroom.notebook["cells"]
    reply = Reply()
    body = {"mode": "chat", "course": COURSE, "assignment": ASSIGNMENT,
            "notebook": f"{COURSE}/{ASSIGNMENT}/{NOTEBOOK}",
            "cell_ids": [c["id"] for c in cells if c.get("id")],
            "grade_ids": [c["metadata"]["nbgrader"]["grade_id"] for c in cells
                          if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")],
            "question": "How do I start on the temperature conversion?"}
    try:
        with requests.post(f"{studio.hub_url}/services/tutor/api/ask", json=body, stream=True,
                           headers={"Authorization": f"token {studio.tokens[username]}"},
                           timeout=(10, READ_SECONDS)) as response:
            reply.status = response.status_code
            if response.status_code != 200:
                reply.body = response.text
                return reply
            for line in response.iter_lines():
                if line.startswith(b"data:"):
                    reply.events.append(json.loads(line[len(b"data:"):]))
                    if started is not None and reply.events[-1].get("type") == "delta":
                        started.set()
    except requests.exceptions.Timeout:
        reply.hung = True
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError) as cut:
        reply.cut = type(cut).__name__
    return reply


@pytest.fixture
def streaming(classroom: Classroom, fake_model: FakeOpenAI) -> Iterator[Future]:
    """A slow reply of the tutor being streamed to the working learner (its first piece read)."""
    fake_model.answer("reply", pieces=REPLY, piece_seconds=0.5)
    started = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        reply = pool.submit(ask, classroom, started)
        assert started.wait(READ_SECONDS) or reply.done(), "the tutor's reply did not start"
        yield reply


# -- the faults -------------------------------------------------------------------------------


def grading_underway(stack: Stack) -> bool:
    return stack.psql("grader", "select count(*) from grader_submissions "
                                "where status = 'grading'") not in {"", "0"}


def kill(stack: Stack, part: str) -> None:
    """SIGKILL the part: its container's process, or the proxy's process in the hub's
    container."""
    if part == "grader":  # while it grades: a submission in a sandbox, others queued
        deadline = time.monotonic() + GRADED_SECONDS
        while not grading_underway(stack):
            assert time.monotonic() < deadline, "no submission was being graded"
            time.sleep(0.5)
    if part == "proxy":
        stack.compose("exec", "-T", "hub", "sh", "-c", f'kill -9 "$(cat {PROXY_PID_FILE})"')
    else:
        # the container's first process, from the host, as the kernel's OOM killer or a crash
        # ends it: `docker kill` would count as stopping it by hand, which restart policies obey
        os.kill(stack.state(part)["Pid"], signal.SIGKILL)


def wait_until_back(stack: Stack, part: str, before: dict) -> None:
    """Until the part's container runs again, restarted by its restart policy (the proxy's: the
    hub's container, which the proxy's death does not restart), and every part answers."""
    service = "hub" if part == "proxy" else part
    deadline = time.monotonic() + START_SECONDS
    while True:
        state = stack.state(service)
        if state["Running"] and state["StartedAt"] != before["StartedAt"]:
            break
        if part == "proxy" and state["Running"]:
            break
        assert time.monotonic() < deadline, f"{service} is not running again: {state}"
        time.sleep(1)
    if part == "proxy":
        assert (state["StartedAt"], state["RestartCount"]) == (
            before["StartedAt"], before["RestartCount"])
    else:
        assert state["RestartCount"] == before["RestartCount"] + 1, state
    wait_for(stack, stack.health_urls(), time.monotonic() + START_SECONDS)


def learner_server(stack: Stack) -> dict:
    """``docker inspect`` of the working learner's server (the hub names it <prefix>-<user>)."""
    (inspected,) = json.loads(subprocess.run(
        ["docker", "inspect", f"{stack.project}-{WORKING}"], capture_output=True, text=True,
        check=True, timeout=60).stdout)
    return {"Id": inspected["Id"], "Running": inspected["State"]["Running"],
            "StartedAt": inspected["State"]["StartedAt"]}


@pytest.mark.parametrize("part", PARTS)
def test_killing_a_part_mid_burst_loses_no_grade_stops_no_server_and_the_tutor_recovers(
        classroom, fake_model, streaming, part):
    stack, studio = classroom.stack, classroom.studio
    server = learner_server(stack)
    service = "hub" if part == "proxy" else part
    before = stack.state(service)

    submit_burst(classroom)
    kill(stack, part)
    wait_until_back(stack, part, before)

    # the tutor's client: the reply in flight ended, clearly; asking again works
    reply = streaming.result(timeout=len(REPLY) + 2 * READ_SECONDS)
    assert not reply.hung, f"the tutor's client waited {READ_SECONDS} s for nothing"
    if part in ON_THE_STREAMS_WAY:
        assert reply.clear_failure(), reply
    else:
        assert reply.done or reply.clear_failure(), reply
    fake_model.answer("reply", pieces=REPLY[:5])
    again = ask(classroom)
    assert again.done, again
    assert again.text == "".join(REPLY[:5])

    # every submission graded exactly once, its grade in the LMS
    for name in LEARNERS:
        ids = classroom.submitted[name]
        grades = studio.wait_for_grades(name, COURSE, len(ids), GRADED_SECONDS)
        assert sorted(g["submission_id"] for g in grades) == sorted(ids)  # one grade each
        assert {(g["status"], float(g["score"])) for g in grades} == {("graded", 10.0)}
        assert sum(g["counts"] for g in grades) == 1  # the latest one counts

    # the learner's server: the same container, never stopped, reached through the proxy
    assert learner_server(stack) == server
    assert studio.server_status(studio.sessions[WORKING], WORKING) == 200
