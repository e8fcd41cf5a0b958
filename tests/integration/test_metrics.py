"""A real Prometheus (Debian's, ``.ci/provision prometheus``) scrapes every part of the studio,
and its query API shows what they count.

The parts run as processes on loopback ports, as the grader's and the tutor's own tests run
them (``tests/support/service_hub.py``): a real JupyterHub with its proxy (the
DummyAuthenticator, the course groups the LMS would mirror, the roles of ``hub.services``
including ``prometheus``: the metrics token may read ``/hub/metrics``), the LMS as ``python -m
lms.up`` makes it (gunicorn with two workers, its database a copy of the migrated template),
``python -m grading serve`` with two worker processes and no Docker engine to grade in (so a
submission meets the sandbox's "no engine" failure, a real one), and ``python -m tutor serve``
asking a local fake model. Prometheus runs on ``deploy/prometheus/prometheus.yml``, the compose
stack's configuration, with the targets made loopback addresses, the token file made here, the
alert rules of ``deploy/prometheus/alerts.yml`` and a scrape every second.

The tests then check through Prometheus's HTTP query API that every target is up, that the
counters moved after a tutor request and a submission, that the LMS's counts are its two
workers' sum, and that the alert rules evaluate on the real series (the sandbox's alert fires).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from hub.services import grader_users_role, prometheus_role, tutor_users_role
from tests.support.fake_openai import API_KEY, MODEL, FakeOpenAI
from tests.support.lms_databases import sqlite_template
from tests.support.notebook_requests import notebook_of
from tests.support.prometheus import provision_prometheus
from tests.support.service_hub import (
    PYTHON,
    ROOT,
    Service,
    ServiceHub,
    clean_env,
    free_port,
    service_hub,
    start_process,
    stop_process,
)

pytestmark = [pytest.mark.slow]

METRICS_TOKEN = "metrics-token-for-the-prometheus-test-0123456789"
COURSE = "python-101"
GROUPS = {"nbgrader-python-101": ["grace"], "formgrade-python-101": ["ada"]}
GRADER = Service("grader", "grader-token-for-the-prometheus-test-0123456789")
TUTOR = Service("tutor", "tutor-token-for-the-prometheus-test-0123456789")
PS1 = f"courses/{COURSE}/assignments/ps1-basics"
WAIT_SECONDS = 180  # the first grading imports nbgrader in each worker process
LMS_WORKERS = 2
HEAD_REQUESTS = 12
# Variables of the test run that must not reach the parts started here.
DROPPED = ("LMS_", "STUDIO_", "HUB_", "GRADER_", "TUTOR_", "OPENAI_", "OIDC_", "DJANGO_",
           "DATABASE_URL", "DOCKER_HOST", "PROMETHEUS_MULTIPROC_DIR")


@dataclass
class Parts:
    hub: ServiceHub
    lms_url: str
    prometheus_url: str
    prometheus_log: Path

    def query(self, expr: str) -> list[dict]:
        answer = requests.get(f"{self.prometheus_url}/api/v1/query", params={"query": expr},
                              timeout=30).json()
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def value(self, expr: str) -> float | None:
        """The one value ``expr`` gives now; None when it gives none."""
        result = self.query(expr)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def wait_for(self, expr: str, holds: Callable[[float | None], bool], what: str) -> float:
        """``expr``'s value once ``holds(value)``, bounded by :data:`WAIT_SECONDS`."""
        deadline = time.monotonic() + WAIT_SECONDS
        value = None
        while time.monotonic() < deadline:
            value = self.value(expr)
            if holds(value):
                return value
            time.sleep(0.5)
        pytest.fail(f"{what}: {expr} = {value} after {WAIT_SECONDS} s\n"
                    + self.prometheus_log.read_text(errors="replace")[-3000:])

    def as_user(self, user: str, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {self.hub.token(user)}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.hub.url}/{path}", headers=headers, timeout=120,
                                **kwargs)


def environment(**values: str) -> dict[str, str]:
    return {**clean_env(*DROPPED), "STUDIO_METRICS_TOKEN": METRICS_TOKEN, **values}


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], log: Path, health: str) -> Iterator[None]:
    process = start_process(command, env, log, health)
    try:
        yield
    finally:
        stop_process(process)


