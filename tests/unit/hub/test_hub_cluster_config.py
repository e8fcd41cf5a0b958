"""HUB_SPAWNER=swarm and =kubernetes: the same resource profiles beyond one machine.

No cluster is needed. The hub configuration comes from ``configure()``, and the spawner class it
names is instantiated with it, with the ``Hub`` JupyterHub would build from that configuration.

- Swarm: the spawner's real ``start()`` runs against a fake engine whose ``create_service``
  goes through docker-py's own ``APIClient.create_service`` (API 1.41): the assertions read the
  JSON body the engine would receive.
- Kubernetes: the pod and claim come from KubeSpawner's own ``get_pod_manifest`` and
  ``get_pvc_manifest``, serialized as they would be sent; the kubeconfig points nowhere and
  nothing is contacted.
"""

from __future__ import annotations

import asyncio
import json
import sys
from types import SimpleNamespace

import docker
import pytest
from jupyterhub.objects import Hub
from traitlets.config import Config

from hub.config import configure
from hub.errors import SpawnFailed
from hub.materials import CONTAINER_MATERIALS_DIR
from hub.spawners import StudioDockerSpawner, StudioSwarmSpawner
from servicekit.settings import SettingError

GiB = 1024**3
HUB_SERVICE = "http://hub:8081"
TOKEN = "the-users-own-hub-token"
INSTRUCTOR_CONFIG = "/opt/venv/etc/jupyter-instructor"
SECRETS = {"HUB_OAUTH_CLIENT_SECRET": "oauth-secret-value", "OPENAI_API_KEY": "model-key-value"}
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: offline, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: offline, user: {token: unused}}]
contexts: [{name: offline, context: {cluster: offline, user: offline}}]
current-context: offline
"""


def cluster_config(environ, spawner, **extra) -> Config:
    environ |= {"HUB_SPAWNER": spawner, "HUB_CONNECT_URL": HUB_SERVICE, **extra}
    return configure(Config(), environ, probe=lambda: pytest.fail("must not probe docker"))


def hub_of(c: Config) -> Hub:
    """The Hub object JupyterHub builds from the configuration (its API for servers)."""
    return Hub(ip="0.0.0.0", port=8081, base_url="/hub/", connect_url=c.JupyterHub.hub_connect_url)  # noqa: S104


def learner(make_user):
    user = make_user("alice", ["nbgrader-python-101"])
    user.id = 1  # KubeSpawner names things with it
    return user


def instructor(make_user):
    user = make_user("ines", ["formgrade-python-101"])
    user.id = 2
    return user


# -- the configuration ------------------------------------------------------------------------


@pytest.mark.parametrize("spawner", ["swarm", "kubernetes"])
def test_cluster_hub_listens_for_servers_and_is_reached_at_its_service(environ, spawner):
    c = cluster_config(environ, spawner)
    assert c.JupyterHub.hub_bind_url == "http://0.0.0.0:8081"
    # the servers, and with Kubernetes the proxy's own pod, reach the hub there
    assert c.JupyterHub.hub_connect_url == HUB_SERVICE


@pytest.mark.parametrize("spawner", ["swarm", "kubernetes"])
def test_cluster_spawners_require_the_hubs_service_address(environ, spawner):
    environ["HUB_SPAWNER"] = spawner
    with pytest.raises(SettingError, match="HUB_CONNECT_URL"):
        configure(Config(), environ)


def test_swarm_config_uses_the_docker_spawners_network_and_names(environ):
    c = cluster_config(environ, "swarm", HUB_DOCKER_NETWORK="studio-overlay")
    assert c.JupyterHub.spawner_class is StudioSwarmSpawner
    assert issubclass(StudioSwarmSpawner, StudioDockerSpawner)  # every Docker setting applies
    assert c.StudioDockerSpawner.network_name == "studio-overlay"
    assert c.StudioDockerSpawner.prefix == "pls"


def test_kubernetes_config_uses_the_studio_kube_spawner(environ):
    from hub.spawners.kubernetes import StudioKubeSpawner

    c = cluster_config(environ, "kubernetes")
    assert c.JupyterHub.spawner_class is StudioKubeSpawner
    assert c.StudioKubeSpawner.storage_capacity == "1Gi"
    assert "storage_class" not in c.StudioKubeSpawner  # the cluster's default class


def test_kubernetes_without_the_cluster_extra_says_what_to_install(environ, monkeypatch):
    monkeypatch.setitem(sys.modules, "kubespawner", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "hub.spawners.kubernetes", raising=False)
    with pytest.raises(SettingError, match=r"python-learning-studio\[hub,cluster\]"):
        cluster_config(environ, "kubernetes")


# -- Docker Swarm -------------------------------------------------------------------------------


def not_found():
    return docker.errors.NotFound(
        "not found", response=SimpleNamespace(status_code=404, reason="Not Found")
    )


class FakeSwarm:
    """Answers the docker calls a Swarm start makes; create_service goes through docker-py."""

    def __init__(self, network=None):
        self.network = {"Name": "pls-notebooks", "Scope": "swarm", "Driver": "overlay"}
        if network is not None:
            self.network = network
        self.services = {}
        self.bodies = []  # the JSON bodies of POST /services/create

    def __call__(self, method, *args, **kwargs):
        future = asyncio.get_running_loop().create_future()
        future.set_result(getattr(self, method)(*args, **kwargs))
        return future

    def inspect_network(self, name):
        if not self.network:
            raise not_found()
        return self.network

    def inspect_service(self, name):
        if name not in self.services:
            raise not_found()
        return self.services[name]

    def create_service(self, **kwargs):
        client = docker.APIClient(base_url="unix:///nonexistent/docker.sock", version="1.41")
        client._post_json = lambda url, data, headers=None: self.bodies.append(data)
        client._result = lambda response, json=False: {"ID": "svc0123456789"}
        created = client.create_service(**kwargs)
        self.services[kwargs["name"]] = {"ID": created["ID"], "Endpoint": {}}
        return created

    def tasks(self, filters):
        return [{"Status": {"State": "running"}}]


@pytest.fixture(autouse=True)
def offline_docker_client(monkeypatch):
    """docker-py's APIClient with a fixed API version never contacts the engine by itself."""
    client = docker.APIClient(base_url="unix:///nonexistent/docker.sock", version="1.41")
    monkeypatch.setattr(StudioDockerSpawner, "_client", client)


