"""``make up``: the whole studio on this machine, in the foreground, until Ctrl-C.

Starts the LMS (``python -m lms.up``: migrations, demo accounts and course, gunicorn) and, once it
answers, its background worker (``python -m lms worker``: notification emails, written as files
under ``<var>/mail``, and the daily digest) and JupyterHub with its proxy and the services it
manages (the idle culler, the grader and its workers, the tutor). The parts share secrets
generated once (:data:`SHARED_SECRETS`): the LMS registers the hub as its OIDC client, gives the
grader's and the tutor's service accounts their tokens, and calls the grader for instructors and
reads the tutor's log with its own hub token.
The spawner is Docker when an engine answers (the learner image is built first, cached) and the
local process spawner otherwise, and it says which. Ctrl-C (or SIGTERM) stops the hub, its
learners' servers, the LMS's worker and the LMS.

This module starts the parts as separate processes; it imports none of them (see
docs/architecture.md). The few variables it reads itself are :class:`LauncherSettings`; the
parts read theirs (the same ``HUB_*`` and ``STUDIO_*`` among them) and check them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import Field

from servicekit.docker_engine import docker_engine_answers
from servicekit.secrets import generated_secret
from servicekit.settings import AnyCase, EnvSettings, Folder, Url

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STOP_SECONDS = 45  # JupyterHub stops services (up to ~15 s) and then every learner's server

Lowercase = Annotated[str, AnyCase]


class LauncherSettings(EnvSettings):
    """What ``make up`` itself reads: where the parts answer, which spawner and services the hub
    runs (the hub checks the values; the launcher only needs to know "docker", "auto", "off")."""

    # where every part keeps its state
    var_dir: Folder = Field(
        REPO_ROOT / "var", validation_alias="STUDIO_VAR_DIR")
    spawner: Lowercase = Field("auto", validation_alias="HUB_SPAWNER")
    # where the hub's proxy listens (the launcher waits for it there) ...
    hub_url: Url = Field("http://127.0.0.1:8001", validation_alias="HUB_BIND_URL")
    # ... and the hub's public URL, whose host routes the hub's own paths (the LMS links and
    # calls there); learners' servers are on subdomains of it
    hub_public_url: Url = Field("http://localhost:8001", validation_alias="HUB_PUBLIC_URL")
    lms_url: Url = Field("http://127.0.0.1:8000", validation_alias="LMS_PUBLIC_URL")
    # the LMS's SMTP server; empty: the LMS writes its email to files under <var>/mail
    lms_email_host: str = Field("", validation_alias="LMS_EMAIL_HOST")
    grader: Lowercase = Field("managed", validation_alias="HUB_GRADER")
    tutor: Lowercase = Field("managed", validation_alias="HUB_TUTOR")


def log(message: str) -> None:
    print(f"\033[1;34m==>\033[0m {message}", flush=True)


def wait_until_answers(url: str, process: subprocess.Popen, what: str, timeout: float) -> None:
    """Poll ``url`` until it answers 200; fail if ``process`` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited (code {process.returncode}) before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:  # refused, or an HTTP error while the proxy has no route yet
            pass
        time.sleep(0.5)
    raise SystemExit(f"{what} did not answer {url} within {timeout:.0f} s")


def choose_spawner(settings: LauncherSettings) -> str:
    """Docker when an engine answers (and the learner image builds), else the local spawner."""
    wanted = settings.spawner
    if wanted == "auto":
        wanted = "docker" if docker_engine_answers() else "local"
    if wanted == "docker":
        log("Docker engine answers: learners get hardened containers (building the image)")
        subprocess.run([str(REPO_ROOT / "images" / "build"), "notebook"], check=True)  # noqa: S603
    else:
        log("No Docker engine: learners' servers run as LOCAL PROCESSES, NOT ISOLATED "
            "(development only)")
    return wanted


# Secrets two parts of the studio share: file under var/secrets/ -> (the variables naming it,
# its random bytes).
SHARED_SECRETS = {
    # the hub's OIDC client secret: the LMS registers the hub with it
    "hub-oauth-client-secret": (("HUB_OAUTH_CLIENT_SECRET_FILE",), 32),
    # the grader's LMS API token: the LMS sets it on the grader's service account (an API
    # token key of the LMS holds at most 40 characters: 20 bytes in hex)
    "lms-grader-token": (("LMS_GRADER_TOKEN_FILE",), 20),
    # the tutor's LMS API token: the LMS sets it on the tutor's service account, the tutor
    # reads each assignment's policy and hints with it (20 bytes in hex, as the grader's)
    "lms-tutor-token": (("LMS_TUTOR_TOKEN_FILE",), 20),
    # the LMS's hub token: the hub registers the `lms` service with it, the LMS calls the grader
    # and reads the tutor's log
    "hub-lms-service-token": (("HUB_LMS_SERVICE_TOKEN_FILE", "LMS_HUB_SERVICE_TOKEN_FILE"), 32),
    # the metrics token: Prometheus reads every part's /metrics with it (the LMS, the grader and
    # the tutor check it, the hub registers it as the `prometheus` service's)
    "metrics-token": (("STUDIO_METRICS_TOKEN_FILE",), 32),
}


