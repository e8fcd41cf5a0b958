"""`make up` installs and starts the Docker engine first (`.ci/provision engine`), so the first
run gives learners their containers; the local fallback only when asked for or when no engine
can be had, said loudly (issue 17, point 1). Run with stand-ins for docker, dockerd and apt-get
on a PATH of their own."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ["bash", "tr", "seq", "sleep", "mkdir", "nohup", "dirname", "cat"]


def stand_ins(folder: Path, *, engine_answers: bool, installable: bool) -> Path:
    """A PATH with the few tools the script needs and recording stand-ins for Docker's and
    apt's commands."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        (bin_dir / tool).symlink_to(subprocess.check_output(["which", tool], text=True).strip())
    calls = folder / "calls"
    script = {
        "docker": f"echo docker \"$@\" >> {calls}; exit {0 if engine_answers else 1}",
        "apt-get": f"echo apt-get \"$@\" >> {calls}; exit {0 if installable else 100}",
    }
    if engine_answers:
        script["dockerd"] = f"echo dockerd >> {calls}"
    for name, body in script.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return bin_dir


def provision_engine(tmp_path: Path, spawner: str | None, **kinds) -> tuple[int, str, str]:
    bin_dir = stand_ins(tmp_path, **kinds)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    if spawner is not None:
        env["HUB_SPAWNER"] = spawner
    run = subprocess.run(
        [str(bin_dir / "bash"), str(ROOT / ".ci" / "provision"), "engine"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    calls = tmp_path / "calls"
    return run.returncode, run.stderr, calls.read_text() if calls.exists() else ""


def test_make_up_provisions_the_engine_before_starting_the_studio():
    dry_run = subprocess.run(
        ["make", "-n", "up"], cwd=ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, "MAKEFLAGS": ""},
    ).stdout

    assert ".ci/provision proxy engine" in dry_run
    assert dry_run.index(".ci/provision proxy engine") < dry_run.index("-m launcher")


def test_a_running_engine_is_used_as_it_is(tmp_path):
    status, said, calls = provision_engine(tmp_path, None, engine_answers=True, installable=True)

    assert status == 0
    assert calls == "docker info\n"
    assert said == ""


def test_hub_spawner_local_skips_the_engine_and_says_so(tmp_path):
    status, said, calls = provision_engine(
        tmp_path, "Local", engine_answers=True, installable=True
    )

    assert status == 0
    assert calls == ""
    assert "HUB_SPAWNER=local" in said and "local processes" in said


@pytest.mark.parametrize(("spawner", "status"), [(None, 0), ("auto", 0), ("docker", 1)])
def test_an_engine_that_cannot_be_installed_is_said_loudly(tmp_path, spawner, status):
    returned, said, calls = provision_engine(
        tmp_path, spawner, engine_answers=False, installable=False
    )

    assert returned == status
    assert "apt-get install -y -qq --no-install-recommends docker.io" in calls
    assert "NO DOCKER ENGINE" in said
    if status:
        assert "HUB_SPAWNER=docker needs a Docker engine" in said
    else:
        assert "WITHOUT ISOLATION" in said
