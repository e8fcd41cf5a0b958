"""docker-compose.yml on this machine, as the tests of tests/integration/compose run it: the
images built offline, the whole stack up with a throwaway env file under a project name of its
own, reached through its one public entry point, and taken down again with its volumes.

The images are built before pytest runs (``make test`` runs ``.ci/provision compose_images``,
a no-op when their inputs are unchanged): a build takes minutes and has nothing to do with what
these tests check. Here they are only checked to be built from the current tree
(``images/build --check``), and the tests fail with what to run when they are not.

Nothing here touches a developer's stack: the project (``pls-compose-test-<hex>``), the
notebook network, the learners' container prefix and the published port (a free one on
127.0.0.1, never 8000/8001) are the test's own. Both public hosts are that port: the LMS's
``127.0.0.1`` and the hub's ``hub.localhost`` (its subdomains are learners' servers), which this
process resolves as browsers do (:mod:`tests.support.localhost`). PostgreSQL is the local
``pls-postgres`` (no image can be pulled here). The tutor's model is a
:class:`tests.support.fake_openai.FakeOpenAI` on this machine's address (:func:`host_address`),
which the tutor's container reaches over its ``egress`` network. Bounded: the start by
:data:`START_SECONDS`, the stop by :data:`STOP_SECONDS`.
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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.fake_openai import API_KEY, MODEL
from tests.support.localhost import browse_localhost_like_a_browser

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ("postgres", "front", "hub", "lms", "grader", "tutor", "prometheus")
START_SECONDS = 600  # a bound: the LMS migrates and imports first, on two busy cores
STOP_SECONDS = 120
HUB_HOST = "hub.localhost"  # the hub's public host: not the LMS's, nor a parent of it
# what answers through the entry point once the stack is up: the LMS, the hub (and its proxy),
# the grader and the tutor
HEALTH_PATHS = ("/hub/health", "/services/grader/api/health", "/services/tutor/api/health")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def host_address() -> str:
    """This machine's address on its default route (no packet is sent): containers on a network
    with a way out (the tutor's ``egress``) reach the host there (the fake model listens on it).
    Not Docker's default bridge: it may not exist on an engine that runs without it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))
        return probe.getsockname()[0]


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


def throwaway_env(project: str, port: int, model_url: str) -> dict[str, str]:
    """An env file like .env.example's, every secret fresh; the tutor's model at
    ``model_url``."""
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
        "OPENAI_BASE_URL": model_url,
        "OPENAI_API_KEY": API_KEY,
        "TUTOR_MODEL": MODEL,
        # The worker's SMTP server: a name that never resolves (RFC 2606), so a notification's
        # email fails at the worker and nothing leaves the machine.
        "LMS_EMAIL_HOST": "smtp.invalid",
        "LMS_EMAIL_FROM": "Python Learning Studio <noreply@studio.test>",
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

    def logs(self, *services: str) -> str:
        return self.compose("logs", "--no-color", "--tail=60", *services, check=False).stdout

    def health_urls(self) -> tuple[str, ...]:
        return (f"{self.url}/", *(f"{self.hub_url}{path}" for path in HEALTH_PATHS))

    def container(self, service: str) -> str:
        """The id of the service's container."""
        found = self.compose("ps", "-q", service).stdout.split()
        assert len(found) == 1, f"{service}: {found}"
        return found[0]

    def state(self, service: str) -> dict:
        """``docker inspect``'s State of the service's container, and its RestartCount."""
        (inspected,) = json.loads(subprocess.run(
            ["docker", "inspect", self.container(service)], capture_output=True, text=True,
            check=True, timeout=60).stdout)
        return inspected["State"] | {"RestartCount": inspected["RestartCount"]}


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
        pytest.fail(f"{waiting} did not answer 200 in time\n{stack.logs()}")


def leftovers(project: str) -> list[str]:
    """Containers, networks and volumes of the project that `down -v` should have removed, and
    learners' containers the hub started under the project's prefix."""
    label = f"label=com.docker.compose.project={project}"
    found = []
    for kind in ("container", "network", "volume"):
        listing = ["ls", "-aq"] if kind == "container" else ["ls", "-q"]
        out = subprocess.run(["docker", kind, *listing, "--filter", label], capture_output=True,
                             text=True, check=False).stdout.split()
        found += [f"{kind} {name}" for name in out]
    return found


def remove_learner_containers(project: str) -> None:
    """The learners' containers the hub started (``<project>-<user>``) and their work volumes
    (``<project>-work-<user>``): not compose's, so ``down`` leaves them (and the notebook
    network the containers are attached to)."""
    for kind, listing in (("container", ["ps", "-aq"]), ("volume", ["volume", "ls", "-q"])):
        names = subprocess.run(["docker", *listing, "--filter", f"name=^{project}-"],
                               capture_output=True, text=True, check=False).stdout.split()
        remove = ["rm", "-f", "-v"] if kind == "container" else ["volume", "rm", "-f"]
        if names:
            subprocess.run(["docker", *remove, *names], capture_output=True, check=False,
                           timeout=STOP_SECONDS)


@contextmanager
def compose_stack(env_dir: Path, model_url: str) -> Iterator[Stack]:
    """The stack up and answering through its entry point, taken down with its volumes after."""
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
    env_file = env_dir / "env"
    env_file.write_text("".join(
        f"{k}={v}\n" for k, v in throwaway_env(project, port, model_url).items()))
    env_file.chmod(0o600)
    browse_localhost_like_a_browser()
    stack = Stack(project, f"http://127.0.0.1:{port}", f"http://{HUB_HOST}:{port}",
                  [*compose_command(), "--env-file", str(env_file), "-p", project,
                   "-f", str(ROOT / "docker-compose.yml")])
    started = time.monotonic()
    try:
        up = stack.compose("up", "-d", timeout=START_SECONDS, check=False)
        assert up.returncode == 0, f"{up.stderr}\n{stack.logs()}"
        wait_for(stack, stack.health_urls(), started + START_SECONDS)
        print(f"compose stack {project} answered in {time.monotonic() - started:.0f} s")
        yield stack
    finally:
        remove_learner_containers(project)
        down = stack.compose("down", "-v", "--remove-orphans", "--timeout", "20",
                             timeout=STOP_SECONDS, check=False)
        left = leftovers(project)
        assert down.returncode == 0 and not left, f"down failed: {down.stderr}\nleft: {left}"
