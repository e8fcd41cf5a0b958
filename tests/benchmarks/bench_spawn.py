"""Spawn latency: a signed-in learner's "start my server" until JupyterLab answers, with Docker.

Against the floor measured in the same run: a bare ``docker run`` of the same image, with the
spawner's user, limits, volume and network, until its Jupyter server answers ``/api/status``.
The goal (issue 3) is a p50 within 1.2x the floor.

A spawn is timed from the start request (``POST /hub/api/users/<name>/server``, as the spawn
page does) until ``/user/<name>/api/status`` answers 200 through the proxy for the learner's
browser session, which includes the server's OAuth round trip with the hub and the lab page.
Twenty learners one after another, then all stopped, then twenty at once; then the hub's and the
proxy's memory with twenty servers running. The sequential spawns are broken down with the
container's own timestamps (created, started, "Jupyter Server is running") to show where the
time goes. Run with ``make bench``; it prints figures and asserts only that every spawn worked.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests
from dockerspawner import DockerSpawner

from tests.benchmarks.timing import percentile
from tests.support.studio import OwnStudio, Studio, docker, inspect, under_prefix

pytestmark = [pytest.mark.docker, pytest.mark.slow]

COURSE = "python-101"
LEARNERS = [f"bench{i:02d}" for i in range(1, 21)]
WARM_UP = "bench00"  # spawned once first: creates the network, warms the image's page cache
FLOOR_RUNS = 5
IMAGE = "pls-notebook:latest"
READY_SECONDS = 240  # twenty spawns at once on two cores are CPU-bound
STOP_SECONDS = 120
MiB = 1024 * 1024

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


@dataclass
class Timeline:
    """One server start, in seconds since the epoch (the host's clock, as Docker's)."""

    name: str
    requested: float
    hub_ready: float  # the hub says the server is ready (201, or the progress stream's event)
    lab_ready: float  # /user/<name>/api/status answered 200 for the browser session
    created: float = 0.0  # the container's own timestamps, filled in by container_times
    started: float = 0.0
    listening: float = 0.0  # the server logged "Jupyter Server ... is running at"

    @property
    def seconds(self) -> float:
        return self.lab_ready - self.requested


# -- Docker's timestamps --------------------------------------------------------------------------


def docker_time(stamp: str) -> float:
    """RFC 3339 with nanoseconds (``2026-11-25T11:52:59.839511960Z``) as epoch seconds."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    fraction = (fraction + "000000")[:6]
    parsed = dt.datetime.fromisoformat(f"{whole}.{fraction}+00:00")
    return parsed.timestamp()


def container_times(container: str) -> tuple[float, float, float]:
    """When ``container`` was created, started, and its Jupyter server began listening."""
    state = inspect(container)
    logs = docker("logs", "--timestamps", container, check=False)
    listening = next(
        (line.split(" ", 1)[0] for line in (logs.stdout + logs.stderr).splitlines()
         if "is running at" in line),
        None,
    )
    assert listening, f"{container} never logged that its server is running"
    return (docker_time(state["Created"]), docker_time(state["State"]["StartedAt"]),
            docker_time(listening))


# -- the floor: a bare docker run -----------------------------------------------------------------


def floor_run(own: OwnStudio, index: int) -> Timeline:
    """``docker run`` of the image shaped like the spawner's containers (user, capabilities,
    init, limits, /tmp, a fresh work volume, the notebook network) running a plain Jupyter
    server with a token, until its /api/status answers."""
    name = f"{own.prefix}-floor-{index}"
    token = secrets.token_hex(16)
    requested = time.time()
    docker(
        "run", "--detach", "--rm", "--name", name,
        "--network", own.network, "--user", "1000:100", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "--init", "--pids-limit", "512",
        "--memory", "1g", "--memory-swap", "1g", "--cpu-period", "100000",
        "--cpu-quota", "100000", "--tmpfs", "/tmp:rw,nosuid,nodev,size=256m,mode=1777",  # noqa: S108
        "--volume", f"{own.prefix}-work-floor-{index}:/home/jovyan/work",
        "--workdir", "/home/jovyan/work",
        IMAGE, "jupyter", "server", "--ip=0.0.0.0", "--port=8888",
        f"--IdentityProvider.token={token}",
    )
    try:
        address = inspect(name)["NetworkSettings"]["Networks"][own.network]["IPAddress"]
        url = f"http://{address}:8888/api/status"
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            try:
                answer = requests.get(url, headers={"Authorization": f"token {token}"}, timeout=5)
                if answer.status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.05)
        else:
            raise AssertionError(f"{name} did not answer within {READY_SECONDS} s")
        answered = time.time()
        timeline = Timeline(name, requested, answered, answered)
        timeline.created, timeline.started, timeline.listening = container_times(name)
        return timeline
    finally:
        docker("rm", "--force", name, check=False)
        docker("volume", "rm", "--force", f"{own.prefix}-work-floor-{index}", check=False)


