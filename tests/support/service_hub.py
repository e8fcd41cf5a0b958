"""A real JupyterHub for testing one of the studio's hub services on its own.

Why not the whole studio (``tests/support/studio.py``): a service meets the hub only through
the hub's REST API (``/hub/api/user`` for a token, ``/hub/api/oauth2/*`` for a browser) and its
proxy. The LMS, OIDC and Docker add minutes and nothing to those checks. So
:func:`service_hub` starts ``jupyterhub`` (with its real configurable-http-proxy) on free ports,
with the DummyAuthenticator, the course groups the LMS would mirror, the services and roles a
test names, and a ``tests`` service holding the admin role (to make users' tokens). The service
processes themselves are the test's to start and stop (:func:`start_process`), pointed at the
hub with the ``JUPYTERHUB_*`` variables :meth:`ServiceHub.service_env` gives them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
START_SECONDS = 60
ADMIN_TOKEN = "service-hub-admin-token-for-tests-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Lines worth a failure message in a service's log: tracebacks, and the errors (E) and critical
# messages (C) of the tornado-style logs (JupyterHub, the grader, the tutor) and of Python's
# logging ("ERROR", "CRITICAL").
WORTH_SHOWING = re.compile(r"^(\[[EC] |Traceback|\S*Error\b|.*\b(ERROR|CRITICAL)\b)")


def log_excerpt(log: Path, tail: int = 3000) -> str:
    """What a failure message shows of a service's log: its error lines and tracebacks (the
    last 40 such lines, which a chatty neighbour, e.g. the proxy retrying a hub that died,
    would push out of a plain tail), then the log's last ``tail`` characters."""
    text = log.read_text(errors="replace") if log.exists() else ""
    lines = text.splitlines()
    shown: list[int] = []
    for index, line in enumerate(lines):
        if (not shown or index > shown[-1]) and WORTH_SHOWING.match(line):
            shown.append(index)
            if line.startswith("Traceback"):  # its body, indented, down to its error line
                for following in range(index + 1, min(index + 40, len(lines))):
                    shown.append(following)
                    if not lines[following].startswith(" "):
                        break
    worth = [lines[index] for index in shown]
    errors = "\n".join(worth[-40:])
    return (f"-- errors in the log --\n{errors}\n" if errors else "") + (
        f"-- the log's end --\n{text[-tail:]}")


def wait_until_answers(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args} exited ({process.returncode}):\n" + log_excerpt(log))
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=3, allow_redirects=False).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {START_SECONDS} s:\n" + log_excerpt(log))


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def clean_env(*dropped_prefixes: str) -> dict[str, str]:
    """This process's environment without the hub's variables and ``dropped_prefixes``."""
    drop = ("JUPYTERHUB_", "CONFIGPROXY_", *dropped_prefixes)
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


@dataclass(frozen=True)
class Service:
    """A hub service the hub routes to (``/services/<name>/``) and gives an OAuth client."""

    name: str
    token: str
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class ServiceHub:
    url: str  # the proxy: what browsers and learners' servers use
    api_url: str
    folder: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, username: str) -> str:
        """A hub API token of ``username``'s own (as a learner's server holds one)."""
        if username not in self.tokens:
            response = requests.post(
                f"{self.api_url}/users/{username}/tokens",
                headers={"Authorization": f"token {ADMIN_TOKEN}"},
                json={"note": "service tests", "expires_in": 3600}, timeout=30,
            )
            assert response.status_code == 201, response.text
            self.tokens[username] = response.json()["token"]
        return self.tokens[username]

    def service_env(self, service: Service) -> dict[str, str]:
        """What the hub gives a service it starts, for a service the test starts itself."""
        return {
            "JUPYTERHUB_API_TOKEN": service.token,
            "JUPYTERHUB_API_URL": self.api_url,
            "JUPYTERHUB_SERVICE_NAME": service.name,
            "JUPYTERHUB_SERVICE_PREFIX": f"/services/{service.name}/",
            "JUPYTERHUB_SERVICE_URL": service.url,
            "JUPYTERHUB_CLIENT_ID": f"service-{service.name}",
            "JUPYTERHUB_OAUTH_CALLBACK_URL": f"/services/{service.name}/oauth_callback",
            "JUPYTERHUB_BASE_URL": "/",
        }


CONFIG = """
c = get_config()  # noqa
c.JupyterHub.bind_url = {proxy_url!r}
c.JupyterHub.hub_bind_url = {hub_api_url!r}
c.ConfigurableHTTPProxy.api_url = {proxy_api_url!r}
c.ConfigurableHTTPProxy.pid_file = {pid_file!r}
c.JupyterHub.db_url = {db_url!r}
c.JupyterHub.cookie_secret_file = {cookie_file!r}
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.admin_users = {{"root"}}
c.JupyterHub.services = json.loads({services!r})
c.JupyterHub.load_groups = json.loads({groups!r})
c.JupyterHub.load_roles = json.loads({roles!r})
"""


@contextlib.contextmanager
def service_hub(
    folder: Path,
    services: list[Service],
    groups: Mapping[str, list[str]],
    roles: list[dict],
    token_only_services: Mapping[str, str] | None = None,
    managed_services: list[dict] | None = None,
) -> Iterator[ServiceHub]:
    """JupyterHub routing ``services`` (run by the test), with ``groups`` and ``roles``;
    ``token_only_services`` are services without a URL (name -> API token), such as ``lms``;
    ``managed_services`` are services the hub starts and stops itself, as written in
    ``c.JupyterHub.services`` (with ``command``: ``hub.services.formgrader_service``)."""
    ports = {name: free_port() for name in ("proxy", "proxy_api", "hub_api")}
    # The test starts the services after the hub: the hub must not wait for them (timeout).
    listed = [{"name": s.name, "url": s.url, "api_token": s.token, "oauth_no_confirm": True,
               "timeout": 1} for s in services]
    listed += [{"name": name, "api_token": token}
               for name, token in (token_only_services or {}).items()]
    listed += list(managed_services or [])
    listed.append({"name": "tests", "api_token": ADMIN_TOKEN})
    roles = [*roles, {"name": "admin", "services": ["tests"]}]
    (folder / "jupyterhub_config.py").write_text("import json\n" + CONFIG.format(
        proxy_url=f"http://127.0.0.1:{ports['proxy']}",
        hub_api_url=f"http://127.0.0.1:{ports['hub_api']}",
        proxy_api_url=f"http://127.0.0.1:{ports['proxy_api']}",
        pid_file=str(folder / "proxy.pid"),
        db_url=f"sqlite:///{folder / 'hub.sqlite'}",
        cookie_file=str(folder / "cookie-secret"),
        services=json.dumps(listed),
        groups=json.dumps({name: {"users": users} for name, users in groups.items()}),
        roles=json.dumps(roles),
    ))
    log = folder / "hub.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "jupyterhub"), "-f", "jupyterhub_config.py"],
            cwd=folder, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env=clean_env(),
        )
    try:
        url = f"http://127.0.0.1:{ports['proxy']}"
        wait_until_answers(f"{url}/hub/health", process, log)
        yield ServiceHub(url, f"http://127.0.0.1:{ports['hub_api']}/hub/api", folder)
    finally:
        stop_process(process)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the proxy it started


def start_process(command: list[str], env: dict[str, str], log: Path,
                  health_url: str) -> subprocess.Popen:
    """Start a service's process (from the repository root) and wait until it answers."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    wait_until_answers(health_url, process, log)
    return process
