"""The real studio (LMS + JupyterHub), started by tests the way ``make up`` starts it.

``own_studio(...)`` runs ``python -m launcher`` as a subprocess with its own session, on a temporary
``STUDIO_VAR_DIR``, on ports of its own (the preferred ones when free) and with Docker names under
a prefix of its own, so it never touches a developer's ``var/`` or a running ``make up``. On exit
the studio gets SIGTERM, and every container and volume it made is removed.

Under pytest-xdist each worker's studios have names and preferred ports of that worker's own
(:func:`for_this_worker`), so two workers never share a container, a volume or a port. The LMS's
database starts as a copy of a migrated template (:mod:`tests.support.lms_databases`): the LMS's
own ``migrate`` at start then finds nothing to do.

The hub's public URL is ``http://localhost:<port>`` and the LMS's ``http://127.0.0.1:<port>``
(two hosts: apart cookies); each user's server is on a host of its own below the hub's,
``http://<user>.localhost:<port>/user/<user>/``: :meth:`Studio.server_url` is the one place the
tests build it (from the hub's own naming), and :mod:`tests.support.localhost` lets this
process's HTTP clients resolve it, as Chromium does.

``Studio.login(username)`` signs in like a browser: the hub sends it to the LMS, which shows its
login form; the form is submitted with its CSRF token and ``next``, and the LMS sends it back to
the hub's OAuth callback. ``Studio.spawn(username)`` then starts the server through the hub's API
and waits (bounded) until ``/user/<name>/api/status`` on the server's host answers 200 through
the proxy.

The fixtures built on it live in the conftest.py of each test folder that needs a studio
(``tests/integration/hub``, ``tests/e2e``, ``tests/security``, ``tests/benchmarks``), scoped to
that folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from dockerspawner import DockerSpawner

from courses.naming import service_url
from hub.origins import subdomain_hook
from hub.settings import HubSettings
from hub.spawners.docker import notebook_network_gateway
from servicekit.state import lms_database
from tests.support.lms_databases import sqlite_template
from tests.support.localhost import browse_localhost_like_a_browser
from tests.support.service_hub import log_excerpt
from tests.support.swarm import remove_swarm_services, swarm_gateway

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
# The hub tests' studio's containers and volumes are named apart from a developer's `make up`.
CONTAINER_PREFIX = "pls-test"
PREFERRED_PORTS = {"lms": 18000, "hub": 18001, "proxy_api": 18002, "hub_api": 18081}
START_SECONDS = 300  # LMS migrations + seeding, then the hub
SPAWN_SECONDS = 150
GRADED_SECONDS = 180  # a bound for a grading on two busy cores, not a measurement
STOP_SECONDS = 90  # the launcher waits up to 45 s for the hub, then stops the LMS
# Variables of a developer's shell or of the test run that must not reach the test studio.
# (A developer's OPENAI_* would make a test studio's tutor call a real model.)
ENV_PREFIXES_DROPPED = ("HUB_", "LMS_", "JUPYTERHUB_", "CONFIGPROXY_", "OIDC_", "STUDIO_",
                        "TUTOR_", "OPENAI_")
ENV_DROPPED = {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}


def studio_env() -> dict[str, str]:
    """This process's environment without what a developer's shell or the test run set for a
    studio of their own."""
    return {
        key: value for key, value in os.environ.items()
        if key not in ENV_DROPPED and not key.startswith(ENV_PREFIXES_DROPPED)
    }


def for_this_worker(prefix: str, ports: dict[str, int]) -> tuple[str, dict[str, int]]:
    """``prefix`` and preferred ``ports`` for this pytest-xdist worker: unchanged outside xdist
    and in worker gw0; worker gwN adds ``-gwN`` to the prefix and N * 1000 to each port, so the
    same studio started by two workers has two sets of names and ports."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    if index == 0:
        return prefix, dict(ports)
    return f"{prefix}-{worker}", {name: port + 1000 * index for name, port in ports.items()}


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT of a last run
        try:
            # every interface: free on loopback and on every Docker network's gateway alike
            sock.bind(("0.0.0.0", port))  # noqa: S104
        except OSError:
            return False
    return True