def swarm_start(c, user, engine=None):
    """Start user's server with the configured Swarm spawner: (address, service body)."""
    spawner = c.JupyterHub.spawner_class(config=c, user=user, hub=hub_of(c), api_token=TOKEN)
    spawner.docker = engine or FakeSwarm()
    spawner.ready_poll_interval = 0  # no service behind the fake engine
    address = asyncio.run(spawner.start())
    (body,) = spawner.docker.bodies
    return address, body


def container_env(body) -> dict[str, str]:
    return dict(line.split("=", 1) for line in body["TaskTemplate"]["ContainerSpec"]["Env"])


def test_learner_service_is_limited_by_the_learner_profile(environ, make_user):
    address, body = swarm_start(cluster_config(environ, "swarm"), learner(make_user))
    assert address == ("pls-alice", 8888)  # the service's name on the overlay network
    assert body["Name"] == "pls-alice"
    assert body["TaskTemplate"]["Resources"] == {
        "Limits": {"NanoCPUs": 10**9, "MemoryBytes": GiB, "Pids": 512}
    }
    assert body["TaskTemplate"]["ContainerSpec"]["Image"] == "pls-notebook:latest"
    assert body["Labels"]["org.pythonlearningstudio.profile"] == "learner"


def test_instructor_service_gets_the_instructor_profile_and_tools(environ, make_user):
    c = cluster_config(environ, "swarm")
    _, body = swarm_start(c, instructor(make_user))
    assert body["TaskTemplate"]["Resources"] == {
        "Limits": {"NanoCPUs": 2 * 10**9, "MemoryBytes": 2 * GiB, "Pids": 1024}
    }
    assert container_env(body)["JUPYTER_CONFIG_PATH"] == INSTRUCTOR_CONFIG
    _, body = swarm_start(c, learner(make_user))
    assert "JUPYTER_CONFIG_PATH" not in container_env(body)


