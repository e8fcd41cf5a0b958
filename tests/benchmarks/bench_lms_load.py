"""The LMS under load over HTTP: gunicorn as ``make up`` and compose run it, PostgreSQL, an
open-loop load of a realistic mix at a constant arrival rate.

The LMS is ``python -m lms.up`` (migrate, then gunicorn with ``LMS_WORKERS`` workers of
``LMS_THREADS`` threads, the settings ``make up`` and compose use; ``make up``'s settings
module), serving pytest-django's PostgreSQL test database, filled here with a class:
:data:`COURSES` courses of :data:`LESSONS` lessons and :data:`ASSIGNMENTS` assignments,
:data:`LEARNERS` learners enrolled in all of them, with lessons completed and a grade for every
assignment. The courses are the demo course (``courses/python-101``) as the import makes it, its
lessons repeated to :data:`LESSONS`: a course page with its syllabus, lessons that show a
notebook of the course folder, assignments with their hints and late policies. Each simulated
learner has a session (signed in) and an API token.

The load is open-loop: requests start at :data:`RATE` per second on a fixed schedule whether or
not earlier ones have answered (a closed loop would slow down with the server and hide its
queueing), for :data:`SECONDS` seconds after a warm-up, each as a random learner, picked from
:data:`MIX` (course page, lesson page, dashboard, assignment page, API grades and progress with a
token). The requests are sent by a load generator in a process of its own
(:mod:`tests.benchmarks.open_loop`: threads with ``http.client`` connections, a few percent of a
core at 100 requests a second), so that it leaves the CPU to the LMS; latency is measured from
the scheduled start, so time spent waiting for a connection counts. Printed: p50/p95/p99 per
kind and overall, errors, the achieved rate, the share of a core the generator used, and the p50
as a ratio of the baseline (``GET /api/v1/me/``, the stack with one query, measured alone in the
same run). The goal (issue 17) is p95 < 50 ms with no errors; the bench fails when errors occur or
the achieved rate falls short, and prints whether the p95 goal was met.

Settings: ``BENCH_LMS_RATE`` (requests per second, default 100), ``BENCH_LMS_SECONDS`` (default
30); ``LMS_WORKERS`` and ``LMS_THREADS`` as the LMS reads them (default: its own defaults), to
try others. Run with ``make bench``.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from courses.course_file import COURSE_FILE_NAME
from lms.courses.course_import import import_course
from lms.courses.models import (
    AssignmentPage,
    Enrollment,
    EnrollmentRole,
    LessonPage,
    LessonProgress,
)
from lms.gradebook.models import Grade
from tests.benchmarks.timing import percentile
from tests.support.lms_factories import GradeFactory, LessonProgressFactory, UserFactory
from tests.support.service_hub import (
    PYTHON,
    ROOT,
    clean_env,
    free_port,
    stop_process,
    wait_until_answers,
)

pytestmark = [pytest.mark.slow]

LEARNERS = 300
COURSES = 3
LESSONS = 12
ASSIGNMENTS = 4
DEMO_COURSE = "python-101"  # the course every load course copies
RATE = float(os.environ.get("BENCH_LMS_RATE", "100"))
SECONDS = float(os.environ.get("BENCH_LMS_SECONDS", "30"))
WARM_UP_SECONDS = 5
GOAL_P95 = 0.050
BASELINE_RATE = 10
CONNECTIONS = 100  # the load generator's connections (threads): at most this many in flight
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")  # the unit of /proc's CPU times
# What a class does most, by weight: pages of the course and the learner's own API.
MIX = {"course page": 2, "lesson page": 4, "dashboard": 2, "assignment page": 2,
       "API grades (token)": 1, "API progress (token)": 1}
# How gunicorn runs, taken from this run's environment when given (to try other values).
TUNED = ("LMS_WORKERS", "LMS_THREADS")
# Variables of the test run that must not reach the LMS started here.
DROPPED = ("LMS_", "STUDIO_", "HUB_", "GRADER_", "TUTOR_", "OIDC_", "DJANGO_", "DATABASE_URL",
           "PROMETHEUS_MULTIPROC_DIR")


@dataclass
class Learner:
    cookie: str  # the Cookie header of the learner's signed-in browser
    token: str


@dataclass
class LoadRun:
    latencies: dict[str, list[float]]  # seconds from the scheduled start, by kind
    errors: list[str]
    achieved: float  # requests per second
    generator_cpu: float  # CPU-seconds the load generator used


@dataclass
class Classroom:
    courses: list[str]  # URLs
    lessons: list[str]
    assignments: list[str]
    learners: list[Learner]


def course_folder(courses_dir: Path, index: int) -> Path:
    """A copy of the demo course as ``load-<index>``: its lessons repeated to :data:`LESSONS`
    (each showing one of the demo's notebooks), its assignments to :data:`ASSIGNMENTS`."""
    demo = ROOT / "courses" / DEMO_COURSE
    folder = courses_dir / f"load-{index}"
    shutil.copytree(demo, folder)
    spec = yaml.safe_load((demo / COURSE_FILE_NAME).read_text(encoding="utf-8"))
    lessons = [dict(lesson, slug=f"{lesson['slug']}-{n}", title=f"{lesson['title']} ({n})")
               for n, lesson in zip(range(LESSONS), itertools.cycle(spec["lessons"]))]
    assignments = []
    for n, assignment in zip(range(ASSIGNMENTS), itertools.cycle(spec["assignments"])):
        name = f"ps{n + 1}-load"
        shutil.copytree(demo / "source" / assignment["name"], folder / "source" / name)
        assignments.append(dict(assignment, name=name))
    spec.update(slug=f"load-{index}", title=f"Load {index}", lessons=lessons,
                assignments=assignments, instructors=[])
    (folder / COURSE_FILE_NAME).write_text(yaml.safe_dump(spec), encoding="utf-8")
    return folder


def build_classroom(courses_dir: Path) -> Classroom:
    """The class, committed (the LMS's gunicorn reads it from another process); its course
    folders under ``courses_dir``."""
    courses, lessons, assignments = [], [], []
    learners = [UserFactory() for _ in range(LEARNERS)]
    for index in range(COURSES):
        course = import_course(course_folder(courses_dir, index)).course
        course_lessons = list(LessonPage.objects.child_of(course))
        course_assignments = list(AssignmentPage.objects.child_of(course))
        # Rows as the LMS's services write them, in bulk (thousands of them).
        Enrollment.objects.bulk_create(
            Enrollment(user=learner, course=course, role=EnrollmentRole.LEARNER)
            for learner in learners)
        LessonProgress.objects.bulk_create(
            LessonProgressFactory.build(user=learner, lesson=lesson)
            for learner in learners
            for lesson in course_lessons[: random.randint(0, LESSONS)])  # noqa: S311
        Grade.objects.bulk_create(
            GradeFactory.build(assignment=assignment, learner=learner)
            for learner in learners for assignment in course_assignments)
        courses.append(course.url)
        lessons += [lesson.url for lesson in course_lessons]
        assignments += [assignment.url for assignment in course_assignments]
    signed_in = []
    for learner in learners:
        client = Client()
        client.force_login(learner)  # a session in the database, as a sign-in makes
        cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
        signed_in.append(Learner(cookie, Token.objects.create(user=learner).key))
    return Classroom(courses, lessons, assignments, signed_in)


def request_for(kind: str, classroom: Classroom) -> tuple[str, dict]:
    """(path, headers) of one request of ``kind`` by a random learner."""
    learner = random.choice(classroom.learners)  # noqa: S311
    pick = random.choice
    session = {"Cookie": learner.cookie}
    token = {"Authorization": f"Token {learner.token}"}
    return {
        "course page": (pick(classroom.courses), session),
        "lesson page": (pick(classroom.lessons), session),
        "dashboard": ("/dashboard/", session),
        "assignment page": (pick(classroom.assignments), session),
        "API grades (token)": ("/api/v1/grades/", token),
        "API progress (token)": ("/api/v1/progress/", token),
        "baseline": ("/api/v1/me/", token),
    }[kind]


def open_loop(base_url: str, classroom: Classroom, rate: float, seconds: float,
              kinds: dict[str, int], plan_file: Path) -> LoadRun:
    """Start ``rate`` requests a second for ``seconds`` on a fixed schedule, each of a kind drawn
    from ``kinds`` by weight, by a random learner, from a load generator in its own process
    (``tests.benchmarks.open_loop``: cheap threads and ``http.client``, so that it leaves the CPU
    to the LMS); latencies count from each request's scheduled start."""
    names, weights = list(kinds), list(kinds.values())
    requests = []
    for _ in range(int(rate * seconds)):
        kind = random.choices(names, weights)[0]  # noqa: S311
        requests.append([kind, *request_for(kind, classroom)])
    plan_file.write_text(json.dumps({"base_url": base_url, "rate": rate, "requests": requests,
                                     "connections": CONNECTIONS}))
    generator = subprocess.run(
        [str(PYTHON), "-m", "tests.benchmarks.open_loop", str(plan_file)], cwd=ROOT,
        capture_output=True, text=True, check=True)
    result = json.loads(generator.stdout)
    return LoadRun(result["latencies"], result["errors"], result["achieved"],
                   result["cpu_seconds"])


@dataclass
class CpuUse:
    """CPU-seconds used by the LMS (gunicorn's processes), its database's backends and the whole
    machine, read from Linux's /proc: what a run cost, whatever else the machine ran. Per
    process, so that one that ends during a run (a database connection closed) does not count
    against it."""

    lms: dict[int, float]
    database: dict[int, float]
    machine_busy: float
    machine_total: float
    machine_stolen: float  # a virtual machine's CPUs busy with its host's other guests

    @classmethod
    def now(cls, lms_pid: int, database: str) -> CpuUse:
        lms, backends = {}, {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:  # a process that ended meanwhile
                continue
            pid, seconds = int(entry.name), (int(stat[11]) + int(stat[12])) / CLOCK_TICKS
            if pid == lms_pid or int(stat[1]) == lms_pid:  # gunicorn and its workers
                lms[pid] = seconds
            elif cmdline.startswith("postgres:") and f" {database} " in cmdline:
                backends[pid] = seconds
        # user nice system idle iowait irq softirq steal (guest time is counted in user)
        jiffies = [int(n) for n in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
        idle, stolen = jiffies[3] + jiffies[4], jiffies[7]
        return cls(lms, backends, (sum(jiffies) - idle - stolen) / CLOCK_TICKS,
                   sum(jiffies) / CLOCK_TICKS, stolen / CLOCK_TICKS)

    def since(self, before: CpuUse) -> tuple[float, float, float, float, float]:
        """CPU-seconds of the LMS, its database, the busy machine, the machine in all and what
        its host took since ``before`` (a process started meanwhile counts whole)."""
        def spent(now: dict[int, float], then: dict[int, float]) -> float:
            return sum(seconds - then.get(pid, 0.0) for pid, seconds in now.items())

        return (spent(self.lms, before.lms), spent(self.database, before.database),
                self.machine_busy - before.machine_busy, self.machine_total - before.machine_total,
                self.machine_stolen - before.machine_stolen)


def visit_every_page(port: int, classroom: Classroom) -> None:
    """GET each course, lesson and assignment page once, one after another, as a learner."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for path in [*classroom.courses, *classroom.lessons, *classroom.assignments]:
        connection.request("GET", path, headers={"Cookie": classroom.learners[0].cookie})
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200, f"{path}: {answer.status}"
    connection.close()


def summary(label: str, samples: list[float], baseline: float | None = None) -> str:
    p50, p95, p99 = (percentile(samples, q) for q in (50, 95, 99))
    ratio = f"  x{p50 / baseline:5.2f} of baseline" if baseline else ""
    return (f"  {label:<26} n {len(samples):5d}  p50 {p50 * 1000:6.1f} ms  "
            f"p95 {p95 * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms{ratio}")


@pytest.mark.django_db(transaction=True)
def test_lms_under_an_open_loop_load_over_http(tmp_path):
    courses_dir = tmp_path / "courses"
    classroom = build_classroom(courses_dir)
    database = connection.settings_dict
    port = free_port()
    env = clean_env(*DROPPED)
    env.update(
        DATABASE_URL=(f"postgres://{database['USER']}:{database['PASSWORD']}@"
                      f"{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/"
                      f"{database['NAME']}"),
        DJANGO_SETTINGS_MODULE="lms.settings.dev",  # make up's
        STUDIO_VAR_DIR=str(tmp_path / "var"), STUDIO_COURSES_DIR=str(courses_dir),
        LMS_BIND=f"127.0.0.1:{port}",
        LMS_PUBLIC_URL=f"http://127.0.0.1:{port}", LMS_IMPORT_COURSES="0",
        PYTHONPATH=str(ROOT),
        # this process's key: the sessions made here carry a hash keyed with it
        LMS_SECRET_KEY=settings.SECRET_KEY,
    )
    for variable in TUNED:  # a tuning run's values; unset: the LMS's own defaults
        if os.environ.get(variable):
            env[variable] = os.environ[variable]
    log = tmp_path / "lms.log"
    base_url = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        lms = subprocess.Popen(
            [str(PYTHON), "-m", "lms.up"], cwd=ROOT, env=env, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_answers(f"{base_url}/.well-known/openid-configuration", lms, log)
        load_before = os.getloadavg()
        # Warm-up: every page is shown once (its notebook rendered, which the LMS's processes
        # share); then every worker imports its templates and opens its database connection.
        visit_every_page(port, classroom)
        open_loop(base_url, classroom, RATE / 2, WARM_UP_SECONDS, MIX, tmp_path / "warm.json")
        # The baseline alone, at a rate that queues nothing.
        baseline = open_loop(base_url, classroom, BASELINE_RATE, 5, {"baseline": 1},
                             tmp_path / "baseline.json")
        cpu_before = CpuUse.now(lms.pid, database["NAME"])
        run = open_loop(base_url, classroom, RATE, SECONDS, MIX, tmp_path / "load.json")
        lms_cpu, database_cpu, busy, total, stolen = (
            CpuUse.now(lms.pid, database["NAME"]).since(cpu_before))
        load_after = os.getloadavg()
    finally:
        stop_process(lms)

    workers = f"{settings.LMS_WORKERS} workers x {settings.LMS_THREADS} threads"
    everything = [s for samples in run.latencies.values() for s in samples]
    base_p50 = percentile(baseline.latencies["baseline"], 50)
    print(f"\nLMS under load over HTTP: gunicorn ({workers}), PostgreSQL, {LEARNERS} "
          f"learners in {COURSES} courses; open loop at {RATE:.0f} requests/s for {SECONDS:.0f} s "
          f"({os.cpu_count()} cores, load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after)")
    print(summary("baseline: GET /api/v1/me/", baseline.latencies["baseline"]))
    for kind in MIX:
        print(summary(kind, run.latencies.get(kind, []), base_p50))
    print(summary("all", everything, base_p50))
    p95 = percentile(everything, 95)
    print(f"  achieved {run.achieved:.1f} requests/s of {RATE:.0f}; errors {len(run.errors)}; "
          f"p95 {p95 * 1000:.1f} ms: goal < {GOAL_P95 * 1000:.0f} ms "
          f"{'met' if p95 < GOAL_P95 else 'NOT MET'}; the load generator used "
          f"{run.generator_cpu / SECONDS:.0%} of a core")
    served = sum(len(samples) for samples in run.latencies.values()) or 1
    others = busy - lms_cpu - database_cpu - run.generator_cpu
    print(f"  CPU per request: the LMS {lms_cpu / served * 1000:.1f} ms, PostgreSQL "
          f"{database_cpu / served * 1000:.1f} ms; the machine's {os.cpu_count()} cores were "
          f"{busy / total:.0%} busy during the run: the LMS {lms_cpu / total:.0%}, PostgreSQL "
          f"{database_cpu / total:.0%}, the load generator {run.generator_cpu / total:.0%}, "
          f"everything else {max(others, 0) / total:.0%}; taken by the host (steal) "
          f"{stolen / total:.0%}")
    assert not run.errors and not baseline.errors, run.errors[:10] + baseline.errors[:10]
    assert run.achieved > 0.95 * RATE, f"achieved only {run.achieved:.1f} requests/s of {RATE:.0f}"
