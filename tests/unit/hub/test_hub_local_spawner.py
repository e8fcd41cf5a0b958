"""The local development spawner: an OS account per user when the hub is root, rlimits, a folder
per user, materials, collision-free ports.

These start real child processes (a sleeping program instead of Jupyter) through the spawner's
own start(), and read their identity and limits from /proc. The account tests need root, as
`make test` runs: they create the system accounts ``pls-unit-alice`` and ``pls-unit-bob`` and
delete them at the end. Their folders live in a temporary folder outside pytest's own (which is
private to root), and the sleeping program is ``/bin/sleep``: an unprivileged account must be
able to reach both.
"""

import asyncio
import grp
import logging
import os
import pwd
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests

from hub.errors import SpawnFailed
from hub.profiles import profiles_from_env
from hub.spawners import StudioLocalSpawner, local
from hub.spawners.local import account_name, count_tasks_of_uid, server_preexec
from tests.unit.hub.conftest import COURSES

GiB = 1024**3
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
SLEEP = ["/bin/sleep", "60"]  # reachable by any account
ACCOUNT_TEMPLATE = "pls-unit-{username}"
ACCOUNT_USERS = ("alice", "bob")
ENSURE_ACCOUNT = StudioLocalSpawner.ensure_account  # make_spawner replaces it


def proc_limits(pid):
    limits = {}
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]:
        name = line[:26].strip()
        soft, hard = line[26:].split()[:2]
        limits[name] = (soft, hard)
    return limits


def proc_status(pid) -> dict[str, list[int]]:
    """The Uid, Gid and Groups lines of /proc/<pid>/status."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"Uid", "Gid", "Groups"}:
            found[key] = [int(part) for part in value.split()]
    return found


def proc_environ(pid) -> dict[str, str]:
    entries = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(entry.split("=", 1) for entry in entries if "=" in entry)


@pytest.fixture
def make_spawner(hub, tmp_path, monkeypatch):
    """Spawners of a hub that does not run as root: servers run as the hub's own user."""
    created = []
    monkeypatch.setattr(StudioLocalSpawner, "_allocators", {})
    monkeypatch.setattr(local, "hub_is_root", lambda: False)

    def no_account(self):
        raise AssertionError("a hub that is not root makes no accounts")

    monkeypatch.setattr(StudioLocalSpawner, "ensure_account", no_account)

    def make(user, **config):
        config.setdefault("users_dir", str(tmp_path / "users"))
        config.setdefault("cmd", SLEEPER)
        config.setdefault("ready_poll_interval", 0)  # the sleeper serves nothing
        spawner = StudioLocalSpawner(
            user=user,
            hub=hub,
            api_token=f"token-of-{user.name}",
            oauth_client_id=f"jupyterhub-user-{user.name}",
            courses_dir=str(COURSES),
            **config,
        )
        spawner.resource_profiles.profiles = profiles_from_env({})
        created.append(spawner)
        return spawner

    yield make
    for spawner in created:
        if spawner.pid:
            asyncio.run(spawner.stop(now=True))


# -- as root: an OS account per user ----------------------------------------------------------


@pytest.fixture(scope="module")
def unit_accounts():
    """The names of the accounts the account tests may create; deleted at the end."""
    names = [account_name(ACCOUNT_TEMPLATE, user) for user in ACCOUNT_USERS]
    yield names
    for name in names:
        subprocess.run(["userdel", name], capture_output=True, check=False)


@pytest.fixture
def reachable_dir():
    """A temporary folder any account may pass through (pytest's own is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="pls-unit-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def make_account_spawner(make_spawner, reachable_dir, unit_accounts, monkeypatch):
    """Spawners of a hub running as root: each user's server runs as ``pls-unit-<name>``."""
    monkeypatch.setattr(local, "hub_is_root", lambda: True)
    monkeypatch.setattr(StudioLocalSpawner, "ensure_account", ENSURE_ACCOUNT)

    def make(user, **config):
        config.setdefault("users_dir", str(reachable_dir / "users"))
        config.setdefault("cmd", SLEEP)
        config.setdefault("account_template", ACCOUNT_TEMPLATE)
        return make_spawner(user, **config)

    return make


