"""docker-compose.yml on this machine: the images built offline, the whole stack up with a
throwaway env file under a project name of its own, checked through its one public entry point,
and taken down again with its volumes, whatever the tests found.

The images are built before pytest runs (``make test`` runs ``.ci/provision compose_images``,
a no-op when their inputs are unchanged): a build takes minutes and has nothing to do with what
these tests check. Here they are only checked to be built from the current tree
(``images/build --check``), and the tests fail with what to run when they are not.

Nothing here touches a developer's stack: the project (``pls-compose-test-<hex>``), the
notebook network, the learners' container prefix and the published port (a free one on
127.0.0.1, never 8000/8001) are the test's own. Both public hosts are that port: the LMS's
``127.0.0.1`` and the hub's ``hub.localhost`` (its subdomains are learners' servers), which this
process resolves as browsers do (:mod:`tests.support.localhost`). PostgreSQL is the local
``pls-postgres`` (no image can be pulled here). Bounded: the start by :data:`START_SECONDS`, the
stop by :data:`STOP_SECONDS`.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.localhost import browse_localhost_like_a_browser

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
IMAGES = ("postgres", "front", "hub", "lms", "grader", "tutor", "prometheus")
START_SECONDS = 240
STOP_SECONDS = 120
DATABASES = ("lms", "hub", "grader", "tutor")
HUB_HOST = "hub.localhost"  # the hub's public host: not the LMS's, nor a parent of it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def compose_command() -> list[str]:
    """The v2 plugin when the engine has it, else Debian's docker-compose (.ci/provision)."""
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if probe.returncode == 0:
        return ["docker", "compose"]
    return [shutil.which("docker-compose") or "docker-compose"]


def signing_key() -> str:
    """A fresh RS256 key for the LMS's ID tokens, base64 on one line as the env file wants."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return base64.b64encode(pem).decode()


def throwaway_env(project: str, port: int) -> dict[str, str]:
    """An env file like .env.example's, every secret fresh."""
    hex32 = ("POSTGRES_PASSWORD", "LMS_SECRET_KEY", "HUB_OAUTH_CLIENT_SECRET",
             "HUB_LMS_SERVICE_TOKEN", "HUB_GRADER_API_TOKEN", "HUB_TUTOR_API_TOKEN",
             "CONFIGPROXY_AUTH_TOKEN", "JUPYTERHUB_CRYPT_KEY", "JPY_COOKIE_SECRET",
             "GRADER_COOKIE_SECRET", "TUTOR_COOKIE_SECRET", "STUDIO_METRICS_TOKEN")
    env = {name: secrets.token_hex(32) for name in hex32}
    env |= {name: secrets.token_hex(20) for name in ("LMS_GRADER_TOKEN", "LMS_TUTOR_TOKEN")}
    return env | {
        "OIDC_RSA_PRIVATE_KEY_BASE64": signing_key(),
        "STUDIO_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "STUDIO_PUBLIC_HOST": "127.0.0.1",
        "STUDIO_HUB_PUBLIC_URL": f"http://{HUB_HOST}:{port}",
        "STUDIO_HUB_PUBLIC_HOST": HUB_HOST,
        "STUDIO_HTTP_PUBLISH": f"127.0.0.1:{port}",
        "LMS_INSECURE_COOKIES": "1",  # plain http on loopback
        "STUDIO_COURSES_HOST_DIR": str(ROOT / "courses"),
        "DOCKER_GID": str(os.stat("/var/run/docker.sock").st_gid),
        "POSTGRES_IMAGE": "pls-postgres:latest",
        "PLS_NOTEBOOK_NETWORK": f"{project}-notebooks",
        "HUB_DOCKER_PREFIX": project,
        "GRADER_SANDBOX_PREFIX": f"{project}-grading",
        "LMS_WORKERS": "2",
        "GRADER_WORKERS": "1",
    }


@dataclass
class Stack:
    project: str
    url: str  # the LMS's public URL
    hub_url: str  # the hub's, through the same entry point
    command: list[str]

    def compose(self, *args: str, timeout: float = 120, check: bool = True
                ) -> subprocess.CompletedProcess:
        return subprocess.run([*self.command, *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, check=check)

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=10, **kwargs)

    def hub(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.hub_url + path, timeout=10, **kwargs)

    def psql(self, database: str, query: str) -> str:
        return self.compose("exec", "-T", "postgres", "psql", "-U", "studio", "-d", database,
                            "-tAc", query).stdout.strip()

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail=60", check=False).stdout


def wait_for(stack: Stack, urls: tuple[str, ...], deadline: float) -> None:
    """Until every URL answers 200 through the entry point; else fail with the logs."""
    waiting = list(urls)
    while waiting and time.monotonic() < deadline:
        try:
            if requests.get(waiting[0], timeout=10, allow_redirects=False).status_code == 200:
                waiting.pop(0)
                continue
        except requests.RequestException:
            pass
        time.sleep(1)
    if waiting:
        pytest.fail(f"{waiting} did not answer 200 within {START_SECONDS} s\n{stack.logs()}")