def test_profile_overrides_from_env_reach_the_service(environ, make_user):
    c = cluster_config(environ, "swarm", HUB_PROFILE_LEARNER_MEM="512M",
                       HUB_PROFILE_LEARNER_CPU="0.5", HUB_PROFILE_LEARNER_PIDS="256")
    _, body = swarm_start(c, learner(make_user))
    assert body["TaskTemplate"]["Resources"]["Limits"] == {
        "NanoCPUs": 5 * 10**8, "MemoryBytes": 512 * 1024**2, "Pids": 256
    }


def test_service_runs_as_jovyan_without_capabilities_or_new_privileges(environ, make_user):
    _, body = swarm_start(cluster_config(environ, "swarm"), learner(make_user))
    spec = body["TaskTemplate"]["ContainerSpec"]
    assert spec["User"] == "1000:100"
    assert spec["CapabilityDrop"] == ["ALL"]
    assert spec["Privileges"] == {"NoNewPrivileges": True}
    assert spec["Init"] is True
    assert spec["Dir"] == "/home/jovyan/work"


def test_service_mounts_the_work_volume_as_a_volume_and_caps_tmp(environ, make_user):
    _, body = swarm_start(cluster_config(environ, "swarm"), learner(make_user))
    mounts = {m["Target"]: m for m in body["TaskTemplate"]["ContainerSpec"]["Mounts"]}
    work = mounts["/home/jovyan/work"]
    assert (work["Type"], work["Source"], work["ReadOnly"]) == ("volume", "pls-work-alice", False)
    tmp = mounts["/tmp"]  # noqa: S108
    assert tmp["Type"] == "tmpfs"
    assert tmp["TmpfsOptions"] == {"SizeBytes": 256 * 1024**2, "Mode": 0o1777}
    materials = [m for target, m in mounts.items() if target.startswith(CONTAINER_MATERIALS_DIR)]
    assert len(materials) == 4  # the lessons, bound read-only from the shared course folder
    assert all(m["Type"] == "bind" and m["ReadOnly"] for m in materials)
    writable = [target for target, m in mounts.items() if not m["ReadOnly"]]
    assert sorted(writable) == ["/home/jovyan/work", "/tmp"]  # noqa: S108


def test_work_volume_uses_the_multi_host_volume_driver(environ, make_user):
    c = cluster_config(environ, "swarm", HUB_SWARM_VOLUME_DRIVER="rexray/ebs")
    _, body = swarm_start(c, learner(make_user))
    (work,) = [m for m in body["TaskTemplate"]["ContainerSpec"]["Mounts"]
               if m["Source"] == "pls-work-alice"]
    assert work["VolumeOptions"]["DriverConfig"]["Name"] == "rexray/ebs"


def test_service_is_on_the_overlay_network_and_reaches_the_hub_service(environ, make_user):
    _, body = swarm_start(cluster_config(environ, "swarm"), learner(make_user))
    assert body["TaskTemplate"]["Networks"] == [{"Target": "pls-notebooks"}]
    assert not body.get("EndpointSpec", {}).get("Ports")  # no port published on the nodes
    assert container_env(body)["JUPYTERHUB_API_URL"] == f"{HUB_SERVICE}/hub/api"


@pytest.mark.parametrize(
    ("network", "message"),
    [({}, "does not exist"), ({"Name": "pls-notebooks", "Scope": "local"}, "not a Swarm")],
)
def test_service_needs_an_existing_overlay_network(environ, make_user, network, message):
    c = cluster_config(environ, "swarm")
    with pytest.raises(SpawnFailed, match=message):
        swarm_start(c, learner(make_user), FakeSwarm(network=network))