# -- spawns through the hub -----------------------------------------------------------------------


def create_learners(studio: Studio, names: list[str]) -> None:
    """Learners of the demo course with known passwords, through the LMS's own services."""
    accounts = {name: secrets.token_urlsafe(12) for name in names}
    out = studio.lms_shell(CREATE_LEARNERS.format(course=COURSE, accounts=json.dumps(accounts)))
    assert "created" in out, out
    studio.passwords.update(accounts)


def wait_for_ready_event(studio: Studio, name: str) -> None:
    """Follow the hub's spawn progress stream (what the spawn page shows) until "ready"."""
    with requests.get(
        f"{studio.hub_url}/hub/api/users/{name}/server/progress",
        headers={"Authorization": f"token {studio.tokens[name]}"},
        stream=True, timeout=(10, READY_SECONDS),
    ) as stream:
        assert stream.status_code == 200, (stream.status_code, stream.text)
        for line in stream.iter_lines(decode_unicode=True):
            if not line or not line.startswith("data:"):
                continue
            event = json.loads(line[len("data:"):])
            assert not event.get("failed"), f"{name}'s spawn failed: {event}"
            if event.get("ready"):
                return
    raise AssertionError(f"{name}'s progress stream ended without a ready event")


def spawn_until_lab_ready(studio: Studio, name: str) -> Timeline:
    """Start ``name``'s server as the spawn page does and open the lab like the browser."""
    session = studio.sessions[name]
    requested = time.time()
    # As long as a browser waits for the spawn page (a busy hub may take minutes to answer).
    started = studio.api(name, "POST", f"/users/{name}/server", timeout=READY_SECONDS)
    assert started.status_code in {201, 202}, (name, started.status_code, started.text)
    if started.status_code == 202:  # still starting after the hub's slow_spawn_timeout
        wait_for_ready_event(studio, name)
    hub_ready = time.time()
    lab = session.get(studio.server_url(name, "lab"), timeout=READY_SECONDS)
    assert lab.status_code == 200, (name, lab.status_code, lab.url)
    assert lab.url.startswith(studio.server_url(name, "lab")), lab.url
    assert studio.server_status(session, name) == 200, name
    return Timeline(name, requested, hub_ready, time.time())


def stop_all(own: OwnStudio, names: list[str], as_user: str | None = None) -> None:
    """Stop every server through the hub's API (each user with their own token, or all with
    ``as_user``'s, an admin's) and wait until their containers are gone."""
    studio = own.studio

    def stop(name: str) -> None:
        stopped = studio.api(as_user or name, "DELETE", f"/users/{name}/server")
        assert stopped.status_code in {202, 204}, (name, stopped.status_code, stopped.text)

    with ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(stop, names))
    wanted = {f"{own.prefix}-{DockerSpawner._escape(name)}" for name in names}
    deadline = time.monotonic() + STOP_SECONDS
    while wanted & under_prefix("container", own.prefix):
        assert time.monotonic() < deadline, "servers still running after stop"
        time.sleep(0.5)


# -- memory ---------------------------------------------------------------------------------------


def rss_mib(pid_file: Path) -> float:
    return psutil.Process(int(pid_file.read_text().strip())).memory_info().rss / MiB


def containers_mib(names: list[str]) -> list[float]:
    """Each container's memory use as ``docker stats`` reports it."""
    units = {"B": 1, "KiB": 1024, "MiB": MiB, "GiB": 1024 * MiB}
    stats = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", *names, timeout=120)
    used = []
    for line in stats.stdout.splitlines():
        amount = line.split("/")[0].strip()
        unit = next(u for u in sorted(units, key=len, reverse=True) if amount.endswith(u))
        used.append(float(amount[: -len(unit)]) * units[unit] / MiB)
    return used


# -- the benchmark --------------------------------------------------------------------------------


def row(label: str, samples: list[float], floor: float | None = None) -> str:
    p50, p95 = percentile(samples, 50), percentile(samples, 95)
    ratio = f"  x{p50 / floor:4.2f} of the floor" if floor else ""
    return f"  {label:<44} p50 {p50:6.2f} s  p95 {p95:6.2f} s{ratio}"


