"""The Docker spawner's container, built without a Docker engine.

The spawner runs its real start(): the host config goes through docker-py's own
``create_host_config`` (validated for API 1.41); only the calls that would reach the engine are
answered by a fake, which records them.
"""

import asyncio
import json
import shutil
from types import SimpleNamespace

import docker
import pytest

from hub.errors import ImageMissing
from hub.materials import CONTAINER_MATERIALS_DIR
from hub.profiles import profiles_from_env
from hub.settings import HubSettings
from hub.spawners import StudioDockerSpawner
from hub.spawners import docker as docker_spawner
from hub.spawners.docker import WORK_VOLUME_TEMPLATE, notebook_network_gateway
from servicekit.settings import SettingError
from tests.unit.hub.conftest import COURSES

GiB = 1024**3
SECRETS = {
    "HUB_OAUTH_CLIENT_SECRET": "oauth-secret-value",
    "CONFIGPROXY_AUTH_TOKEN": "proxy-token-value",
    "JUPYTERHUB_CRYPT_KEY": "crypt-key-value",
    "LMS_GRADER_TOKEN": "grader-token-value",
    "OPENAI_API_KEY": "model-key-value",
}


def not_found(kind):
    return kind("not found", response=SimpleNamespace(status_code=404, reason="Not Found"))


class FakeEngine:
    """Answers the docker calls a start makes; records them."""

    def __init__(self, images=("pls-notebook:latest",), network_exists=True):
        self.images = set(images)
        self.network_exists = network_exists
        self.calls = []

    def __call__(self, method, *args, **kwargs):
        self.calls.append((method, args, kwargs))
        result = getattr(self, method)(*args, **kwargs)
        future = asyncio.get_running_loop().create_future()
        future.set_result(result)
        return future

    def called(self, method):
        return [kwargs | {"args": args} for name, args, kwargs in self.calls if name == method]

    def inspect_image(self, image):
        if image not in self.images:
            raise not_found(docker.errors.ImageNotFound)
        return {"Config": {"Cmd": ["ignored"]}}

    def inspect_network(self, name):
        if not self.network_exists:
            raise not_found(docker.errors.NotFound)
        ipam = {"Config": [{"Subnet": "172.30.0.0/16", "Gateway": "172.30.0.1"}]}
        return {"Name": name, "IPAM": ipam}

    def create_network(self, name, **kwargs):
        self.network_exists = True

    def inspect_container(self, name):
        if not self.called("create_container"):
            raise not_found(docker.errors.NotFound)
        return {
            "Id": "c0ffee1234",
            "NetworkSettings": {"Networks": {"pls-notebooks": {"IPAddress": "172.30.0.5"}}},
        }

    def create_container(self, **kwargs):
        return {"Id": "c0ffee1234"}

    def start(self, container_id):
        return None


@pytest.fixture(autouse=True)
def offline_docker_client(monkeypatch):
    """docker-py's APIClient with a fixed API version never contacts the engine by itself."""
    client = docker.APIClient(base_url="unix:///nonexistent/docker.sock", version="1.41")
    monkeypatch.setattr(StudioDockerSpawner, "_client", client)


def make_spawner(user, hub, engine=None, **config):
    spawner = StudioDockerSpawner(
        user=user,
        hub=hub,
        api_token="the-users-own-hub-token",
        oauth_client_id=f"jupyterhub-user-{user.name}",
        courses_dir=str(config.pop("courses_dir", COURSES)),
        network_name="pls-notebooks",
        ready_poll_interval=config.pop("ready_poll_interval", 0),  # no server behind the fake
        **config,
    )
    spawner.resource_profiles.profiles = profiles_from_env({})
    spawner.docker = engine or FakeEngine()
    return spawner


def start(spawner):
    return asyncio.run(spawner.start())


def created(spawner):
    (kwargs,) = spawner.docker.called("create_container")
    return kwargs, kwargs["host_config"]


