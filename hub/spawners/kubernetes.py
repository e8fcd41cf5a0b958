"""Learners' servers as Kubernetes pods: jupyterhub-kubespawner driven by the studio's plan.

:class:`StudioKubeSpawner` is KubeSpawner with the studio's choice of image and resource profile
(:mod:`hub.spawners.plan`), applied in ``load_user_options``, KubeSpawner's hook for per-start
settings (where its ``profile_list`` would apply a profile the user picked: ours are given by the
user's role and courses, never picked). Its defaults make the pod match the Docker spawner's
container:

- memory and CPU limits from the profile (requests: Kubernetes copies the limits unless
  ``mem_guarantee`` / ``cpu_guarantee`` are set, so nothing is overcommitted by default);
- not per pod on Kubernetes: the pids limit. The kubelet's ``podPidsLimit`` caps every pod of a
  node; set it on the nodes that run learners (the profile's ``pids_limit`` is not applied);
- uid 1000, gid 100 (``fsGroup`` 100 for the volumes), ``runAsNonRoot``, every capability
  dropped, no privilege escalation, the runtime's default seccomp profile, no service account
  token;
- the work folder on a PersistentVolumeClaim per user (``pls-work-<user>``, created on first
  start, kept when the server stops) and ``/tmp`` on a size-capped in-memory ``emptyDir``;
- an environment with nothing but JupyterHub's own variables (the server's hub token);
- course materials, when ``materials_claim`` names a read-only claim holding the course folders:
  mounted file by file (``subPath``) and copied into the work folder as with Docker.

The network is the cluster's business: a NetworkPolicy (see docs/architecture.md) lets the pods
reach the hub and DNS only.
"""

from __future__ import annotations

from pathlib import Path

from kubernetes_asyncio.client.models import (
    V1PersistentVolumeClaimVolumeSource,
    V1Volume,
    V1VolumeMount,
)
from kubespawner import KubeSpawner
from traitlets import Unicode, default

from hub.materials import CONTAINER_MATERIALS_DIR, Material, copy_command
from hub.spawners.docker import ALLOWED_ENV, server_env
from hub.spawners.plan import SpawnPlan, StudioSpawnerMixin

PROFILE_LABEL = "pythonlearningstudio.org/profile"
MATERIALS_VOLUME = "materials"
# KubeSpawner adds the image's name (JUPYTER_IMAGE, beside the older JUPYTER_IMAGE_SPEC).
KUBE_ALLOWED_ENV = ALLOWED_ENV | {"JUPYTER_IMAGE"}


