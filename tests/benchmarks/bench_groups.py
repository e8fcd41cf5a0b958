"""Study groups' shared workspaces (``hub.workspaces``): what a workspace's start costs against a
learner's own server, and how long a member's edit takes to reach the other member's screen.

**Spawn.** A learner's own server is started as the spawn page does (``POST
/hub/api/users/<name>/server``) and timed until its ``api/status`` answers the learner's browser
session through the proxy (``bench_spawn.spawn_until_lab_ready``). A group's workspace is started
as the LMS does when a member opens it: the member's share granted, then ``POST
/hub/api/studio/workspaces/<id>/server`` with the LMS's hub token (the hub answers within its
``slow_spawn_timeout``, then ``ready`` is asked again every 0.1 s), and timed until its
``api/status`` answers the member's session, which includes the hub's consent page a shared
server shows (submitted as the member would). Each run is a fresh server with a fresh volume (a
new learner, a new group), the two kinds taken in turns after one warm-up of each, every server
stopped before the next; the ratio is of the medians measured in the same run.

**Collaboration.** Two members of one group, each in a Chromium context of their own (Debian's,
``tests/conftest.py``), signed in through the LMS, with one notebook of the workspace open
(jupyter-collaboration's shared document). A member inserts a marker into the shared cell (one
input event, so one update of the document); each page records, with a MutationObserver, when
the marker first shows in its notebook (``Date.now()``: one host, one clock). The latency is the
other member's moment minus the typist's: from the edit on one screen to the edit on the other,
through the workspace's collaboration websocket and the hub's proxy. Twenty edits, the two
members typing in turns. For scale, the round trip of a plain request from a member's page to the
workspace's ``api/status`` through the same proxy.

Run with ``make bench`` (or ``make bench PYTEST_ARGS="-k groups"``): it prints its figures and
asserts only that every start worked and every edit arrived. The studio is this module's own
(``pls-bench-groups``, ports from 17400), with the tutor in offline mode so that the LMS's hub
service, which alone may share workspaces, exists.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from courses.naming import study_group_workspace_user
from tests.benchmarks.bench_spawn import (
    Timeline,
    create_learners,
    spawn_until_lab_ready,
    stop_all,
)
from tests.benchmarks.timing import percentile
from tests.support.lab_pages import CONTENTS_API, sign_in
from tests.support.studio import OwnStudio, Studio, own_studio
from tests.support.workspaces import (
    PAGE_FETCH,
    HubWorkspaces,
    into_the_lab,
    workspace_status,
)

pytestmark = [pytest.mark.docker, pytest.mark.browser, pytest.mark.slow]

PREFIX = "pls-bench-groups"
PORTS = {"lms": 17400, "hub": 17401, "proxy_api": 17402, "hub_api": 17481, "tutor": 17420}
RUNS = 3  # of each kind, after one warm-up of each
LEARNERS = [f"gbench{i}" for i in range(RUNS + 1)]  # the first is the warm-up
MEMBERS = ["gmember1", "gmember2"]
SPAWN_GROUPS = list(range(1, RUNS + 2))  # the first is the warm-up
COLLAB_GROUP = 100
EDITS = 20
ROUND_TRIPS = 20
READY_SECONDS = 240  # a start on two busy cores: a bound, not a measurement
LAB_MS = 120_000
ARRIVE_MS = 30_000  # an edit that has not arrived by then failed
NOTEBOOK = "latency.ipynb"
SEED = "# latency"
NOTEBOOK_JSON = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": "latency-cell",
               "metadata": {}, "outputs": [], "source": SEED}],
    "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5,
}
# Each page: when each wanted marker first showed in its notebook (Date.now(), ms).
WATCH = """() => {
    window.__want = []; window.__seen = {};
    const root = document.querySelector('.jp-Notebook');
    new MutationObserver(() => {
        const now = Date.now(), text = root.textContent;
        for (const m of window.__want) {
            if (!(m in window.__seen) && text.includes(m)) window.__seen[m] = now;
        }
    }).observe(root, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Iterator[OwnStudio]:
    with own_studio(tmp_path_factory, PREFIX, PORTS, tutor=True) as own:
        create_learners(own.studio, [*LEARNERS, *MEMBERS])
        for name in [*LEARNERS, *MEMBERS, "admin"]:
            own.studio.login(name, spawn=False)
        yield own


def spawn_workspace_until_lab_ready(studio: Studio, workspaces: HubWorkspaces, group: int,
                                    member: str) -> Timeline:
    """Share group ``group``'s workspace with ``member``, start it as the LMS does, and open it
    with the member's session until its ``api/status`` answers them."""
    name = study_group_workspace_user(group)
    granted = workspaces("PUT", group, f"/members/{member}")
    assert granted.status_code == 200, granted.text
    requested = time.time()
    while True:
        answer = workspaces("POST", group, "/server")
        assert answer.status_code == 200, answer.text
        if answer.json()["ready"]:
            break
        assert time.time() - requested < READY_SECONDS, f"{name} did not start"
        time.sleep(0.1)
    hub_ready = time.time()
    assert workspace_status(studio, studio.sessions[member], name) == 200, name
    return Timeline(name, requested, hub_ready, time.time())


def spread(samples: list[float]) -> str:
    return (f"median {statistics.median(samples):6.2f} s  (min {min(samples):.2f}, "
            f"max {max(samples):.2f})")


def test_a_workspace_starts_against_a_learners_own_server(bench: OwnStudio):
    studio, workspaces = bench.studio, HubWorkspaces(bench.studio)
    load_before = os.getloadavg()
    own_runs, workspace_runs = [], []
    for index, (learner, group) in enumerate(zip(LEARNERS, SPAWN_GROUPS, strict=True)):
        mine = spawn_until_lab_ready(studio, learner)
        stop_all(bench, [learner])
        shared = spawn_workspace_until_lab_ready(studio, workspaces, group, MEMBERS[0])
        stop_all(bench, [shared.name], as_user="admin")
        if index:  # the first of each is the warm-up
            own_runs.append(mine)
            workspace_runs.append(shared)

    def hub(runs: list[Timeline]) -> list[float]:
        return [t.hub_ready - t.requested for t in runs]

    def lab(runs: list[Timeline]) -> list[float]:
        return [t.seconds for t in runs]

    print(f"\nA study group's workspace against a learner's own server, {RUNS} starts of each "
          f"in turns after a warm-up ({os.cpu_count()} cores, load average before "
          f"{load_before[0]:.2f} {load_before[1]:.2f}, after {os.getloadavg()[0]:.2f})")
    print(f"  start -> the hub says ready       own {spread(hub(own_runs))}")
    print(f"                                    workspace {spread(hub(workspace_runs))}")
    print(f"  start -> api/status answers       own {spread(lab(own_runs))}")
    print(f"    (the member's: with consent)    workspace {spread(lab(workspace_runs))}")
    hub_ratio = statistics.median(hub(workspace_runs)) / statistics.median(hub(own_runs))
    lab_ratio = statistics.median(lab(workspace_runs)) / statistics.median(lab(own_runs))
    print(f"  ratio of the medians, workspace / own: hub ready x{hub_ratio:.2f}, "
          f"api/status x{lab_ratio:.2f}")
    assert len(own_runs) == len(workspace_runs) == RUNS


def open_in_browser(context: BrowserContext, studio: Studio, member: str, workspace: str) -> Page:
    page = context.new_page()
    sign_in(page, studio, member)
    page.goto(studio.server_url(workspace, "lab"))
    into_the_lab(page, studio, workspace)
    return page


def test_an_edit_reaches_the_other_member(bench: OwnStudio, browser):
    studio, workspaces = bench.studio, HubWorkspaces(bench.studio)
    workspace = study_group_workspace_user(COLLAB_GROUP)
    for member in MEMBERS:
        assert workspaces("PUT", COLLAB_GROUP, f"/members/{member}").status_code == 200
    deadline = time.monotonic() + READY_SECONDS
    while not workspaces("POST", COLLAB_GROUP, "/server").json()["ready"]:
        assert time.monotonic() < deadline, f"{workspace} did not start"
        time.sleep(0.5)
    contexts = [browser.new_context() for _ in MEMBERS]
    try:
        pages = [open_in_browser(c, studio, m, workspace)
                 for c, m in zip(contexts, MEMBERS, strict=True)]
        saved = pages[0].evaluate(CONTENTS_API, [
            studio.server_url(workspace, f"api/contents/{NOTEBOOK}"), "PUT",
            {"type": "notebook", "format": "json", "content": NOTEBOOK_JSON}])
        assert saved["status"] == 201, saved
        for page in pages:
            page.goto(studio.server_url(workspace, f"lab/tree/{NOTEBOOK}"))
            editor = page.locator(".jp-Notebook .jp-Cell .cm-content").first
            expect(editor).to_contain_text(SEED, timeout=LAB_MS)
            page.evaluate(WATCH)
        for page in pages:  # each member's cursor at the end of the shared cell
            page.locator(".jp-Notebook .jp-Cell .cm-content").first.click()
            page.keyboard.press("Control+End")
        load_before = os.getloadavg()
        latencies = []
        for index in range(EDITS):
            typist, other = pages[index % 2], pages[(index + 1) % 2]
            marker = f"m{index:02d}x"
            for page in pages:
                page.evaluate("m => window.__want.push(m)", marker)
            typist.keyboard.insert_text(f" {marker}")
            other.wait_for_function("m => m in window.__seen", arg=marker, timeout=ARRIVE_MS)
            typed = typist.evaluate("m => window.__seen[m]", marker)
            shown = other.evaluate("m => window.__seen[m]", marker)
            latencies.append((shown - typed) / 1000)
        round_trips = []
        status_url = studio.server_url(workspace, "api/status")
        for _ in range(ROUND_TRIPS):
            status, ms = pages[1].evaluate(PAGE_FETCH, status_url)
            assert status == 200
            round_trips.append(ms / 1000)
    finally:
        for context in contexts:
            context.close()
    print(f"\nAn edit from one member's screen to the other's, through the workspace's "
          f"collaboration websocket ({EDITS} edits, the two members in turns; load average "
          f"before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f})")
    print(f"  edit shown to the other member    p50 {percentile(latencies, 50) * 1000:6.1f} ms  "
          f"p95 {percentile(latencies, 95) * 1000:6.1f} ms  max {max(latencies) * 1000:6.1f} ms")
    print(f"  for scale: a member's page -> api/status through the proxy  "
          f"p50 {percentile(round_trips, 50) * 1000:6.1f} ms  "
          f"p95 {percentile(round_trips, 95) * 1000:6.1f} ms")
    assert len(latencies) == EDITS
