"""The hub's own configuration (``jupyterhub_config.py``) starts the tutor as a managed service
with the model's settings, routes ``/services/tutor/`` to it, and keeps its own secrets."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.service_hub import ROOT, clean_env, free_port, stop_process, wait_until_answers

pytestmark = [pytest.mark.slow]


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def environment_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


@pytest.fixture(scope="module")
def studio_hub(tmp_path_factory) -> Iterator[tuple[str, subprocess.Popen]]:
    folder = tmp_path_factory.mktemp("managed")
    ports = {name: free_port() for name in ("hub", "api", "proxy_api", "tutor")}
    env = clean_env("HUB_", "LMS_", "TUTOR_", "OPENAI_", "STUDIO_", "GRADER_")
    env.update(
        STUDIO_VAR_DIR=str(folder), HUB_SPAWNER="local", HUB_GRADER="off", HUB_IDLE_TIMEOUT="0",
        HUB_BIND_URL=f"http://127.0.0.1:{ports['hub']}",
        HUB_PUBLIC_URL=f"http://localhost:{ports['hub']}",  # the tutor's route: the hub's host
        HUB_API_BIND_URL=f"http://127.0.0.1:{ports['api']}",
        HUB_PROXY_API_URL=f"http://127.0.0.1:{ports['proxy_api']}",
        HUB_TUTOR_URL=f"http://127.0.0.1:{ports['tutor']}",
        HUB_OAUTH_CLIENT_SECRET="the-hubs-own-secret-0123456789",
        OPENAI_API_KEY="sk-only-for-the-tutor", TUTOR_MODEL="some-model",
        TUTOR_DAILY_QUOTA="42",
    )
    log = folder / "hub.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "jupyterhub"), "-f", str(ROOT / "jupyterhub_config.py")],
            cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://localhost:{ports['hub']}"
    try:
        wait_until_answers(f"{url}/services/tutor/api/health", process, log)
        yield url, process
    finally:
        stop_process(process)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def test_the_hub_starts_the_tutor_and_routes_to_it(studio_hub):
    url, _process = studio_hub
    assert requests.get(f"{url}/services/tutor/", timeout=30).json() == {"status": "ok"}
    asked = requests.post(f"{url}/services/tutor/api/ask", json={}, timeout=30)
    assert asked.status_code == 401  # the hub vouches for callers; nobody did


def test_the_managed_tutor_gets_the_model_settings_and_none_of_the_hubs_secrets(studio_hub):
    _url, process = studio_hub
    tutors = [pid for pid in children(process.pid)
              if b"tutor" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(tutors) == 1
    env = environment_of(tutors[0])
    assert env["OPENAI_API_KEY"] == "sk-only-for-the-tutor"
    assert (env["TUTOR_MODEL"], env["TUTOR_DAILY_QUOTA"]) == ("some-model", "42")
    assert env["JUPYTERHUB_SERVICE_NAME"] == "tutor"
    assert "HUB_OAUTH_CLIENT_SECRET" not in env and "the-hubs-own-secret-0123456789" not in str(env)