def test_as_root_each_user_gets_a_system_account_of_their_own(make_account_spawner, make_user):
    alice = make_account_spawner(make_user("alice")).ensure_account()
    bob = make_account_spawner(make_user("bob")).ensure_account()
    assert alice.pw_name == "pls-unit-alice"
    assert 0 < alice.pw_uid < 1000 and alice.pw_uid != bob.pw_uid  # system accounts, distinct
    assert alice.pw_shell == "/usr/sbin/nologin"
    assert "alice" in alice.pw_gecos
    assert grp.getgrgid(alice.pw_gid).gr_name == "pls-unit-alice"
    assert os.getgrouplist(alice.pw_name, alice.pw_gid) == [alice.pw_gid]  # no other group
    again = make_account_spawner(make_user("alice")).ensure_account()
    assert again.pw_uid == alice.pw_uid


def test_as_root_the_server_runs_as_the_users_account_with_the_profiles_limits(
    make_account_spawner, make_user, reachable_dir, caplog
):
    spawner = make_account_spawner(make_user("alice"), cpu_seconds=120)
    with caplog.at_level(logging.WARNING):
        asyncio.run(spawner.start())
    account = pwd.getpwnam("pls-unit-alice")
    assert "not isolated — development only" in caplog.text
    assert "pls-unit-alice" in caplog.text
    status = proc_status(spawner.pid)
    assert status["Uid"] == [account.pw_uid] * 4
    assert status["Gid"] == [account.pw_gid] * 4
    assert status["Groups"] == [account.pw_gid]
    limits = proc_limits(spawner.pid)
    assert limits["Max address space"] == (str(GiB), str(GiB))
    assert limits["Max cpu time"] == ("120", "120")
    assert limits["Max processes"] == ("512", "512")  # the account ran nothing before
    users = reachable_dir / "users"
    home = users / "alice"
    assert Path(f"/proc/{spawner.pid}/cwd").resolve() == home.resolve()
    assert home.stat().st_uid == account.pw_uid and home.stat().st_mode & 0o777 == 0o700
    assert (home / "work").stat().st_uid == account.pw_uid
    assert users.stat().st_mode & 0o777 == 0o711  # pass through, not list the others
    environ = proc_environ(spawner.pid)
    assert environ["USER"] == "pls-unit-alice" and environ["HOME"] == str(home)


def test_an_existing_account_not_made_for_the_user_is_refused(make_account_spawner, make_user):
    spawner = make_account_spawner(make_user("alice"), account_template="nobody")
    with pytest.raises(SpawnFailed, match="nobody exists but was not created for alice"):
        asyncio.run(spawner.start())
    assert not spawner.pid


def test_a_folder_from_before_the_account_is_handed_over_without_following_links(
    make_account_spawner, make_user, reachable_dir
):
    home = reachable_dir / "users" / "alice"
    (home / "work").mkdir(parents=True)
    (home / "work" / "notes.py").write_text("mine")
    outside = reachable_dir / "hub-secret"
    outside.write_text("the hub's")
    (home / "work" / "link").symlink_to(outside)
    spawner = make_account_spawner(make_user("alice"))
    asyncio.run(spawner.start())
    uid = pwd.getpwnam("pls-unit-alice").pw_uid
    assert (home / "work" / "notes.py").stat().st_uid == uid
    assert (home / "work" / "link").lstat().st_uid == uid
    assert outside.stat().st_uid == 0


def test_spawn_names_the_folder_the_account_cannot_pass(
    make_account_spawner, make_user, reachable_dir
):
    private = reachable_dir / "private"
    private.mkdir(mode=0o700)
    shutil.copy("/bin/sleep", private / "sleep")
    spawner = make_account_spawner(make_user("alice"), cmd=[str(private / "sleep"), "60"])
    with pytest.raises(SpawnFailed, match=f"cannot reach {private}\\."):
        asyncio.run(spawner.start())
    assert not spawner.pid and not spawner.port