def leftovers(project: str) -> list[str]:
    """Containers, networks and volumes of the project that `down -v` should have removed."""
    label = f"label=com.docker.compose.project={project}"
    found = []
    for kind in ("container", "network", "volume"):
        listing = ["ls", "-aq"] if kind == "container" else ["ls", "-q"]
        out = subprocess.run(["docker", kind, *listing, "--filter", label], capture_output=True,
                             text=True, check=False).stdout.split()
        found += [f"{kind} {name}" for name in out]
    return found


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    provision = subprocess.run([str(ROOT / ".ci" / "provision"), "compose"], cwd=ROOT,
                               capture_output=True, text=True, timeout=600, check=False)
    assert provision.returncode == 0, provision.stderr
    built = subprocess.run([str(ROOT / "images" / "build"), "--check", *IMAGES], cwd=ROOT,
                           capture_output=True, text=True, timeout=600, check=False)
    if built.returncode != 0:
        pytest.fail(f"docker-compose.yml's images are not built from this tree: run "
                    f"`.ci/provision compose_images` (make test does) before these tests.\n"
                    f"{built.stdout}{built.stderr}")

    project = f"pls-compose-test-{secrets.token_hex(3)}"
    port = free_port()
    env_file = tmp_path_factory.mktemp("compose") / "env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in throwaway_env(project, port).items()))
    env_file.chmod(0o600)
    browse_localhost_like_a_browser()
    stack = Stack(project, f"http://127.0.0.1:{port}", f"http://{HUB_HOST}:{port}",
                  [*compose_command(), "--env-file", str(env_file), "-p", project,
                   "-f", str(ROOT / "docker-compose.yml")])
    started = time.monotonic()
    try:
        up = stack.compose("up", "-d", timeout=START_SECONDS, check=False)
        assert up.returncode == 0, f"{up.stderr}\n{stack.logs()}"
        wait_for(stack, (f"{stack.url}/", *(f"{stack.hub_url}{path}" for path in (
            "/hub/health", "/services/grader/api/health", "/services/tutor/api/health"))),
            started + START_SECONDS)
        print(f"compose stack {project} answered in {time.monotonic() - started:.0f} s")
        yield stack
    finally:
        down = stack.compose("down", "-v", "--remove-orphans", "--timeout", "20",
                             timeout=STOP_SECONDS, check=False)
        left = leftovers(project)
        assert down.returncode == 0 and not left, f"down failed: {down.stderr}\nleft: {left}"


def test_the_lms_home_page_answers_from_its_database(stack):
    page = stack.get("/")
    assert page.status_code == 200
    assert "Python Learning Studio" in page.text


def test_the_lms_imported_the_mounted_courses_into_postgresql(stack):
    assert "python-101" in stack.get("/courses/").text
    assert stack.psql("lms", "select count(*) from courses_coursepage") == "1"


def test_every_part_keeps_its_state_in_its_own_postgresql_database(stack):
    for database in DATABASES:
        tables = stack.psql(database, "select count(*) from information_schema.tables "
                                      "where table_schema = 'public'")
        assert int(tables) > 0, f"no tables in {database}"


def test_the_hub_answers_through_the_entry_point(stack):
    assert stack.hub("/hub/health").status_code == 200
    assert "version" in stack.hub("/hub/api/").json()


@pytest.mark.parametrize(("service", "signed_in_path"), [
    ("grader", "api/courses"), ("tutor", "api/status"),
])
def test_the_services_are_routed_by_the_hubs_proxy(stack, service, signed_in_path):
    answer = stack.hub(f"/services/{service}/api/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    # their own API: a caller without a hub token is sent to sign in by the service (with the
    # hub's OAuth: the hub knows its client) or refused, never served
    guest = stack.hub(f"/services/{service}/{signed_in_path}", allow_redirects=False)
    assert guest.status_code in {302, 401, 403}, guest.text[:300]
    if guest.status_code == 302:
        assert guest.headers["Location"].startswith("/hub/api/oauth2/authorize")
        hub = stack.hub(guest.headers["Location"], allow_redirects=False)
        assert hub.status_code == 302, hub.text[:300]  # to the hub's login, not an OAuth error
    # only under the hub's host: the LMS's host routes nothing to them
    assert stack.get(f"/services/{service}/api/health").status_code != 200


def test_signing_in_to_the_hub_goes_to_the_lms_at_its_own_public_origin(stack):
    issuer = stack.get("/.well-known/openid-configuration").json()["issuer"]
    assert issuer.rstrip("/") == stack.url
    login = stack.hub("/hub/oauth_login", allow_redirects=False)
    assert login.status_code == 302
    assert login.headers["Location"].startswith(f"{stack.url}/o/authorize/")
    assert f"redirect_uri=http%3A%2F%2F{HUB_HOST}" in login.headers["Location"]
    form = stack.get(login.headers["Location"][len(stack.url):])
    assert form.status_code == 200 and "csrfmiddlewaretoken" in form.text  # the LMS's login


def test_the_notebook_network_is_internal(stack):
    network = f"{stack.project}-notebooks"
    internal = subprocess.run(["docker", "network", "inspect", "-f", "{{.Internal}}", network],
                              capture_output=True, text=True, check=True).stdout.strip()
    assert internal == "true"


def test_prometheus_scrapes_every_part_over_the_internal_network(stack):
    """Every part answers Prometheus's scrape with the metrics token (asked with the promtool in
    Prometheus's own container: it publishes no port)."""
    deadline = time.monotonic() + 90  # a scrape every 15 s
    answer = ""
    while time.monotonic() < deadline:
        answer = stack.compose("exec", "-T", "prometheus", "promtool", "query", "instant", "-o",
                               "json", "http://127.0.0.1:9090", 'count(up{job!="prometheus"} == 1)',
                               check=False).stdout
        if answer.strip().startswith("[") and json.loads(answer) and (
                json.loads(answer)[0]["value"][1] == "4"):
            return
        time.sleep(3)
    pytest.fail(f"not every part is up in Prometheus: {answer}\n{stack.logs()}")


@pytest.mark.parametrize("path", ["/metrics", "/hub/metrics", "/hub/api/metrics",
                                  "/services/grader/metrics", "/services/tutor/metrics"])
def test_metrics_are_not_served_to_the_public(stack, path):
    assert stack.get(path, headers={"Authorization": "Bearer anything"}).status_code == 404
