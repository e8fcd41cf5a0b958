"""GRADER_SANDBOX_SWARM: each sandbox a one-shot Swarm service with the container's limits and
hardening, on the grader's own node. The service's run against a real one-node swarm is in
tests/integration/hub/test_swarm_studio.py (a submission graded end to end)."""

from __future__ import annotations

import docker.errors
import pytest

from grading.sandbox import SWARM_LAUNCHER, Sandbox
from grading.settings import Settings


class SwarmEngine:
    def __init__(self, node_id: str = "node0"):
        self.node_id = node_id

    def info(self) -> dict:
        return {"Swarm": {"NodeID": self.node_id}}


def template(**traits) -> dict:
    sandbox = Sandbox(swarm=True, pool_size=0, **traits)
    return sandbox.service_template(SwarmEngine(), "pls-notebook:latest")


def test_swarm_sandbox_is_a_one_shot_service_on_the_graders_node():
    task = template()
    assert task["RestartPolicy"]["Condition"] == "none"
    assert task["Placement"]["Constraints"] == ["node.id == node0"]
    assert task["LogDriver"]["Name"] == "none"  # nothing a notebook prints reaches the disk
    assert task["ContainerSpec"]["Command"][:3] == ["python", "-c", SWARM_LAUNCHER]


def test_swarm_sandbox_has_the_containers_limits_and_hardening():
    task = template(mem_limit="512m", cpu_limit=0.5, pids_limit=128)
    limits = task["Resources"]["Limits"]
    assert limits == {"MemoryBytes": 512 * 1024 * 1024, "NanoCPUs": 500_000_000, "Pids": 128}
    spec = task["ContainerSpec"]
    assert spec["User"] == "1000:100"
    assert spec["CapabilityDrop"] == ["ALL"]
    assert spec["Privileges"] == {"NoNewPrivileges": True}
    assert spec["ReadOnly"] is True
    assert spec["OpenStdin"] is True
    assert spec["Ulimits"] == [{"Name": "core", "Soft": 0, "Hard": 0}]
    tmpfs = {mount["Target"]: mount for mount in spec["Mounts"]}
    assert set(tmpfs) == {"/tmp", "/home", "/home/jovyan"}  # noqa: S108
    assert all(mount["Type"] == "tmpfs" for mount in tmpfs.values())
    assert tmpfs["/home/jovyan"]["TmpfsOptions"]["SizeBytes"] == 128 * 1024 * 1024


def test_swarm_sandbox_refuses_an_engine_outside_a_swarm():
    with pytest.raises(docker.errors.DockerException, match="not a Swarm node"):
        Sandbox(swarm=True).service_template(SwarmEngine(node_id=""), "pls-notebook:latest")


def test_grader_sandbox_swarm_setting_reaches_the_sandbox(tmp_path):
    settings = Settings.from_env({"GRADER_SANDBOX_SWARM": "true",
                                        "STUDIO_VAR_DIR": str(tmp_path)})
    assert settings.sandbox["swarm"] is True
    assert Settings.from_env({"STUDIO_VAR_DIR": str(tmp_path)}).sandbox["swarm"] is False