def test_learner_container_is_hardened_and_limited(make_user, hub):
    spawner = make_spawner(make_user("alice", ["nbgrader-python-101"]), hub)
    assert start(spawner) == ("172.30.0.5", 8888)
    kwargs, host = created(spawner)
    assert kwargs["image"] == "pls-notebook:latest"
    assert kwargs["name"] == "pls-alice"
    assert kwargs["user"] == "1000:100"
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Init"] is True
    assert host["PidsLimit"] == 512
    assert host["Memory"] == GiB
    assert host["MemorySwap"] == GiB  # no swap on top of the memory limit
    assert host["CpuQuota"] == 100_000 and host["CpuPeriod"] == 100_000  # one CPU
    assert host["AutoRemove"] is True
    assert host["NetworkMode"] == "pls-notebooks"
    assert host["Tmpfs"]["/tmp"].startswith("rw,nosuid,nodev,size=256m")  # noqa: S108
    assert host.get("Privileged") in (None, False)
    assert "PortBindings" not in host  # reached over the notebook network, not a host port
    assert "pls-work-alice:/home/jovyan/work:rw" in host["Binds"]
    labels = kwargs["labels"]
    assert labels["org.pythonlearningstudio.profile"] == "learner"


def test_instructor_container_gets_the_instructor_profile(make_user, hub):
    spawner = make_spawner(make_user("ines", ["formgrade-python-101"]), hub)
    start(spawner)
    _, host = created(spawner)
    assert host["Memory"] == host["MemorySwap"] == 2 * GiB
    assert host["CpuQuota"] == 200_000
    assert host["PidsLimit"] == 1024


def test_only_instructors_servers_get_nbgraders_instructor_tools(make_user, hub):
    instructor = make_spawner(make_user("ines", ["formgrade-python-101"]), hub)
    learner = make_spawner(make_user("alice", ["nbgrader-python-101"]), hub)
    start(instructor)
    start(learner)
    instructor_env = created(instructor)[0]["environment"]
    assert instructor_env["JUPYTER_CONFIG_PATH"] == "/opt/venv/etc/jupyter-instructor"
    assert "JUPYTER_CONFIG_PATH" not in created(learner)[0]["environment"]


def test_prefix_names_containers_and_work_volumes_apart(make_user, hub):
    spawner = make_spawner(make_user("alice", ["nbgrader-python-101"]), hub, prefix="pls-test")
    start(spawner)
    kwargs, host = created(spawner)
    assert kwargs["name"] == "pls-test-alice"
    assert "pls-test-work-alice:/home/jovyan/work:rw" in host["Binds"]


def test_staff_get_the_instructor_profile_too(make_user, hub):
    spawner = make_spawner(make_user("root-admin", ["staff"], admin=True), hub)
    start(spawner)
    assert created(spawner)[1]["PidsLimit"] == 1024


def test_profile_overrides_from_env_reach_the_container(make_user, hub):
    spawner = make_spawner(make_user("alice", ["nbgrader-python-101"]), hub)
    spawner.resource_profiles.profiles = profiles_from_env(
        {"HUB_PROFILE_LEARNER_MEM": "512M", "HUB_PROFILE_LEARNER_PIDS": "256"}
    )
    start(spawner)
    _, host = created(spawner)
    assert host["Memory"] == host["MemorySwap"] == 512 * 1024**2
    assert host["PidsLimit"] == 256


def test_course_image_comes_from_course_yml(make_user, hub, tmp_path):
    shutil.copytree(COURSES / "python-101", tmp_path / "python-101")
    course_yml = tmp_path / "python-101" / "course.yml"
    text = course_yml.read_text()
    course_yml.write_text(text.replace("image: pls-notebook:latest", "image: py101:2"))
    engine = FakeEngine(images=["py101:2"])
    user = make_user("alice", ["nbgrader-python-101"])
    spawner = make_spawner(user, hub, engine, courses_dir=tmp_path)
    start(spawner)
    assert created(spawner)[0]["image"] == "py101:2"


def test_course_naming_no_image_gets_the_studios_default_image(make_user, hub, tmp_path):
    shutil.copytree(COURSES / "python-101", tmp_path / "python-101")
    course_yml = tmp_path / "python-101" / "course.yml"
    course_yml.write_text(course_yml.read_text().replace("image: pls-notebook:latest\n", ""))
    engine = FakeEngine(images=["site-default:1"])
    user = make_user("alice", ["nbgrader-python-101"])
    spawner = make_spawner(
        user, hub, engine, courses_dir=tmp_path, default_image="site-default:1"
    )
    start(spawner)
    assert created(spawner)[0]["image"] == "site-default:1"


def test_user_without_a_known_course_gets_the_default_image(make_user, hub):
    spawner = make_spawner(make_user("alice", ["nbgrader-not-a-course"]), hub)
    start(spawner)
    kwargs, host = created(spawner)
    assert kwargs["image"] == "pls-notebook:latest"
    assert not [b for b in host["Binds"] if CONTAINER_MATERIALS_DIR in b]