def prometheus_config(folder: Path, targets: dict[str, str]) -> Path:
    """deploy/prometheus/prometheus.yml with loopback ``targets`` (by job), the token in a file
    of ``folder``, the repository's alert rules, and a scrape every second."""
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    token_file = folder / "metrics-token"
    token_file.write_text(METRICS_TOKEN)
    token_file.chmod(0o600)
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(ROOT / "deploy" / "prometheus" / "alerts.yml")]
    assert {job["job_name"] for job in config["scrape_configs"]} == set(targets)
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
        if "authorization" in job:
            job["authorization"]["credentials_file"] = str(token_file)
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    checked = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True,
                             text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return path


@pytest.fixture(scope="module")
def parts(tmp_path_factory) -> Iterator[Parts]:
    provision_prometheus()
    folder = tmp_path_factory.mktemp("metrics")
    roles = [grader_users_role([COURSE]), tutor_users_role([COURSE]), prometheus_role()]
    lms_port, prometheus_port = free_port(), free_port()
    with contextlib.ExitStack() as stack:
        hub = stack.enter_context(service_hub(folder, [GRADER, TUTOR], GROUPS, roles,
                                              {"prometheus": METRICS_TOKEN}))
        model = stack.enter_context(FakeOpenAI())

        lms_var = folder / "lms-var"
        lms_var.mkdir()
        lms_env = environment(
            STUDIO_VAR_DIR=str(lms_var), LMS_BIND=f"127.0.0.1:{lms_port}",
            LMS_PUBLIC_URL=f"http://127.0.0.1:{lms_port}", LMS_WORKERS=str(LMS_WORKERS),
            LMS_COLLECT_STATIC="0", LMS_IMPORT_COURSES="0",
        )
        shutil.copyfile(sqlite_template(lms_env), lms_var / "lms.sqlite3")
        lms_url = f"http://127.0.0.1:{lms_port}"
        stack.enter_context(running(
            [str(PYTHON), "-m", "lms.up"], lms_env, folder / "lms.log",
            f"{lms_url}/.well-known/openid-configuration"))

        stack.enter_context(running(
            [str(PYTHON), "-m", "grading", "serve"],
            environment(**hub.service_env(GRADER), STUDIO_VAR_DIR=str(folder / "grader-var"),
                        STUDIO_COURSES_DIR=str(ROOT / "courses"), GRADER_WORKERS="2",
                        GRADER_POOL_SIZE="0", GRADER_GRADEBOOK_SCAN_SECONDS="0",
                        GRADER_POLL_SECONDS="0.2",
                        DOCKER_HOST=f"unix://{folder / 'no-docker-engine.sock'}"),
            folder / "grader.log", f"{GRADER.url}/services/grader/api/health"))

        stack.enter_context(running(
            [str(PYTHON), "-m", "tutor", "serve"],
            environment(**hub.service_env(TUTOR), STUDIO_VAR_DIR=str(folder / "tutor-var"),
                        STUDIO_COURSES_DIR=str(ROOT / "courses"), OPENAI_API_KEY=API_KEY,
                        OPENAI_BASE_URL=model.url, TUTOR_MODEL=MODEL),
            folder / "tutor.log", f"{TUTOR.url}/services/tutor/api/health"))

        hub_api = hub.api_url.removeprefix("http://").split("/")[0]
        config = prometheus_config(folder, {
            "lms": f"127.0.0.1:{lms_port}", "hub": hub_api, "grader": f"127.0.0.1:{GRADER.port}",
            "tutor": f"127.0.0.1:{TUTOR.port}", "prometheus": f"127.0.0.1:{prometheus_port}",
        })
        prometheus_url = f"http://127.0.0.1:{prometheus_port}"
        prometheus_log = folder / "prometheus.log"
        stack.enter_context(running(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={folder / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prometheus_port}"],
            {**os.environ}, prometheus_log, f"{prometheus_url}/-/ready"))
        yield Parts(hub, lms_url, prometheus_url, prometheus_log)


def test_prometheus_scrapes_every_part_with_the_metrics_token(parts):
    for job in ("lms", "hub", "grader", "tutor", "prometheus"):
        parts.wait_for(f'up{{job="{job}"}}', lambda up: up == 1, f"{job} is scraped")


