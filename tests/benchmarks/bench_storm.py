"""A learner storm: N learners sign in through the LMS (OIDC) and start their servers at once,
then each submits once within a minute while the servers run.

The studio is the whole one (:func:`tests.support.studio.own_studio`, Docker spawner, the grader
managed by the hub, as ``make up`` runs it), with N learners of the demo course made through the
LMS's services (:data:`LEARNERS`, ``BENCH_STORM_LEARNERS``, default 100; try 10 first).

1. Every learner signs in through the LMS's login form and the hub's OIDC round trip, one after
   another (timed; each costs the LMS a password hash).
2. One learner's server is started alone and its container's CPU time read from its cgroup
   on this machine (``cpu.stat``, or cgroup v1's ``cpuacct.usage``, once the lab answers): the
   CPU-seconds of one server start.
   The CPU floor of the storm is the servers started at once x that / the machine's cores: the
   least time their starts can take on this machine if nothing else ran and nothing waited.
3. Every other learner's server (N - 1) is started at once (a barrier), as the spawn page does, and
   each is followed until its lab answers through the proxy for the learner's browser session.
   Then each server is asked who it serves (``/user/<name>/api/me`` with the learner's session):
   a server answering as someone else, or for someone else's session, is misrouted.
4. Memory with N servers idle: the hub's and the proxy's RSS, and each learner container's use
   (``docker stats``).
5. Each learner submits the released problem set once, the submissions spread evenly over
   :data:`SUBMIT_WINDOW` seconds, with the servers running; time to feedback is from the POST to
   the grader until the score is visible in the LMS's API.

Printed: all-ready time and its ratio to the CPU floor, spawn latency p50/p95, failures,
misrouted, memory, time to feedback p50/p95 and its ratio to a single submission's on an idle
queue. The bench fails when a spawn fails, a server is misrouted or a submission is not graded.
Every container, volume and network it made (learners', sandboxes) is removed at the end, also
on failure (:func:`own_studio`). Run with ``make bench``; the machine's load average is printed
with the figures.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import tarfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from tests.benchmarks.bench_grading import (
    ASSIGNMENT,
    Watcher,
    grader,
    submission,
    submit,
    tar_of,
)
from tests.benchmarks.bench_spawn import (
    COURSE,
    containers_mib,
    create_learners,
    rss_mib,
    spawn_until_lab_ready,
)
from tests.benchmarks.timing import percentile
from tests.support.studio import OwnStudio, Studio, inspect, own_studio

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PREFIX = "pls-bench-storm"
PORTS = {"lms": 18900, "hub": 18901, "proxy_api": 18902, "hub_api": 18981, "grader": 18910}
LEARNERS = [f"storm{i:03d}" for i in range(1, int(os.environ.get("BENCH_STORM_LEARNERS",
                                                                   "100")) + 1)]
SUBMIT_WINDOW = 60.0
# How long the hub lets a start take (HUB_START_TIMEOUT, HUB_HTTP_TIMEOUT): N starts at once on
# two cores share them, each ~3 CPU-s, so one may wait minutes for the CPU; an admin sizes these
# the same way (docs/architecture.md, "A learner storm"). A bound, not a measurement.
START_BOUND = str(max(180, 20 * len(LEARNERS)))


@pytest.fixture(scope="module")
def storm_studio(tmp_path_factory) -> Iterator[OwnStudio]:
    with own_studio(tmp_path_factory, PREFIX, PORTS, grader=True, HUB_IDLE_TIMEOUT="0",
                    HUB_START_TIMEOUT=START_BOUND, HUB_HTTP_TIMEOUT=START_BOUND) as own:
        yield own


def container_cpu_seconds(own: OwnStudio, name: str) -> float:
    """CPU-seconds the learner's container has used, from its cgroup as the engine made it
    (cgroup v2, or v1's cpuacct; the cgroupfs or the systemd driver)."""
    container = inspect(own.container_name(name))["Id"]
    root = Path("/sys/fs/cgroup")
    for folder in (root / "docker" / container,
                   root / "system.slice" / f"docker-{container}.scope"):
        if (folder / "cpu.stat").exists():
            stat = (folder / "cpu.stat").read_text().splitlines()
            usage = next(line.split()[1] for line in stat if line.startswith("usage_usec"))
            return int(usage) / 1e6
    for folder in (root / "cpuacct" / "docker" / container,
                   root / "cpuacct" / "system.slice" / f"docker-{container}.scope"):
        if (folder / "cpuacct.usage").exists():
            return int((folder / "cpuacct.usage").read_text()) / 1e9
    raise AssertionError(f"no cgroup of {own.container_name(name)} under {root}")


def who_answers(studio: Studio, name: str) -> str:
    """The user ``name``'s server says it serves, asked with ``name``'s browser session."""
    answer = studio.sessions[name].get(studio.server_url(name, "api/me"), timeout=60)
    assert answer.status_code == 200, (name, answer.status_code, answer.url)
    return answer.json()["identity"]["username"]


def test_a_learner_storm_spawns_and_submits(storm_studio: OwnStudio):
    own, studio = storm_studio, storm_studio.studio
    cores = os.cpu_count()
    load_before = os.getloadavg()
    create_learners(studio, LEARNERS)
    sign_ins = []
    for name in ["instructor", *LEARNERS]:  # one after another: the storm is the spawns
        begun = time.perf_counter()
        studio.login(name, spawn=False)
        sign_ins.append(time.perf_counter() - begun)
    hub_pid_file = studio.var_dir / "hub" / "jupyterhub.pid"
    proxy_pid_file = studio.var_dir / "hub" / "jupyterhub-proxy.pid"
    hub_process = psutil.Process(int(hub_pid_file.read_text().strip()))
    idle_hub, idle_proxy = rss_mib(hub_pid_file), rss_mib(proxy_pid_file)

    # One start alone: its CPU-seconds from the container's cgroup.
    first, *others = LEARNERS
    hub_cpu = sum(hub_process.cpu_times()[:2])
    alone = spawn_until_lab_ready(studio, first)
    hub_cpu_per_start = sum(hub_process.cpu_times()[:2]) - hub_cpu
    cpu_per_start = container_cpu_seconds(own, first)

    # The rest at once.
    barrier = threading.Barrier(len(others)) if others else None
    failures: dict[str, str] = {}

    def at_once(name: str):
        barrier.wait()
        try:
            return spawn_until_lab_ready(studio, name)
        except (AssertionError, OSError) as error:
            failures[name] = repr(error)[:300]
            return None

    storm_load = os.getloadavg()
    with ThreadPoolExecutor(max(len(others), 1)) as pool:
        timelines = [t for t in pool.map(at_once, others) if t is not None]
    all_ready = (max(t.lab_ready for t in timelines) - min(t.requested for t in timelines)
                 if timelines else 0.0)
    load_during = os.getloadavg()
    ready = [first, *(t.name for t in timelines)]
    misrouted = {name: who for name in ready if (who := who_answers(studio, name)) != name}

    hub_mib, proxy_mib = rss_mib(hub_pid_file), rss_mib(proxy_pid_file)
    learner_mib = containers_mib([own.container_name(name) for name in ready])

    count = len(LEARNERS)
    floor = len(others) * cpu_per_start / cores
    concurrent = [t.seconds for t in timelines]
    print(f"\nA storm of {count} learners on this machine ({cores} cores; load average "
          f"{load_before[0]:.2f} before, {storm_load[0]:.2f} as the storm began, "
          f"{load_during[0]:.2f} after it)")
    print(f"  sign-in through the LMS (OIDC), one after another: p50 "
          f"{percentile(sign_ins, 50):.2f} s, p95 {percentile(sign_ins, 95):.2f} s")
    print(f"  one start alone: lab ready in {alone.seconds:.1f} s, {cpu_per_start:.2f} "
          f"CPU-s in its container (cgroup), {hub_cpu_per_start:.2f} CPU-s in the hub")
    if concurrent:
        print(f"  {len(others)} at once: all ready after {all_ready:.1f} s; CPU floor "
              f"{len(others)} x {cpu_per_start:.2f} CPU-s / {cores} cores = {floor:.1f} s: "
              f"x{all_ready / floor:.2f} of the floor; each p50 "
              f"{percentile(concurrent, 50):.1f} s, p95 {percentile(concurrent, 95):.1f} s")
    print(f"  ready {len(ready)} of {count}; failures {len(failures)}; misrouted {len(misrouted)}")
    print(f"  memory with {len(ready)} idle servers: hub {hub_mib:.1f} MiB ({idle_hub:.1f} "
          f"before), proxy {proxy_mib:.1f} MiB ({idle_proxy:.1f} before), a learner's server "
          f"mean {statistics.mean(learner_mib):.1f} MiB (max {max(learner_mib):.1f})", flush=True)

    # Submissions, evenly spread over the window, from the learners whose servers run.
    grader(studio, "instructor", "POST", f"courses/{COURSE}/assignments/{ASSIGNMENT}/release",
           json={})
    release = grader(studio, first, "GET",
                     f"courses/{COURSE}/assignments/{ASSIGNMENT}/release").content
    with tarfile.open(fileobj=io.BytesIO(release)) as archive:
        released = json.load(archive.extractfile(f"{ASSIGNMENT}.ipynb"))
    notebook = tar_of(submission(released, "correct"))
    watcher = Watcher(studio)
    watcher.interval = 0.5
    watcher.thread.start()
    try:
        single_id, single_started = submit(studio, first, notebook)
        watcher.wait_for({single_id})
        single = watcher.seen[single_id] - single_started
        spacing = SUBMIT_WINDOW / len(ready)
        window_start = time.perf_counter()

        def submit_on_time(item):
            index, name = item
            delay = window_start + index * spacing - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            return submit(studio, name, notebook)

        with ThreadPoolExecutor(16) as pool:
            submitted = list(pool.map(submit_on_time, enumerate(ready)))
        submit_seconds = time.perf_counter() - window_start
        watcher.wait_for({submission_id for submission_id, _ in submitted})
    finally:
        watcher.stop.set()
        watcher.thread.join(timeout=30)
    feedback = [watcher.seen[submission_id] - started for submission_id, started in submitted]

    print(f"  {len(submitted)} submissions in {submit_seconds:.1f} s: time to feedback "
          f"p50 {percentile(feedback, 50):.1f} s (x{percentile(feedback, 50) / single:.2f} of a "
          f"single one's {single:.1f} s), p95 {percentile(feedback, 95):.1f} s")
    assert not failures, failures
    assert not misrouted, misrouted
    assert len(feedback) == count