def _free_port(preferred: int, taken: set[int]) -> int:
    if preferred not in taken and _port_is_free(preferred):
        return preferred
    while True:
        with socket.socket() as sock:
            sock.bind(("0.0.0.0", 0))  # noqa: S104
            port = sock.getsockname()[1]
        if port not in taken:
            return port


def docker(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    """The ``docker`` CLI; stdout and stderr as text."""
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check:
        assert result.returncode == 0, f"docker {' '.join(args)}:\n{result.stderr}"
    return result


def inspect(name: str) -> dict:
    return json.loads(docker("inspect", name).stdout)[0]


USER_LABEL = "org.pythonlearningstudio.user"  # on learners' containers (hub/spawners/docker.py)
ROLE_LABEL = "org.pythonlearningstudio.role"  # "grading" on the grader's sandboxes


def under_prefix(kind: str, prefix: str, grader: bool = False) -> set[str]:
    """Names of the containers (``kind="container"``) or volumes a studio with Docker names
    under ``prefix`` made, and nothing else's: its learners' containers, exactly
    ``<prefix>-<escaped user>`` (another studio's prefix may begin with this one, and other
    tests run sandboxes named ``pls-test-grading-...``), with ``grader`` its grader's sandboxes
    ``<prefix>-grading-<hex>``, and its learners' volumes ``<prefix>-work-<escaped user>``."""
    if kind != "container":
        listed = docker("volume", "ls", "--format", "{{.Name}}", check=False)
        return {name for name in listed.stdout.split() if name.startswith(f"{prefix}-work-")}
    listed = docker("container", "ls", "-a", "--format",
                    f'{{{{.Names}}}}\t{{{{.Label "{USER_LABEL}"}}}}\t{{{{.Label "{ROLE_LABEL}"}}}}',
                    check=False)
    found = set()
    for line in listed.stdout.splitlines():
        name, user, role = [*line.split("\t"), "", ""][:3]
        learners = user and name == f"{prefix}-{DockerSpawner._escape(user)}"
        graders = grader and role == "grading" and name.startswith(f"{prefix}-grading-")
        if learners or graders:
            found.add(name)
    return found


class _Forms(HTMLParser):
    """Every <form>'s action and its named inputs' values."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append((attrs.get("action") or "", {}))
        elif tag in {"input", "button"} and self.forms and attrs.get("name"):
            self.forms[-1][1].setdefault(attrs["name"], attrs.get("value") or "")


@dataclass
class Studio:
    lms_url: str
    hub_url: str  # the hub's public URL, http://localhost:<port>
    var_dir: Path
    passwords: dict[str, str]
    prefix: str = CONTAINER_PREFIX  # its Docker names: <prefix>-<user>, <prefix>-work-<user>
    sessions: dict[str, requests.Session] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    # -- where things are ------------------------------------------------------------------------

    def server_url(self, username: str, path: str = "") -> str:
        """``path`` in ``username``'s server, on the server's own host below the hub's
        (``http://learner1.localhost:<port>/user/learner1/<path>``), named as the hub names it."""
        hub = urlsplit(self.hub_url)
        host = subdomain_hook(username, hub.hostname, "user")
        return f"{hub.scheme}://{host}:{hub.port}/user/{username}/{path}"

    def service_url(self, service: str, path: str = "") -> str:
        """``path`` in a hub service with a host of its own (a course's formgrader)."""
        return service_url(self.hub_url, service, path)

    # -- signing in ---------------------------------------------------------------------------

    def login(self, username: str, spawn: bool = True) -> requests.Session:
        """A browser-like session signed in to the hub through the LMS's login form, with the
        user's server started and answering (unless ``spawn`` is false). One session per user
        per test session."""
        if username in self.sessions:
            if spawn:
                self.spawn(username)  # returns at once when the server answers
            return self.sessions[username]
        session = requests.Session()
        page = session.get(f"{self.hub_url}/hub/login?next=/hub/home", timeout=30)
        assert page.status_code == 200, (page.status_code, page.url)
        assert page.url.startswith(f"{self.lms_url}/login/"), page.url
        parser = _Forms()
        parser.feed(page.text)
        action, form = next((a, f) for a, f in parser.forms if "password" in f)
        assert form.get("csrfmiddlewaretoken"), "the LMS login form has no CSRF token"
        assert "next" in form, "the LMS login form does not carry next"
        form.update(username=username, password=self.passwords[username])
        landed = session.post(urljoin(page.url, action), data=form, timeout=60)
        assert landed.status_code == 200, (landed.status_code, landed.url, landed.text[:500])
        assert landed.url.startswith(f"{self.hub_url}/hub/"), landed.url
        assert session.cookies.get("jupyterhub-hub-login"), "no hub login cookie"
        self.sessions[username] = session
        self.tokens[username] = self._api_token(session, username)
        if spawn:
            self.spawn(username)
        return session

    def _api_token(self, session: requests.Session, username: str) -> str:
        """A hub API token of the user's own, created with the browser session (cookie + XSRF)."""
        xsrf = session.cookies.get("_xsrf", path="/hub/") or session.cookies.get("_xsrf")
        assert xsrf, "the hub set no _xsrf cookie"
        response = session.post(
            f"{self.hub_url}/hub/api/users/{username}/tokens",
            json={"note": "integration test", "expires_in": 3600},
            headers={"X-XSRFToken": xsrf},
            timeout=30,
        )
        assert response.status_code == 201, (response.status_code, response.text)
        return response.json()["token"]

    def api(self, username: str, method: str, path: str, timeout: float = 30,
            **kwargs) -> requests.Response:
        """The hub's REST API with ``username``'s token."""
        headers = {"Authorization": f"token {self.tokens[username]}"}
        return requests.request(method, f"{self.hub_url}/hub/api{path}", headers=headers,
                                timeout=timeout, **kwargs)

    def spawn(self, username: str) -> None:
        """Start the user's server and wait until it answers through the proxy."""
        started = self.api(username, "POST", f"/users/{username}/server")
        assert started.status_code in {201, 202, 400}, (started.status_code, started.text)
        session = self.sessions[username]
        deadline = time.monotonic() + SPAWN_SECONDS
        last = None
        while time.monotonic() < deadline:
            model = self.api(username, "GET", f"/users/{username}").json()
            server = (model.get("servers") or {}).get("", {})
            if server.get("ready"):
                # Through the proxy with the browser session: the lab page sends it through the
                # server's own OAuth with the hub (its API answers 403 instead of redirecting).
                last = session.get(self.server_url(username, "lab"), timeout=30)
                if last.status_code == 200 and self.server_status(session, username) == 200:
                    return
            elif not server.get("pending") and started.status_code != 400:
                raise AssertionError(f"{username}'s server is neither pending nor ready: {model}")
            time.sleep(0.5)
        raise AssertionError(
            f"{username}'s server did not answer within {SPAWN_SECONDS} s "
            f"(last: {last and (last.status_code, last.url)})"
        )

    # -- grades ------------------------------------------------------------------------------

    def lms_grades(self, username: str, course: str) -> list[dict]:
        """The learner's grades in ``course`` as the LMS's API shows them to the learner (their
        LMS session, from signing in)."""
        response = self.sessions[username].get(
            f"{self.lms_url}/api/v1/grades/?course={course}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["results"]

    def wait_for_grades(self, username: str, course: str, count: int,
                        seconds: float = GRADED_SECONDS) -> list[dict]:
        """The learner's grades in the LMS once there are ``count`` of them (at most
        ``seconds``: a bound for gradings on two busy cores, not a measurement)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            grades = self.lms_grades(username, course)
            if len(grades) >= count:
                return grades
            time.sleep(1)
        raise AssertionError(f"{username} has {len(self.lms_grades(username, course))} grades "
                             f"in the LMS, not {count}, after {seconds} s")

    def server_status(self, session: requests.Session, username: str) -> int:
        """The status code of ``/user/<username>/api/status`` on the server's host for
        ``session``."""
        return session.get(self.server_url(username, "api/status"), timeout=30).status_code

    def lms_shell(self, code: str) -> str:
        """Run ``code`` in ``python -m lms shell`` against this studio's own LMS (its SQLite
        under the studio's var dir), as an admin at the LMS's console would; its stdout."""
        env = studio_env()
        env.update(
            STUDIO_VAR_DIR=str(self.var_dir),
            DJANGO_SETTINGS_MODULE="lms.settings.dev",
            LMS_PUBLIC_URL=self.lms_url,
        )
        result = subprocess.run(
            [str(PYTHON), "-m", "lms", "shell", "-c", code],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )
        assert result.returncode == 0, f"lms shell:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    # The Docker helpers, for the tests (test modules cannot import this conftest).
    docker = staticmethod(docker)
    inspect = staticmethod(inspect)

    @property
    def network(self) -> str:
        return f"{self.prefix}-notebooks"

    def container_name(self, username: str) -> str:
        return f"{self.prefix}-{username}"

    def exec_in(self, username: str, *command: str, timeout: float = 60
                ) -> subprocess.CompletedProcess:
        """Run ``command`` in the user's container (as the container's user)."""
        return docker("exec", self.container_name(username), *command, timeout=timeout,
                      check=False)

    def hub_health(self) -> int:
        return requests.get(f"{self.hub_url}/hub/health", timeout=10).status_code


def _wait_until_answers(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the launcher exited ({process.returncode}) before {url} answered:\n"
                        + log_excerpt(log))
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=3).status_code == 200:
                return
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {timeout} s:\n" + log_excerpt(log))


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_SECONDS)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # anything the launcher left in its session
    process.wait()


# -- a studio of a test module's own (tests that stop parts of it) ------------------------------


def _hub_api_bind_url(env: dict[str, str], port: int) -> str:
    """Where the studio's hub API listens: where the hub's own default puts it (loopback for
    local servers, the notebook network's gateway with Docker, found as the hub finds it), at
    the studio's own port, so that two studios never share one."""
    if env["HUB_SPAWNER"] == "local":
        return f"http://127.0.0.1:{port}"
    if env["HUB_SPAWNER"] == "swarm":  # servers with published ports reach the host there
        return f"http://{swarm_gateway()}:{port}"
    return f"http://{notebook_network_gateway(HubSettings.from_env(env))}:{port}"


@dataclass
class OwnStudio:
    """A studio of its own: its ports, var dir and Docker names (``prefix``), and the launcher
    process that runs it."""

    studio: Studio
    process: subprocess.Popen
    prefix: str
    network: str
    log: Path

    def container_name(self, username: str) -> str:
        return f"{self.prefix}-{username}"


@contextlib.contextmanager
def own_studio(
    tmp_path_factory,
    prefix: str,
    preferred_ports: dict[str, int],
    expect_clean_stop: bool = False,
    grader: bool = False,
    tutor: bool = False,
    before_start: Callable[[Path, dict[str, str]], None] | None = None,
    **extra_env,
):
    """Start ``python -m launcher`` with Docker names under ``prefix`` (this worker's: see
    :func:`for_this_worker`), its LMS's database a copy of the migrated template; on exit stop
    it and remove its containers, volumes and network. ``expect_clean_stop``: fail if the
    launcher itself left a learner container (tests that kill the hub on purpose cannot promise
    that). ``grader``: the hub also runs the grader service, as ``make up`` does, on the port
    ``preferred_ports`` names ``grader`` (its sandboxes are named under the prefix too), and
    each course's formgrader from the port it names ``formgrader`` (or a free one); without it
    the studio runs no grader (``HUB_GRADER=off``): most tests do not grade, and its workers
    cost CPU. ``tutor``: the hub also runs the tutor service (offline unless ``extra_env`` gives
    it a model), on the port ``preferred_ports`` names ``tutor``; without it, ``HUB_TUTOR=off``.
    ``before_start``: called with the studio's (empty) var dir and environment before the
    launcher starts, to put state there (a backup restored into a fresh studio); the LMS's
    database is the migrated template only when it left none."""
    provisioned = subprocess.run(  # idempotent: dockerd + pls-notebook:latest
        [str(ROOT / ".ci" / "provision"), "docker", "images"],
        cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False,
    )
    assert provisioned.returncode == 0, f"provisioning:\n{provisioned.stdout}\n{provisioned.stderr}"
    prefix, preferred_ports = for_this_worker(prefix, preferred_ports)
    network = f"{prefix}-notebooks"
    for name in under_prefix("container", prefix, grader):  # a studio of an earlier run
        docker("rm", "-f", name, check=False)
    for volume in under_prefix("volume", prefix):
        docker("volume", "rm", "-f", volume, check=False)
    taken: set[int] = set()
    ports = {}
    for name, preferred in preferred_ports.items():
        ports[name] = _free_port(preferred, taken)
        taken.add(ports[name])
    browse_localhost_like_a_browser()  # learners' servers: http://<user>.localhost:<hub port>/
    lms_url = f"http://127.0.0.1:{ports['lms']}"
    hub_url = f"http://localhost:{ports['hub']}"  # another host than the LMS's, as make up
    var_dir = tmp_path_factory.mktemp(f"{prefix}-var")
    env = studio_env()
    env.update(
        STUDIO_VAR_DIR=str(var_dir),
        LMS_BIND=f"127.0.0.1:{ports['lms']}",
        LMS_PUBLIC_URL=lms_url,
        LMS_WORKERS="2",
        HUB_BIND_URL=f"http://127.0.0.1:{ports['hub']}",
        HUB_PUBLIC_URL=hub_url,
        HUB_PROXY_API_URL=f"http://127.0.0.1:{ports['proxy_api']}",
        HUB_SPAWNER="docker",
        HUB_DOCKER_NETWORK=network,
        HUB_DOCKER_PREFIX=prefix,
        HUB_IDLE_TIMEOUT="0",
        HUB_GRADER="off",
        HUB_TUTOR="off",
    )
    if grader:
        # Each course's formgrader on a port of its own from here (another studio may run).
        formgrader_port = _free_port(preferred_ports.get("formgrader", ports["grader"] + 10), taken)
        env.update(
            HUB_GRADER="managed",
            HUB_GRADER_URL=f"http://127.0.0.1:{ports['grader']}",
            HUB_FORMGRADER_PORT=str(formgrader_port),
            GRADER_SANDBOX_PREFIX=f"{prefix}-grading",
        )
    if tutor:
        env.update(HUB_TUTOR="managed", HUB_TUTOR_URL=f"http://127.0.0.1:{ports['tutor']}")
    env.update(extra_env)
    env.setdefault("HUB_API_BIND_URL", _hub_api_bind_url(env, ports["hub_api"]))
    if env["HUB_SPAWNER"] == "swarm":
        env.setdefault("HUB_CONNECT_URL", env["HUB_API_BIND_URL"])
    if before_start is not None:
        before_start(var_dir, env)
    if not lms_database(var_dir).exists():
        shutil.copyfile(sqlite_template(env), lms_database(var_dir))
    log = var_dir / "studio.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(PYTHON), "-m", "launcher"], cwd=ROOT, env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_until_answers(f"{lms_url}/.well-known/openid-configuration", process, log,
                            START_SECONDS)
        _wait_until_answers(f"{hub_url}/hub/health", process, log, START_SECONDS)
        passwords = json.loads((var_dir / "secrets" / "demo-accounts.json").read_text())
        studio = Studio(lms_url, hub_url, var_dir, passwords, prefix)
        yield OwnStudio(studio, process, prefix, network, log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGCONT)  # a test may have paused the supervisor
        _stop(process)
        remove_swarm_services(prefix)
        left = under_prefix("container", prefix, grader)
        for name in left:
            docker("rm", "-f", name, check=False)
        for volume in under_prefix("volume", prefix):
            docker("volume", "rm", "-f", volume, check=False)
        docker("network", "rm", network, check=False)
        print(f"{prefix} studio log: {log}", file=sys.stderr)
    if expect_clean_stop:
        assert not left, f"the launcher left containers behind: {sorted(left)}"