def phases(timelines: list[Timeline]) -> dict[str, list[float]]:
    return {
        "request -> container started": [t.started - t.requested for t in timelines],
        "  of which request -> container created": [t.created - t.requested for t in timelines],
        "container started -> Jupyter listening": [t.listening - t.started for t in timelines],
        "Jupyter listening -> hub says ready": [t.hub_ready - t.listening for t in timelines],
        "hub ready -> lab ready (OAuth, /lab, status)": [
            t.lab_ready - t.hub_ready for t in timelines
        ],
    }


def test_spawn_latency_against_a_bare_docker_run(bench_studio: OwnStudio):
    own, studio = bench_studio, bench_studio.studio
    load_before = os.getloadavg()
    create_learners(studio, [WARM_UP, *LEARNERS])
    logins = []
    for name in [WARM_UP, *LEARNERS]:
        begun = time.perf_counter()
        studio.login(name, spawn=False)
        logins.append(time.perf_counter() - begun)
    hub_pid_file = own.studio.var_dir / "hub" / "jupyterhub.pid"
    proxy_pid_file = own.studio.var_dir / "hub" / "jupyterhub-proxy.pid"
    idle_hub, idle_proxy = rss_mib(hub_pid_file), rss_mib(proxy_pid_file)

    spawn_until_lab_ready(studio, WARM_UP)
    stop_all(own, [WARM_UP])
    floor_runs = [floor_run(own, index) for index in range(FLOOR_RUNS)]
    floor = [t.lab_ready - t.requested for t in floor_runs]

    sequential = []
    for name in LEARNERS:
        timeline = spawn_until_lab_ready(studio, name)
        timeline.created, timeline.started, timeline.listening = container_times(
            own.container_name(name))
        sequential.append(timeline)
    stop_all(own, LEARNERS)

    barrier = threading.Barrier(len(LEARNERS))

    def at_once(name: str) -> Timeline:
        barrier.wait()
        return spawn_until_lab_ready(studio, name)

    with ThreadPoolExecutor(len(LEARNERS)) as pool:
        concurrent = list(pool.map(at_once, LEARNERS))
    all_ready = max(t.lab_ready for t in concurrent) - min(t.requested for t in concurrent)
    hub_mib, proxy_mib = rss_mib(hub_pid_file), rss_mib(proxy_pid_file)
    learner_mib = containers_mib([own.container_name(name) for name in LEARNERS])
    stop_all(own, LEARNERS)

    floor_p50 = percentile(floor, 50)
    print(f"\nSpawn latency with Docker: start request -> /user/<name>/api/status 200 through "
          f"the proxy ({os.cpu_count()} cores, load average before "
          f"{load_before[0]:.2f} {load_before[1]:.2f})")
    print(row(f"floor: bare docker run -> /api/status ({FLOOR_RUNS} runs)", floor))
    print(row(f"{len(LEARNERS)} learners one after another",
              [t.seconds for t in sequential], floor_p50))
    print(row(f"{len(LEARNERS)} learners at once", [t.seconds for t in concurrent], floor_p50)
          + f"  (all ready after {all_ready:.1f} s)")
    print(row("(sign-in through the LMS form, not timed above)", logins))
    print("\nWhere the time goes, p50 over the runs (container timestamps from Docker):")
    floor_phases = {
        "docker run -> container started": [t.started - t.requested for t in floor_runs],
        "container started -> Jupyter listening": [t.listening - t.started for t in floor_runs],
        "Jupyter listening -> /api/status answered": [
            t.lab_ready - t.listening for t in floor_runs
        ],
    }
    print("  floor")
    for label, samples in floor_phases.items():
        print(f"    {label:<46} {statistics.median(samples):6.2f} s")
    print("  one after another")
    for label, samples in phases(sequential).items():
        print(f"    {label:<46} {statistics.median(samples):6.2f} s")
    print(f"\nMemory with {len(LEARNERS)} servers running (RSS; with none in brackets)")
    print(f"  hub (jupyterhub)                             {hub_mib:7.1f} MiB  ({idle_hub:.1f})")
    print(f"  proxy (configurable-http-proxy)              {proxy_mib:7.1f} MiB  "
          f"({idle_proxy:.1f})")
    print(f"  a learner's container, mean (docker stats)   "
          f"{statistics.mean(learner_mib):7.1f} MiB")
    assert len(sequential) == len(concurrent) == len(LEARNERS)
    assert len(learner_mib) == len(LEARNERS)