def test_service_environment_holds_no_secret_but_the_users_hub_token(
    environ, make_user, monkeypatch
):
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    _, body = swarm_start(cluster_config(environ, "swarm"), learner(make_user))
    env = container_env(body)
    assert not set(SECRETS) & set(env)
    assert not any(value in json.dumps(env) for value in SECRETS.values())
    assert [key for key, value in env.items() if TOKEN in value] == ["JUPYTERHUB_API_TOKEN"]


# -- Kubernetes --------------------------------------------------------------------------------


@pytest.fixture
def kubeconfig(tmp_path, monkeypatch):
    """A kubeconfig naming an address nobody listens on: KubeSpawner loads it, never calls it."""
    from kubernetes_asyncio.config import kube_config

    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    # read from $KUBECONFIG when the module is imported, so set where it was kept
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)  # not in a cluster


def kube_manifests(c, user) -> tuple[dict, dict]:
    """(pod, claim) for user's server, as KubeSpawner would send them to the API."""

    async def build():
        spawner = c.JupyterHub.spawner_class(config=c, user=user, hub=hub_of(c), api_token=TOKEN)
        await spawner.load_user_options()
        serialize = spawner.api.api_client.sanitize_for_serialization
        return serialize(await spawner.get_pod_manifest()), serialize(spawner.get_pvc_manifest())

    return asyncio.run(build())


def server_of(pod: dict) -> dict:
    (server,) = (c for c in pod["spec"]["containers"] if c["name"] == "notebook")
    return server


def pod_env(pod: dict) -> dict[str, str]:
    return {var["name"]: var.get("value") for var in server_of(pod)["env"]}


def test_learner_pod_is_limited_by_the_learner_profile(environ, make_user, kubeconfig):
    pod, _ = kube_manifests(cluster_config(environ, "kubernetes"), learner(make_user))
    assert pod["metadata"]["name"] == "pls-alice"
    server = server_of(pod)
    assert server["image"] == "pls-notebook:latest"
    assert server["resources"]["limits"] == {"cpu": 1.0, "memory": GiB}
    assert not server["resources"]["requests"]  # Kubernetes then requests the limits
    assert pod["metadata"]["labels"]["pythonlearningstudio.org/profile"] == "learner"


def test_instructor_pod_gets_the_instructor_profile_and_tools(environ, make_user, kubeconfig):
    c = cluster_config(environ, "kubernetes")
    pod, _ = kube_manifests(c, instructor(make_user))
    assert server_of(pod)["resources"]["limits"] == {"cpu": 2.0, "memory": 2 * GiB}
    assert pod["metadata"]["labels"]["pythonlearningstudio.org/profile"] == "instructor"
    assert pod_env(pod)["JUPYTER_CONFIG_PATH"] == INSTRUCTOR_CONFIG
    pod, _ = kube_manifests(c, learner(make_user))
    assert "JUPYTER_CONFIG_PATH" not in pod_env(pod)


def test_profile_overrides_from_env_reach_the_pod(environ, make_user, kubeconfig):
    c = cluster_config(environ, "kubernetes", HUB_PROFILE_LEARNER_MEM="768M",
                       HUB_PROFILE_LEARNER_CPU="0.5")
    pod, _ = kube_manifests(c, learner(make_user))
    assert server_of(pod)["resources"]["limits"] == {"cpu": 0.5, "memory": 768 * 1024**2}