class StudioKubeSpawner(StudioSpawnerMixin, KubeSpawner):
    """KubeSpawner hardened for learners and driven by resource profiles."""

    tmp_size = Unicode(
        "256Mi", help="Size limit of the in-memory emptyDir on /tmp (a Kubernetes quantity)."
    ).tag(config=True)

    instructor_config_path = Unicode(
        "/opt/venv/etc/jupyter-instructor",
        help="""JUPYTER_CONFIG_PATH for servers with the instructor profile (nbgrader's
        instructor tools; see images/README.md). Empty: the same configuration for everyone.""",
    ).tag(config=True)

    materials_claim = Unicode(
        "",
        help="""A PersistentVolumeClaim (ReadOnlyMany) holding the hub's course folders, mounted
        read-only into every pod to copy course materials from. Empty: no materials are copied
        (logged at each start).""",
    ).tag(config=True)

    materials_claim_root = Unicode(
        "",
        help="""The hub's path of the folder at the root of materials_claim. Empty: courses_dir.
        Released assignments (release_root) must be inside it too.""",
    ).tag(config=True)

    plan = None  # the SpawnPlan of the current start

    # -- defaults that make the plain KubeSpawner safe ------------------------------------

    @default("cmd")
    def _cmd_default(self):
        return ["jupyterhub-singleuser"]  # as args: the image's entrypoint (tini) stays

    @default("image")
    def _image_default(self):
        return self.default_image

    @default("uid")
    def _uid_default(self):
        return 1000  # jovyan in the studio's image

    @default("gid")
    def _gid_default(self):
        return 100  # users

    @default("fs_gid")
    def _fs_gid_default(self):
        return 100  # the work volume is writable by the group the server runs in

    @default("container_security_context")
    def _container_security_context_default(self):
        return {
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }

    @default("automount_service_account_token")
    def _automount_default(self):
        return False  # a learner's pod never talks to the Kubernetes API

    @default("pod_name_template")
    def _pod_name_template_default(self):
        return "pls-{user_server}"

    @default("pvc_name_template")
    def _pvc_name_template_default(self):
        return "pls-work-{user_server}"

    @default("storage_pvc_ensure")
    def _storage_pvc_ensure_default(self):
        return True

    @default("storage_capacity")
    def _storage_capacity_default(self):
        return "1Gi"

    @default("working_dir")
    def _working_dir_default(self):
        return "/home/jovyan/work"

    @default("notebook_dir")
    def _notebook_dir_default(self):
        return self.working_dir

    @default("volumes")
    def _volumes_default(self):
        return [
            {"name": "work", "persistentVolumeClaim": {"claimName": "{pvc_name}"}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": self.tmp_size}},
        ]

    @default("volume_mounts")
    def _volume_mounts_default(self):
        return [
            {"name": "work", "mountPath": self.working_dir},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108
        ]

    # -- applying the plan ------------------------------------------------------------------

    def apply_plan(self, plan: SpawnPlan) -> None:
        """Set image and limits for this start."""
        self.plan = plan
        self.image = plan.image
        self.mem_limit = plan.profile.mem_limit
        self.cpu_limit = plan.profile.cpu_limit
        self.extra_labels = {**self.extra_labels, PROFILE_LABEL: plan.profile.name}

    async def load_user_options(self):
        await super().load_user_options()  # a configured profile_list first: the plan wins
        plan = self.spawn_plan()
        self.apply_plan(plan)
        self.log.info(
            "Starting %s: image %s, profile %s (courses: %s)",
            self.user.name,
            plan.image,
            plan.profile,
            ", ".join(plan.course_slugs) or "none",
        )

    def material_mounts(self) -> list[V1VolumeMount]:
        """One read-only subPath mount of materials_claim per material of the plan."""
        if not self.plan or not self.plan.materials:
            return []
        if not self.materials_claim:
            self.log.warning(
                "No materials claim configured: %s's course materials are not copied",
                self.user.name,
            )
            return []
        root = Path(self.materials_claim_root or self.courses_dir).resolve()
        mounts = []
        for material in self.plan.materials:
            sub_path = claim_path(material, root)
            if sub_path is None:
                self.log.warning("%s is outside the materials claim: skipped", material.source)
                continue
            mounts.append(
                V1VolumeMount(
                    name=MATERIALS_VOLUME,
                    mount_path=f"{CONTAINER_MATERIALS_DIR}/{material.target}",
                    sub_path=sub_path,
                    read_only=True,
                )
            )
        return mounts

    async def get_pod_manifest(self):
        pod = await super().get_pod_manifest()
        mounts = self.material_mounts()
        if mounts:
            pod.spec.volumes.append(
                V1Volume(
                    name=MATERIALS_VOLUME,
                    persistent_volume_claim=V1PersistentVolumeClaimVolumeSource(
                        claim_name=self.materials_claim, read_only=True
                    ),
                )
            )
            (server,) = (c for c in pod.spec.containers if c.name == "notebook")
            server.volume_mounts.extend(mounts)
            server.args = copy_command(self.working_dir, list(server.args))
        return pod

    def get_env(self):
        return server_env(self, super().get_env(), KUBE_ALLOWED_ENV, "pod")


def claim_path(material: Material, root: Path) -> str | None:
    """The material's path inside the claim whose root is ``root``; None when outside it."""
    try:
        return Path(material.source).resolve().relative_to(root).as_posix()
    except ValueError:
        return None