def test_lessons_are_mounted_read_only_and_never_the_solutions(make_user, hub):
    spawner = make_spawner(make_user("alice", ["nbgrader-python-101"]), hub)
    start(spawner)
    _, host = created(spawner)
    materials = [b for b in host["Binds"] if CONTAINER_MATERIALS_DIR in b]
    assert len(materials) == 4
    for bind in materials:
        assert bind.endswith(":ro")
        assert "/source/" not in bind
    lesson = COURSES / "python-101" / "lessons" / "01-basics.ipynb"
    assert f"{lesson}:{CONTAINER_MATERIALS_DIR}/python-101/lessons/01-basics.ipynb:ro" in materials
    writable = [b for b in host["Binds"] if b.endswith(":rw")]
    assert writable == ["pls-work-alice:/home/jovyan/work:rw"]  # nothing shared is writable


def test_container_copies_materials_without_overwriting_then_runs_jupyter(make_user, hub):
    spawner = make_spawner(make_user("alice", ["nbgrader-python-101"]), hub)
    start(spawner)
    command = created(spawner)[0]["command"]
    assert command[:2] == ["/bin/sh", "-c"]
    assert f"cp -Rn {CONTAINER_MATERIALS_DIR}/. /home/jovyan/work/" in command[2]
    assert command[2].endswith('exec "$@"')
    assert command[3:5] == ["studio-start", "jupyterhub-singleuser"]


def test_container_environment_holds_no_secret_but_the_users_hub_token(make_user, hub, monkeypatch):
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    spawner = make_spawner(
        make_user("alice", ["nbgrader-python-101"]), hub, environment={"OPENAI_API_KEY": "x"}
    )
    start(spawner)
    env = created(spawner)[0]["environment"]
    assert spawner.env_keep == []
    assert "OPENAI_API_KEY" not in env
    dump = json.dumps(env)
    for value in SECRETS.values():
        assert value not in dump
    holders = [key for key, value in env.items() if "the-users-own-hub-token" in value]
    assert holders == ["JUPYTERHUB_API_TOKEN"]
    assert set(env) - {"JUPYTER_IMAGE_SPEC", "MEM_LIMIT", "CPU_LIMIT"} <= {
        key for key in env if key.startswith("JUPYTERHUB_")
    }


def test_container_learns_the_graders_url_at_the_networks_gateway(make_user, hub):
    spawner = make_spawner(
        make_user("alice", ["nbgrader-python-101"]), hub,
        service_urls={"PLS_GRADER_URL": "http://{hub_host}:10101/services/grader/api"},
    )
    start(spawner)
    env = created(spawner)[0]["environment"]
    assert env["PLS_GRADER_URL"] == "http://172.30.0.1:10101/services/grader/api"


def test_container_learns_the_tutors_url_but_never_the_model_key(make_user, hub, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "model-key-value")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://llm.internal/v1")
    spawner = make_spawner(
        make_user("alice", ["nbgrader-python-101"]), hub,
        environment={"OPENAI_API_KEY": "model-key-value", "TUTOR_MODEL": "m"},
        service_urls={"PLS_TUTOR_URL": "http://{hub_host}:10102/services/tutor/api"},
    )
    start(spawner)
    env = created(spawner)[0]["environment"]
    assert env["PLS_TUTOR_URL"] == "http://172.30.0.1:10102/services/tutor/api"
    assert not [key for key in env if key.startswith(("OPENAI_", "TUTOR_"))]
    assert "model-key-value" not in json.dumps(env)


def test_container_reaches_the_hub_api_at_the_networks_gateway(make_user, hub):
    spawner = make_spawner(make_user("alice", ["nbgrader-python-101"]), hub)
    start(spawner)
    env = created(spawner)[0]["environment"]
    assert env["JUPYTERHUB_API_URL"] == "http://172.30.0.1:8081/hub/api"


def test_configured_hub_connect_url_wins(make_user, hub):
    spawner = make_spawner(
        make_user("alice", ["nbgrader-python-101"]), hub, hub_connect_url="http://hub:8081"
    )
    start(spawner)
    env = created(spawner)[0]["environment"]
    assert env["JUPYTERHUB_API_URL"] == "http://hub:8081/hub/api"