def test_the_lms_counts_requests_and_queries_of_all_its_workers_together(parts):
    for _ in range(HEAD_REQUESTS):  # gunicorn hands them to either worker
        response = requests.head(f"{parts.lms_url}/.well-known/openid-configuration", timeout=30)
        assert response.status_code == 200
    refused = requests.get(f"{parts.lms_url}/api/v1/me/", timeout=30,
                           headers={"Authorization": "Token not-a-token"})
    assert refused.status_code == 401  # the token was looked up: a query
    parts.wait_for('sum(django_http_requests_total_by_method_total{job="lms", method="HEAD"})',
                   lambda value: value == HEAD_REQUESTS, "both workers' requests, summed")
    parts.wait_for('sum(django_db_execute_total{job="lms"})', lambda value: (value or 0) > 0,
                   "the LMS's queries")
    parts.wait_for('count(django_http_requests_latency_seconds_by_view_method_bucket{job="lms"})',
                   lambda value: (value or 0) > 0, "the LMS's latency by view")
    parts.wait_for('studio_disk_free_bytes{job="lms", folder="lms"}',
                   lambda value: (value or 0) > 0, "the LMS's disk")


def test_a_tutor_request_moves_the_tutors_counters(parts):
    asked = parts.as_user("grace", "POST", "services/tutor/api/ask", json={
        "course": COURSE, "mode": "chat", "assignment": "ps1-basics",
        "question": "What is a loop?", **notebook_of("ps1-basics")})
    assert asked.status_code == 200 and '"type": "done"' in asked.text, asked.text
    parts.wait_for('sum(tutor_requests_total{job="tutor", mode="chat"})',
                   lambda value: value == 1, "the admitted request")
    parts.wait_for('tutor_first_token_seconds_count{job="tutor", source="model"}',
                   lambda value: value == 1, "the first token's wait")
    assert parts.value('sum(tutor_model_errors_total{job="tutor"})') == 0


def test_a_submission_moves_the_graders_series_and_its_alert_fires(parts):
    released = parts.as_user("ada", "POST", f"services/grader/api/{PS1}/release")
    assert released.status_code in {200, 201}, released.text
    fetched = parts.as_user("grace", "GET", f"services/grader/api/{PS1}/release")
    assert fetched.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(fetched.content)) as archive:
        assert "ps1-basics.ipynb" in archive.getnames()
    submitted = parts.as_user("grace", "POST", f"services/grader/api/{PS1}/submissions",
                              data=fetched.content, headers={"Content-Type": "application/gzip"})
    assert submitted.status_code == 202, submitted.text
    # a worker meets the sandbox's failure (no Docker engine), and the job waits for it
    parts.wait_for('grader_sandbox_failures_total{job="grader", kind="no_engine", '
                   'fault="grader"}', lambda value: (value or 0) >= 1, "the sandbox failure")
    parts.wait_for('grader_grading_duration_seconds_count{job="grader", '
                   'outcome="sandbox_unavailable"}', lambda value: (value or 0) >= 1,
                   "the timed grading attempt")
    parts.wait_for('sum(grader_queue_jobs{job="grader", kind="autograde"})',
                   lambda value: value == 1, "the submission's open job")
    parts.wait_for('grader_queue_oldest_job_age_seconds{job="grader", kind="autograde"}',
                   lambda value: (value or 0) > 0, "the open job's age")
    parts.wait_for('count(ALERTS{alertname="GraderSandboxFailing", kind="no_engine"})',
                   lambda value: value == 1, "the sandbox alert")
    assert parts.value('studio_disk_free_bytes{job="grader", folder="grader"}') > 0


def test_the_hubs_own_metrics_are_read_with_the_prometheus_service_token(parts):
    parts.wait_for('sum(jupyterhub_request_duration_seconds_count{job="hub"})',
                   lambda value: (value or 0) > 0, "the hub's requests")
    assert parts.value('sum(jupyterhub_server_spawn_duration_seconds_count{job="hub", '
                       'status="error"})') == 0
    learner = requests.get(f"{parts.hub.api_url.removesuffix('/api')}/metrics", timeout=30,
                           headers={"Authorization": f"token {parts.hub.token('grace')}"})
    assert learner.status_code == 403  # a learner's token has no read:metrics


def test_every_alert_rule_evaluates_on_the_real_series(parts):
    parts.wait_for('count(up == 1)', lambda value: value == 5, "every target up")
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        groups = requests.get(f"{parts.prometheus_url}/api/v1/rules", timeout=30).json()
        rules = [rule for group in groups["data"]["groups"] for rule in group["rules"]]
        evaluated = rules and all(rule.get("lastEvaluation", "").startswith("2") and
                                  not rule["lastEvaluation"].startswith("0001") for rule in rules)
        if evaluated or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert len(rules) == 8
    assert [(rule["name"], rule.get("lastError")) for rule in rules
            if rule["health"] != "ok"] == []
