"""Grading throughput and time to feedback: the studio's pipeline against stock nbgrader.

Ours: a learner's submission goes to the grader's HTTP API (committed, then 202), a worker
claims it from the durable queue and autogrades it with nbgrader's converters in a fresh,
network-less, resource-limited container (a warm one from the pool), and the score is pushed to
the LMS. Timed from the POST until the grade is visible in the LMS's API.

Stock: ``nbgrader autograde`` (one CLI run, sequential, in this process's machine, not
sandboxed) on the same submissions, in a course directory of its own, with the same cell
timeout.

The submissions are generated from ps1-basics: 60 correct, 30 with one wrong answer, 10 with an
answer that never returns (a cell timeout of 5 s for both). Run with ``make bench``; it prints
figures and asserts only that everything was graded.
"""

from __future__ import annotations

import io
import json
import secrets
import tarfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.benchmarks.timing import percentile
from tests.support.assignments import NEVER_RETURNS, answered
from tests.support.assignments import WRONG as WRONG_ANSWER
from tests.support.stock_nbgrader import StockCourse
from tests.support.studio import ROOT, OwnStudio, Studio, own_studio

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PREFIX = "pls-bench-grading"
PORTS = {"lms": 18800, "hub": 18801, "proxy_api": 18802, "hub_api": 18881, "grader": 18810}
COURSE = "python-101"
ASSIGNMENT = "ps1-basics"
SOURCE = ROOT / "courses" / COURSE / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
CELL_TIMEOUT = 5
MIX = {"correct": 60, "one-wrong": 30, "times-out": 10}
LEARNERS = [f"benchg{i:02d}" for i in range(1, 11)]
SINGLE_RUNS = 10
VISIBLE_SECONDS = 900  # a bound for the burst on two cores, not a measurement
WRONG = {"one-wrong": WRONG_ANSWER, "times-out": NEVER_RETURNS}

CREATE_LEARNERS = """
import json
from lms.accounts.models import User
from lms.courses.models import CoursePage
from lms.courses.services import enroll
course = CoursePage.objects.get(slug={course!r})
for name, password in json.loads({accounts!r}).items():
    enroll(User.objects.create_user(name, f"{{name}}@bench.example", password), course)
print("created")
"""


@pytest.fixture(scope="module")
def grading_studio(tmp_path_factory) -> Iterator[OwnStudio]:
    with own_studio(
        tmp_path_factory, PREFIX, PORTS, grader=True, HUB_IDLE_TIMEOUT="0",
        GRADER_CELL_TIMEOUT=str(CELL_TIMEOUT),
    ) as own:
        yield own


# -- submissions ----------------------------------------------------------------------------------


def submission(released: dict, kind: str) -> bytes:
    """The released notebook answered: all correct, or letter_grade wrong or never returning."""
    instead = {"ps1-grade-answer": WRONG[kind]} if kind in WRONG else {}
    return json.dumps(answered(released, COURSE, ASSIGNMENT, instead)).encode()


def kinds() -> list[str]:
    order = [kind for kind, count in MIX.items() for _ in range(count)]
    return order[::3] + order[1::3] + order[2::3]  # mixed, not in blocks


