"""The local development spawner: rlimits, a folder per user, materials, collision-free ports.

These start real child processes (a sleeping Python instead of Jupyter) through the spawner's
own start(), and read their limits from /proc.
"""

import asyncio
import logging
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from hub.profiles import profiles_from_env
from hub.spawners import StudioLocalSpawner
from hub.spawners.local import count_tasks_of_uid, rlimits_preexec
from tests.unit.hub.conftest import COURSES

GiB = 1024**3
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def proc_limits(pid):
    limits = {}
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]:
        name = line[:26].strip()
        soft, hard = line[26:].split()[:2]
        limits[name] = (soft, hard)
    return limits


@pytest.fixture
def make_spawner(hub, tmp_path, monkeypatch):
    created = []
    monkeypatch.setattr(StudioLocalSpawner, "_allocators", {})

    def make(user, **config):
        spawner = StudioLocalSpawner(
            user=user,
            hub=hub,
            api_token=f"token-of-{user.name}",
            oauth_client_id=f"jupyterhub-user-{user.name}",
            courses_dir=str(COURSES),
            users_dir=str(tmp_path / "users"),
            cmd=SLEEPER,
            **config,
        )
        spawner.resource_profiles.profiles = profiles_from_env({})
        created.append(spawner)
        return spawner

    yield make
    for spawner in created:
        if spawner.pid:
            asyncio.run(spawner.stop(now=True))


def test_preexec_sets_memory_process_and_cpu_limits_in_the_child(tmp_path):
    limits = {
        resource.RLIMIT_AS: GiB,
        resource.RLIMIT_NPROC: 4000,
        resource.RLIMIT_CPU: 90,
    }
    child = subprocess.Popen(SLEEPER, preexec_fn=rlimits_preexec(str(tmp_path), limits))
    try:
        found = proc_limits(child.pid)
        assert found["Max address space"] == (str(GiB), str(GiB))
        assert found["Max processes"] == ("4000", "4000")
        assert found["Max cpu time"] == ("90", "90")
        assert Path(f"/proc/{child.pid}/cwd").resolve() == tmp_path.resolve()
    finally:
        child.kill()
        child.wait()


def test_learner_server_runs_with_the_profiles_limits(make_spawner, make_user, tmp_path, caplog):
    spawner = make_spawner(make_user("alice", ["nbgrader-python-101"]), cpu_seconds=120)
    with caplog.at_level(logging.WARNING):
        ip, port = asyncio.run(spawner.start())
    assert "not isolated — development only" in caplog.text
    limits = proc_limits(spawner.pid)
    assert limits["Max address space"][0] == str(GiB)
    assert limits["Max cpu time"][0] == "120"
    assert int(limits["Max processes"][0]) >= 512
    home = tmp_path / "users" / "alice"
    assert Path(f"/proc/{spawner.pid}/cwd").resolve() == home.resolve()
    assert home.stat().st_mode & 0o077 == 0
    assert (home / "work" / "python-101" / "lessons" / "01-basics.ipynb").is_file()
    assert ip == "127.0.0.1" and spawner.port_allocator.owner(port) == "alice"


def test_instructor_server_gets_two_gib(make_spawner, make_user):
    spawner = make_spawner(make_user("ines", ["formgrade-python-101"]))
    asyncio.run(spawner.start())
    assert proc_limits(spawner.pid)["Max address space"][0] == str(2 * GiB)


def test_process_limit_is_the_profile_on_top_of_what_the_user_runs(make_spawner, make_user):
    spawner = make_spawner(make_user("alice", ["nbgrader-python-101"]))
    plan = spawner.spawn_plan()
    nproc = spawner.rlimits(plan)[resource.RLIMIT_NPROC]
    assert nproc - count_tasks_of_uid(os.getuid()) == pytest.approx(512, abs=20)


def test_local_env_passes_no_hub_secrets(make_spawner, make_user, monkeypatch):
    monkeypatch.setenv("HUB_OAUTH_CLIENT_SECRET", "oauth-secret")
    monkeypatch.setenv("CONFIGPROXY_AUTH_TOKEN", "proxy-secret")
    spawner = make_spawner(make_user("alice", ["nbgrader-python-101"]))
    asyncio.run(spawner.start())
    environ = Path(f"/proc/{spawner.pid}/environ").read_bytes().decode()
    assert "oauth-secret" not in environ and "proxy-secret" not in environ
    assert "JUPYTERHUB_API_TOKEN=token-of-alice" in environ


def test_materials_copy_keeps_a_learners_edits(make_spawner, make_user, tmp_path):
    lesson = tmp_path / "users" / "alice" / "work" / "python-101" / "lessons" / "01-basics.ipynb"
    lesson.parent.mkdir(parents=True)
    lesson.write_text("my edits")
    asyncio.run(make_spawner(make_user("alice", ["nbgrader-python-101"])).start())
    assert lesson.read_text() == "my edits"


def test_simultaneous_spawns_never_share_a_port(make_spawner, make_user):
    spawners = [make_spawner(make_user(f"learner{i}", ["nbgrader-python-101"])) for i in range(12)]

    async def start_all():
        return await asyncio.gather(*(spawner.start() for spawner in spawners))

    ports = [port for _, port in asyncio.run(start_all())]
    assert len(set(ports)) == len(spawners)


def test_port_is_released_when_the_server_stops(make_spawner, make_user):
    spawner = make_spawner(make_user("alice", ["nbgrader-python-101"]))
    _, port = asyncio.run(spawner.start())
    asyncio.run(spawner.stop(now=True))
    spawner.clear_state()
    assert spawner.port_allocator.owner(port) is None


def test_restored_server_keeps_its_port_after_a_hub_restart(make_spawner, make_user):
    first = make_spawner(make_user("alice", ["nbgrader-python-101"]))
    _, port = asyncio.run(first.start())
    state = first.get_state()
    StudioLocalSpawner._allocators.clear()  # a new hub process
    restored = make_spawner(make_user("alice", ["nbgrader-python-101"]))
    restored.load_state(state)
    assert restored.port == port
    newcomer = make_spawner(make_user("bob", ["nbgrader-python-101"]))
    newcomer.port_allocator.allocate("bob", hint=port - newcomer.port_range_start)
    assert newcomer.port_allocator.owner(port) == "alice"
    restored.pid = 0  # the fixture stops the process through `first`


def test_runs_jupyterhub_singleuser_from_the_hubs_python(hub, make_user):
    spawner = StudioLocalSpawner(user=make_user("alice"), hub=hub)
    assert spawner.cmd == [sys.executable, "-m", "jupyterhub.singleuser"]
    assert ("--allow-root" in spawner.get_args()) == (os.geteuid() == 0)