def test_long_usernames_get_a_short_unique_account_name():
    first = account_name("pls-{username}", "a" * 30 + "x1")
    second = account_name("pls-{username}", "a" * 30 + "x2")
    assert len(first) <= 32 and len(second) <= 32 and first != second
    assert first == account_name("pls-{username}", "a" * 30 + "x1")
    assert account_name("pls-{username}", "learner1") == "pls-learner1"


def test_preexec_sets_the_limits_then_becomes_the_account_in_its_folder(reachable_dir):
    limits = {resource.RLIMIT_AS: GiB, resource.RLIMIT_NPROC: 4000, resource.RLIMIT_CPU: 90}
    nobody = pwd.getpwnam("nobody")
    child = subprocess.Popen(SLEEP, preexec_fn=server_preexec(str(reachable_dir), limits, "nobody"))
    try:
        found = proc_limits(child.pid)
        assert found["Max address space"] == (str(GiB), str(GiB))
        assert found["Max processes"] == ("4000", "4000")
        assert found["Max cpu time"] == ("90", "90")
        assert proc_status(child.pid)["Uid"] == [nobody.pw_uid] * 4
        assert Path(f"/proc/{child.pid}/cwd").resolve() == reachable_dir.resolve()
    finally:
        child.kill()
        child.wait()


# -- a hub that is not root: the hub's own user -------------------------------------------------


def test_learner_server_runs_with_the_profiles_limits(make_spawner, make_user, tmp_path, caplog):
    spawner = make_spawner(make_user("alice", ["nbgrader-python-101"]), cpu_seconds=120)
    with caplog.at_level(logging.WARNING):
        ip, port = asyncio.run(spawner.start())
    assert "not isolated — development only" in caplog.text
    assert "Runs as the hub's own user" in caplog.text
    assert proc_status(spawner.pid)["Uid"][0] == os.getuid()
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


def test_local_server_learns_the_graders_url_on_loopback(make_spawner, make_user):
    spawner = make_spawner(
        make_user("alice", ["nbgrader-python-101"]),
        service_urls={"PLS_GRADER_URL": "http://{hub_host}:10101/services/grader/api"},
    )
    asyncio.run(spawner.start())
    environ = Path(f"/proc/{spawner.pid}/environ").read_bytes().decode().split("\0")
    assert "PLS_GRADER_URL=http://127.0.0.1:10101/services/grader/api" in environ


def test_materials_copy_keeps_a_learners_edits(make_spawner, make_user, tmp_path):
    lesson = tmp_path / "users" / "alice" / "work" / "python-101" / "lessons" / "01-basics.ipynb"
    lesson.parent.mkdir(parents=True)
    lesson.write_text("my edits")
    spawner = make_spawner(make_user("alice", ["nbgrader-python-101"]))
    asyncio.run(spawner.start())
    assert lesson.read_text() == "my edits"
    assert (lesson.parent / "02-control-flow.ipynb").is_file()  # the rest is copied


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


def test_runs_jupyterhub_singleuser_from_the_hubs_python_never_as_root(hub, make_user):
    spawner = StudioLocalSpawner(user=make_user("alice"), hub=hub)
    assert spawner.cmd == [sys.executable, "-m", "jupyterhub.singleuser"]
    assert "--allow-root" not in spawner.get_args()


# A server that listens only after half a second, on the port JupyterHub gives it.
LATE_SERVER = [sys.executable, "-c", """
import os, time, urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(302); self.send_header("Location", "/hub/login"); self.end_headers()
    def log_message(self, *args): pass
time.sleep(0.5)
port = urllib.parse.urlparse(os.environ["JUPYTERHUB_SERVICE_URL"]).port
HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""]


def test_local_spawn_returns_once_the_server_answers(make_spawner, make_user):
    spawner = make_spawner(make_user("alice", ["nbgrader-python-101"]), cmd=LATE_SERVER,
                           ready_poll_interval=0.02)
    ip, port = asyncio.run(spawner.start())
    try:
        # Right after start() returns the server answers: no refused connection to wait out.
        answer = requests.get(f"http://{ip}:{port}/user/alice/", allow_redirects=False,
                              timeout=5)
        assert answer.status_code == 302
    finally:
        asyncio.run(spawner.stop(now=True))