def tar_of(notebook: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(f"{ASSIGNMENT}.ipynb")
        info.size = len(notebook)
        archive.addfile(info, io.BytesIO(notebook))
    return buffer.getvalue()


# -- the studio -----------------------------------------------------------------------------------


def grader(studio: Studio, user: str, method: str, path: str, **kwargs) -> requests.Response:
    response = requests.request(
        method, f"{studio.hub_url}/services/grader/api/{path}",
        headers={"Authorization": f"token {studio.tokens[user]}", **kwargs.pop("headers", {})},
        timeout=120, **kwargs,
    )
    assert response.status_code < 300, (response.status_code, response.text)
    return response


def visible_grades(studio: Studio) -> dict[str, float]:
    """Submission id -> its grade as the LMS's API shows it to the instructor, without the
    feedback pages (~0.3 MB each: polled ten times a second, they would cost the machine more
    than the grading does)."""
    session = studio.sessions["instructor"]
    response = session.get(
        f"{studio.lms_url}/api/v1/grades/?course={COURSE}&assignment={ASSIGNMENT}&limit=1000"
        "&fields=submission_id,score,status",
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return {g["submission_id"]: g for g in response.json()["results"]}


class Watcher:
    """Polls the LMS and notes when each submission's grade first appears."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        # Seconds between polls: short while one submission is timed, longer during the burst,
        # where each poll (a query and a page of grades) would take CPU from the grading
        # being measured, and 0.5 s is little against a burst of ~100 s.
        self.interval = 0.1
        self.seen: dict[str, float] = {}
        self.grades: dict[str, dict] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            found = visible_grades(self.studio)
            now = time.perf_counter()
            for submission_id, grade in found.items():
                self.seen.setdefault(submission_id, now)
                self.grades[submission_id] = grade
            time.sleep(self.interval)

    def wait_for(self, ids: set[str]) -> None:
        deadline = time.monotonic() + VISIBLE_SECONDS
        while not ids <= set(self.seen):
            assert time.monotonic() < deadline, f"{len(ids - set(self.seen))} never graded"
            time.sleep(0.05)


def submit(studio: Studio, learner: str, data: bytes) -> tuple[str, float]:
    started = time.perf_counter()
    answer = grader(studio, learner, "POST",
                    f"courses/{COURSE}/assignments/{ASSIGNMENT}/submissions", data=data,
                    headers={"Content-Type": "application/gzip"}).json()
    return answer["id"], started


# -- stock nbgrader -------------------------------------------------------------------------------


def stock_autograde(folder: Path, notebooks: list[bytes]) -> float:
    """Seconds of one ``nbgrader autograde`` run over every submission, each as its own
    learner, in a fresh course directory."""
    stock = StockCourse(folder, CELL_TIMEOUT)
    stock.add_source(ASSIGNMENT, SOURCE.parent)
    stock.generate(ASSIGNMENT)
    for index, notebook in enumerate(notebooks):
        learner = stock.submitted(f"stock{index:03d}", ASSIGNMENT)
        learner.mkdir(parents=True)
        (learner / f"{ASSIGNMENT}.ipynb").write_bytes(notebook)
        (learner / "timestamp.txt").write_text("2026-12-01 12:00:00.000000 UTC")
    started = time.perf_counter()
    stock.autograde(ASSIGNMENT)
    seconds = time.perf_counter() - started
    graded = list((folder / "autograded").glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"))
    assert len(graded) == len(notebooks)
    return seconds


# -- the benchmark --------------------------------------------------------------------------------


def test_grading_throughput_and_time_to_feedback(grading_studio: OwnStudio, tmp_path):
    studio = grading_studio.studio
    accounts = {name: secrets.token_urlsafe(12) for name in LEARNERS}
    out = studio.lms_shell(CREATE_LEARNERS.format(course=COURSE, accounts=json.dumps(accounts)))
    assert "created" in out, out
    studio.passwords.update(accounts)
    for name in ["instructor", *LEARNERS]:
        studio.login(name, spawn=False)
    grader(studio, "instructor", "POST", f"courses/{COURSE}/assignments/{ASSIGNMENT}/release",
           json={})
    release = grader(studio, LEARNERS[0], "GET",
                     f"courses/{COURSE}/assignments/{ASSIGNMENT}/release").content
    with tarfile.open(fileobj=io.BytesIO(release)) as archive:
        released = json.load(archive.extractfile(f"{ASSIGNMENT}.ipynb"))
    order = kinds()
    notebooks = [submission(released, kind) for kind in order]

    watcher = Watcher(studio)
    watcher.thread.start()
    try:
        single = []
        for index in range(SINGLE_RUNS):  # one at a time: the queue is empty each time
            submission_id, started = submit(studio, LEARNERS[index % len(LEARNERS)],
                                            tar_of(notebooks[0]))
            watcher.wait_for({submission_id})
            single.append(watcher.seen[submission_id] - started)

        watcher.interval = 0.5
        burst_started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            submitted = list(pool.map(
                lambda item: submit(studio, LEARNERS[item[0] % len(LEARNERS)], tar_of(item[1])),
                enumerate(notebooks),
            ))
        watcher.wait_for({submission_id for submission_id, _ in submitted})
        burst_done = max(watcher.seen[submission_id] for submission_id, _ in submitted)
        burst = [watcher.seen[submission_id] - started for submission_id, started in submitted]
    finally:
        watcher.stop.set()
        watcher.thread.join(timeout=30)
    ours_seconds = burst_done - burst_started
    scores = {}
    for (submission_id, _), kind in zip(submitted, order, strict=True):
        scores.setdefault(kind, set()).add(float(watcher.grades[submission_id]["score"]))

    stock_seconds = stock_autograde(tmp_path / "stock", notebooks)

    count = len(notebooks)
    print(f"\nGrading {count} submissions of {ASSIGNMENT} "
          f"({', '.join(f'{n} {k}' for k, n in MIX.items())}; cell timeout {CELL_TIMEOUT} s)")
    print(f"  ours:  {ours_seconds:7.1f} s  {count / ours_seconds:5.2f} submissions/s  "
          "(submit -> grade visible in the LMS, sandboxed, workers: GRADER_WORKERS)")
    print(f"  stock: {stock_seconds:7.1f} s  {count / stock_seconds:5.2f} submissions/s  "
          "(one `nbgrader autograde` run, sequential, not sandboxed)")
    print(f"  throughput ratio ours/stock: x{stock_seconds / ours_seconds:.2f}")
    print("Time to feedback, submit -> score visible in the LMS:")
    for label, samples in ((f"single submission ({SINGLE_RUNS} runs)", single),
                           (f"burst of {count}", burst)):
        print(f"  {label:<28} p50 {percentile(samples, 50):6.2f} s  "
              f"p95 {percentile(samples, 95):6.2f} s")
    print("Scores by kind:", {kind: sorted(values) for kind, values in scores.items()})
    assert scores["correct"] == {10.0}
    assert len(single) == SINGLE_RUNS and len(burst) == count