def test_pod_runs_as_jovyan_without_capabilities_escalation_or_api_token(
    environ, make_user, kubeconfig
):
    pod, _ = kube_manifests(cluster_config(environ, "kubernetes"), learner(make_user))
    assert server_of(pod)["securityContext"] == {
        "runAsUser": 1000,
        "runAsGroup": 100,
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["spec"]["securityContext"] == {"fsGroup": 100}
    assert pod["spec"]["automountServiceAccountToken"] is False


def test_work_folder_is_a_claim_per_learner_and_tmp_is_capped(environ, make_user, kubeconfig):
    c = cluster_config(environ, "kubernetes", HUB_KUBE_STORAGE="5Gi",
                       HUB_KUBE_STORAGE_CLASS="fast")
    pod, claim = kube_manifests(c, learner(make_user))
    assert claim["metadata"]["name"] == "pls-work-alice"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert claim["spec"]["storageClassName"] == "fast"
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["work"]["persistentVolumeClaim"] == {"claimName": "pls-work-alice"}
    assert volumes["tmp"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "256Mi"}
    mounts = {m["mountPath"]: m["name"] for m in server_of(pod)["volumeMounts"]}
    assert mounts == {"/home/jovyan/work": "work", "/tmp": "tmp"}  # noqa: S108
    assert server_of(pod)["workingDir"] == "/home/jovyan/work"


def test_pod_environment_holds_no_secret_but_the_users_hub_token(
    environ, make_user, kubeconfig, monkeypatch
):
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    c = cluster_config(environ, "kubernetes")
    c.StudioKubeSpawner.environment = {"OPENAI_API_KEY": "x"}  # even if an admin adds one
    pod, _ = kube_manifests(c, learner(make_user))
    env = pod_env(pod)
    assert not set(SECRETS) & set(env)
    assert not any(value in json.dumps(env) for value in SECRETS.values())
    assert [key for key, value in env.items() if TOKEN in (value or "")] == ["JUPYTERHUB_API_TOKEN"]
    assert env["JUPYTERHUB_API_URL"] == f"{HUB_SERVICE}/hub/api"


def test_materials_claim_mounts_lessons_read_only_and_copies_them(environ, make_user, kubeconfig):
    c = cluster_config(environ, "kubernetes", HUB_KUBE_MATERIALS_CLAIM="studio-courses")
    pod, _ = kube_manifests(c, learner(make_user))
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["materials"]["persistentVolumeClaim"] == {
        "claimName": "studio-courses", "readOnly": True
    }
    materials = [m for m in server_of(pod)["volumeMounts"] if m["name"] == "materials"]
    assert len(materials) == 4
    assert all(m["readOnly"] for m in materials)
    assert not [m for m in materials if "/source/" in m["subPath"]]  # never the solutions
    assert {
        "name": "materials",
        "mountPath": f"{CONTAINER_MATERIALS_DIR}/python-101/lessons/01-basics.ipynb",
        "subPath": "python-101/lessons/01-basics.ipynb",
        "readOnly": True,
    } in materials
    args = server_of(pod)["args"]
    assert args[:2] == ["/bin/sh", "-c"]
    assert f"cp -Rn {CONTAINER_MATERIALS_DIR}/. /home/jovyan/work/" in args[2]
    assert args[3:] == ["studio-start", "jupyterhub-singleuser"]


def test_without_a_materials_claim_the_pod_runs_jupyter_directly(environ, make_user, kubeconfig):
    pod, _ = kube_manifests(cluster_config(environ, "kubernetes"), learner(make_user))
    assert server_of(pod)["args"] == ["jupyterhub-singleuser"]
    assert "materials" not in {v["name"] for v in pod["spec"]["volumes"]}


# -- Docker Swarm: placement and a hub outside the overlay --------------------------------------


def test_swarm_constraints_place_learners_services_on_labelled_nodes(environ, make_user):
    c = cluster_config(environ, "swarm",
                       HUB_SWARM_CONSTRAINTS="node.labels.pls.learners==true, node.role==worker")
    _, body = swarm_start(c, learner(make_user))
    assert body["TaskTemplate"]["Placement"]["Constraints"] == [
        "node.labels.pls.learners==true", "node.role==worker"]


class FakeSwarmPublishing(FakeSwarm):
    """A swarm whose task runs on node n1 (10.0.0.5) with the server's port published there."""

    def tasks(self, filters):
        ports = [{"TargetPort": 8888, "PublishedPort": 30123, "PublishMode": "host"}]
        return [{"NodeID": "n1", "Status": {"State": "running", "PortStatus": {"Ports": ports}}}]

    def inspect_node(self, node_id):
        assert node_id == "n1"
        return {"Status": {"Addr": "10.0.0.5"}}


def test_a_hub_outside_the_overlay_reaches_the_port_published_on_the_servers_node(
    environ, make_user
):
    c = cluster_config(environ, "swarm", HUB_SWARM_PUBLISH_PORTS="true")
    address, body = swarm_start(c, learner(make_user), FakeSwarmPublishing())
    assert address == ("10.0.0.5", 30123)
    assert body["EndpointSpec"]["Ports"] == [
        {"Protocol": "tcp", "PublishedPort": None, "TargetPort": 8888, "PublishMode": "host"}]


# -- Kubernetes: the rendered objects are valid API objects -------------------------------------


def round_trip(kind: str, manifest: dict) -> dict:
    """``manifest`` read into the kubernetes client's model ``kind`` (its client-side
    validation on: a missing required field or a bad value raises) and written back; a field
    the model does not know is dropped, so the round trip then differs."""
    from kubernetes_asyncio.client import ApiClient, Configuration

    configuration = Configuration()
    configuration.client_side_validation = True

    async def read_and_write() -> dict:
        async with ApiClient(configuration) as client:  # its HTTP session needs a loop
            model = client._ApiClient__deserialize(manifest, kind)  # the client's own reader
            return client.sanitize_for_serialization(model)

    return asyncio.run(read_and_write())


def quantities_as_text(pod: dict) -> dict:
    """``pod`` with its containers' resource quantities as strings, as the client's model
    types them (KubeSpawner sends numbers, which the API server reads as the same quantity)."""
    pod = json.loads(json.dumps(pod))
    for container in pod["spec"]["containers"] + pod["spec"].get("initContainers", []):
        for kind in ("limits", "requests"):
            quantities = (container.get("resources") or {}).get(kind) or {}
            for name, value in quantities.items():
                quantities[name] = str(value)
    return pod


@pytest.mark.parametrize("who", [learner, instructor])
def test_rendered_pod_and_claim_are_valid_kubernetes_objects(environ, make_user, kubeconfig, who):
    c = cluster_config(environ, "kubernetes", HUB_KUBE_MATERIALS_CLAIM="studio-courses")
    pod, claim = kube_manifests(c, who(make_user))
    assert (pod["apiVersion"], pod["kind"]) == ("v1", "Pod")
    assert (claim["apiVersion"], claim["kind"]) == ("v1", "PersistentVolumeClaim")
    assert round_trip("V1Pod", pod) == quantities_as_text(pod)
    assert round_trip("V1PersistentVolumeClaim", claim) == claim


def test_a_hub_outside_the_overlay_refuses_an_internal_network(environ, make_user):
    c = cluster_config(environ, "swarm", HUB_SWARM_PUBLISH_PORTS="true")
    internal = {"Name": "pls-notebooks", "Scope": "swarm", "Driver": "overlay", "Internal": True}
    with pytest.raises(SpawnFailed, match="is internal"):
        swarm_start(c, learner(make_user), FakeSwarmPublishing(network=internal))


def test_docker_and_swarm_spawners_apply_one_set_of_hardening_rules(environ, make_user):
    """A rule changed once (here: the user and a read-only root) reaches both spawners."""
    c = cluster_config(environ, "swarm")
    c.StudioDockerSpawner.container_user = "1001:100"
    c.StudioDockerSpawner.read_only_root = True
    _, body = swarm_start(c, learner(make_user))
    spec = body["TaskTemplate"]["ContainerSpec"]
    assert (spec["User"], spec["ReadOnly"]) == ("1001:100", True)
    docker_spawner = StudioDockerSpawner(config=c, user=learner(make_user), hub=hub_of(c))
    assert docker_spawner.hardened_create_kwargs()["user"] == "1001:100"
    assert docker_spawner.hardened_host_config()["read_only"] is True
    assert docker_spawner.hardened_host_config()["cap_drop"] == spec["CapabilityDrop"]