def studio_environment() -> dict[str, str]:
    """The environment of the parts: the shared secrets generated once under var/secrets/ and
    named by file, the hub's public URL for the LMS (its links, the hub's OIDC callback), and
    where the LMS reaches the grader and the tutor (through the hub's proxy, by the hub's
    public host: the proxy routes by host)."""
    env = dict(os.environ)
    settings = LauncherSettings.from_env(env)
    for name, (variables, nbytes) in SHARED_SECRETS.items():
        secret_file = settings.var_dir / "secrets" / name
        generated_secret(secret_file, nbytes)
        for variable in variables:
            env.setdefault(variable, str(secret_file))
    env.setdefault("HUB_OAUTH_CLIENT_ID", "jupyterhub")
    env.setdefault("HUB_OAUTH_CALLBACK_URL", f"{settings.hub_public_url}/hub/oauth_callback")
    env.setdefault("STUDIO_HUB_URL", settings.hub_public_url)
    env.setdefault("LMS_SEED_DEMO", "1")  # the demo accounts, whose logins print_summary shows
    if settings.grader != "off":
        env.setdefault("LMS_GRADER_API_URL", f"{settings.hub_public_url}/services/grader/api")
    if settings.tutor != "off":
        env.setdefault("LMS_TUTOR_API_URL", f"{settings.hub_public_url}/services/tutor/api")
    if settings.grader != "off" or settings.tutor != "off":  # the hub's service lms exists
        env.setdefault("LMS_HUB_API_URL", f"{settings.hub_public_url}/hub/api")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    # The parts import this checkout's packages: `jupyterhub -f jupyterhub_config.py` runs from
    # the venv's bin/, so without it `hub` would be whichever checkout the venv was installed
    # from (a shared venv, a git worktree).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO_ROOT), env.get("PYTHONPATH"))))
    return env


def mail_dir(settings: LauncherSettings) -> Path:
    """Where the LMS writes its email when no SMTP server is set (``LMS_EMAIL_HOST``): the LMS's
    file-based email backend writes one file per message there."""
    return settings.var_dir / "mail"


def print_summary(settings: LauncherSettings, spawner: str) -> None:
    accounts_file = settings.var_dir / "secrets" / "demo-accounts.json"
    accounts = json.loads(accounts_file.read_text()) if accounts_file.exists() else {}
    mail = (f"sent by {settings.lms_email_host}" if settings.lms_email_host
            else f"written to files in {mail_dir(settings)}/")
    print(f"\n  Python Learning Studio is up (spawner: {spawner})\n"
          f"    LMS:        {settings.lms_url}/\n    JupyterHub: {settings.hub_public_url}/\n"
          f"    Email:      {mail}\n"
          "  Demo logins (username / password):")
    for username, password in accounts.items():
        print(f"    {username:<12} {password}")
    print("  Ctrl-C stops everything.\n", flush=True)


def keep_files_private(env: Mapping[str, str]) -> None:
    """Local fallback only: learners' servers run as accounts of their own on this machine
    (hub/spawners/local.py), so what the studio writes under the var dir (the LMS's and the
    hub's SQLite databases, with sessions, tokens and OAuth secrets) must be unreadable to
    others. New files get mode 0600 (umask 077, inherited by the LMS and the hub); databases
    written by an earlier run are closed up. The folders on the way to learners' own folders
    (``<var>/hub/users/<name>``) stay passable but not listable (0711): each learner's account
    must reach its folder."""
    os.umask(0o077)
    var = LauncherSettings.from_env(env).var_dir
    for folder in (var, var / "hub"):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o711)
    for folder in (var, var / "hub", var / "grader", var / "tutor"):
        for database in folder.glob("*.sqlite*"):
            database.chmod(0o600)


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start a part of the studio in its own session, so a terminal's Ctrl-C reaches only this
    supervisor, which then stops the parts in order."""
    return subprocess.Popen(command, env=env, cwd=REPO_ROOT, start_new_session=True)  # noqa: S603


def stop(processes: list[subprocess.Popen]) -> None:
    """Stop the parts last-started first (the hub stops learners' servers and its proxy before
    the LMS goes), then end whatever is left in their process groups."""
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                log(f"{process.args[0]} did not stop within {STOP_SECONDS} s: killing it")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the proxy, the culler, stray workers
        process.wait()


def _stop_on_signal(signum, frame) -> None:
    raise KeyboardInterrupt  # every stop signal stops the studio the same way as Ctrl-C


def main(argv: list[str] | None = None) -> int:
    """``make up``. It takes no arguments (every setting is an environment variable,
    docs/configuration.md); ``--help`` says so instead of starting the studio."""
    argparse.ArgumentParser(
        prog="python -m launcher",
        description="Run the whole studio on this machine in the foreground until Ctrl-C "
        "(make up). Settings come from the environment: see docs/configuration.md.",
    ).parse_args(argv)
    env = studio_environment()
    settings = LauncherSettings.from_env(env)
    spawner = choose_spawner(settings)
    env["HUB_SPAWNER"] = spawner
    if spawner == "local":
        keep_files_private(env)
    processes: list[subprocess.Popen] = []
    # Installed explicitly: a shell's background job inherits SIGINT ignored, and so would the
    # parts (a handler, unlike an ignore, is reset to the default in the children).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)
    try:
        lms = start([sys.executable, "-m", "lms.up"], env)
        processes.append(lms)
        wait_until_answers(f"{settings.lms_url}/.well-known/openid-configuration", lms,
                           "The LMS", 300)
        # after the LMS answers: its migrations (the task queue's table among them) have run
        processes.append(start([sys.executable, "-m", "lms", "worker"], env))
        # make up stops learners' servers with the hub; production hubs leave them running.
        hub = start(
            [str(BIN / "jupyterhub"), "-f", "jupyterhub_config.py",
             "--JupyterHub.cleanup_servers=True"],
            env,
        )
        processes.append(hub)
        wait_until_answers(f"{settings.hub_url}/hub/health", hub, "JupyterHub", 120)
        print_summary(settings, spawner)
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        log("a part of the studio stopped; stopping the rest")
        return 1
    except KeyboardInterrupt:
        log("stopping the studio")
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