def test_missing_network_is_created_internal(make_user, hub):
    engine = FakeEngine(network_exists=False)
    start(make_spawner(make_user("alice", ["nbgrader-python-101"]), hub, engine))
    (network,) = engine.called("create_network")
    assert network["args"] == ("pls-notebooks",)
    assert network["internal"] is True


class FakeClient(FakeEngine):
    """docker-py's APIClient as the hub's configuration calls it (synchronously)."""

    def __call__(self, **kwargs):
        return self  # docker.APIClient(...): this engine

    def inspect_network(self, name):
        self.calls.append(("inspect_network", (name,), {}))
        return super().inspect_network(name)

    def create_network(self, name, **kwargs):
        self.calls.append(("create_network", (name,), kwargs))
        return super().create_network(name, **kwargs)

    def close(self):
        pass


def test_the_hub_finds_its_networks_gateway_creating_the_network_internal(monkeypatch):
    engine = FakeClient(network_exists=False)
    monkeypatch.setattr(docker_spawner.docker, "APIClient", engine)
    settings = HubSettings.from_env({"HUB_DOCKER_NETWORK": "studio-net"})
    assert notebook_network_gateway(settings) == "172.30.0.1"
    (network,) = engine.called("create_network")
    assert network["args"] == ("studio-net",)
    assert network["internal"] is True
    assert notebook_network_gateway(settings) == "172.30.0.1"  # found, not created again
    assert len(engine.called("create_network")) == 1


def test_the_hub_refuses_dockers_own_networks_for_its_api(monkeypatch):
    monkeypatch.setattr(docker_spawner.docker, "APIClient", FakeClient())
    with pytest.raises(SettingError, match="HUB_DOCKER_NETWORK='bridge'"):
        notebook_network_gateway(HubSettings.from_env({"HUB_DOCKER_NETWORK": "bridge"}))


def test_without_an_engine_the_hub_says_what_it_needs(monkeypatch):
    def no_engine(**kwargs):
        raise docker.errors.DockerException("Error while fetching server API version")

    monkeypatch.setattr(docker_spawner.docker, "APIClient", no_engine)
    with pytest.raises(SettingError, match="needs a Docker engine that answers"):
        notebook_network_gateway(HubSettings.from_env({}))


def test_missing_image_fails_the_spawn_with_how_to_build_it(make_user, hub):
    engine = FakeEngine(images=[])
    spawner = make_spawner(make_user("alice", ["nbgrader-python-101"]), hub, engine)
    with pytest.raises(ImageMissing) as caught:
        start(spawner)
    assert caught.value.status_code == 500
    assert "pls-notebook:latest is not built on this host" in caught.value.jupyterhub_message
    assert "images/build" in caught.value.jupyterhub_message
    assert not engine.called("pull")  # never pulls from a registry
    assert not engine.called("create_container")


@pytest.mark.parametrize(
    "name",
    ["alice", "a-b", "a_b", "a.b", "a b", "Alice", "ålice", "../../etc", "a/b", "-x", "x" * 40],
)
def test_unsafe_usernames_are_escaped_to_docker_safe_names(make_user, hub, name):
    spawner = make_spawner(make_user(name), hub)
    volume = spawner.format_volume_name(WORK_VOLUME_TEMPLATE, spawner)
    for docker_name in (spawner.object_name, volume):
        assert docker_name.replace("-", "").isalnum() and docker_name.isascii()
        assert docker_name == docker_name.lower()
        assert "/" not in docker_name and "." not in docker_name


def test_escaping_never_maps_two_usernames_to_one_volume(make_user, hub):
    names = ["a-b", "a_b", "a.b", "a b", "A-b", "a-2db", "a--b", "ab"]
    volumes = {
        spawner.format_volume_name(WORK_VOLUME_TEMPLATE, spawner)
        for spawner in (make_spawner(make_user(n), hub) for n in names)
    }
    assert len(volumes) == len(names)  # escaping is injective: '-' itself is escaped
    assert "pls-work-a-2db" in volumes  # a-b


def test_docker_engine_going_away_fails_the_spawn_with_a_clear_message(make_user, hub):
    from requests.exceptions import ConnectionError as RequestsConnectionError

    from hub.errors import SpawnFailed

    class DeadEngine(FakeEngine):
        def inspect_network(self, name):
            raise RequestsConnectionError("connection refused")

    spawner = make_spawner(make_user("alice", ["nbgrader-python-101"]), hub, DeadEngine())
    with pytest.raises(SpawnFailed, match="The Docker engine does not answer"):
        start(spawner)
