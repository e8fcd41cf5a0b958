# This script exists to run docker, debootstrap, tar and pip with arguments it builds itself.
# ruff: noqa: S603, S607
"""Build the studio's Docker images offline, cached by a content hash of their inputs.

    images/build notebook            build pls-notebook:latest (and the local base it needs)
    images/build hub lms grader tutor front postgres prometheus   the production images (compose)
    images/build --check notebook    exit 0 when the image is up to date, 1 when it would be rebuilt
    images/build --base-image debian:bookworm-slim notebook   use a public base (production)

Nothing is pulled from a registry and the containers never reach PyPI:

1. base: ``pls-base:bookworm`` is a ``debootstrap --variant=minbase`` root filesystem imported with
   ``docker import``. The tarball is cached under ``var/cache/images/base/``.
2. wheelhouse: the host downloads every wheel the image needs with ``pip download``, resolved for
   the image's interpreter (Debian 12's Python 3.11.2, glibc 2.36, x86_64), not the host's, so a
   wheel whose ``Requires-Python`` the image cannot meet is never chosen. Pins come from the repo's
   ``constraints.txt`` with ``images/<name>/constraints-image.txt`` laid over it (an overlay line
   replaces the repo pin of the same package). Cached under ``var/cache/images/wheelhouse/<key>/``.
3. local packages: source folders of this repo that a target installs (e.g. ``grading/image``,
   the sandbox's runner) are built into pure-Python wheels on the host with ``pip wheel --no-deps``;
   their declared dependencies join the requirements, so the wheelhouse holds those too.
4. repo sources: the studio's own code (``lms/``, ``hub/``, ``grading/``, ...) is not installed but
   copied into the context's ``app/`` (the ``studio`` target); the service images (``hub``,
   ``lms``, ``grader``, ``tutor``) build ``FROM`` that image, so they share one virtualenv layer.
5. image: ``docker build`` of ``images/<name>/Dockerfile`` in a context assembled under
   ``var/cache/images/context/<name>/``; a build stage installs from the wheelhouse, the final stage
   copies only the virtualenv. The image carries the hash of its inputs as the label
   ``org.pythonlearningstudio.inputs`` (and as a second tag): equal hash, no rebuild.

Only the standard library is used, so this runs with any Python >= 3.11.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "images"
CACHE = Path(os.environ.get("IMAGES_CACHE", ROOT / "var" / "cache" / "images"))
LABEL = "org.pythonlearningstudio.inputs"
# Bump when this script changes how an image is made, so every image is rebuilt once.
RECIPE = "3"
# What building a package leaves in (or Python writes into) its source folder: never an input.
# The JupyterLab extension's too: jlpm's node_modules/ and .yarn/ cache, tsc's lib/, the built
# labextension/, hatch's _version.py, jest's coverage/.
GENERATED = ("__pycache__", "build", "dist", ".pytest_cache", ".ruff_cache", "node_modules",
             ".yarn", "lib", "coverage", "labextension", "_version.py")
GENERATED_SUFFIXES = (".pyc", ".pyo", ".egg-info", ".tsbuildinfo", ".eslintcache")
# Built output a wheel must carry although it is no source: the prebuilt lab extension.
WHEEL_PAYLOAD = ("labextension",)

# The local base: what `FROM debian:bookworm-slim` would give, made with debootstrap.
BASE_IMAGE = "pls-base:bookworm"
BASE_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
DEBIAN_SECURITY = os.environ.get("DEBIAN_SECURITY_MIRROR", "http://deb.debian.org/debian-security")

# The interpreter and platform of the images (Debian 12): wheels are resolved for these.
TARGET_PYTHON = "3.11.2"
TARGET_ABI = "cp311"
TARGET_GLIBC_MINOR = 36
TARGET_ARCH = "x86_64"


@dataclass
class Target:
    """One image this script builds: its folder under images/ and what goes into its venv.

    ``packages`` are source folders of this repo (each with a ``pyproject.toml``) that the image
    installs as well: there is no index to fetch them from, so the host builds their wheels.
    ``sources`` are files and folders of this repo copied as they are into the context's
    ``app/`` (keeping their paths): code the image runs from its working directory rather than
    installs. ``parent`` names the target this image is built ``FROM`` (its ``BASE_IMAGE``):
    built first when stale, and its inputs hash is this image's base identity."""

    name: str
    tag: str
    requirements: list[str] = field(default_factory=list)
    packages: list[Path] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)
    parent: str | None = None

    @property
    def folder(self) -> Path:
        return IMAGES / self.name


def notebook_requirements() -> list[str]:
    """The `notebook` extra of pyproject.toml, plus jupyterhub-singleuser and pip."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # jupyterhub: for `jupyterhub-singleuser`, at the hub's version (pinned by constraints.txt).
    return [*project["optional-dependencies"]["notebook"], "jupyterhub", "pip"]


def studio_requirements() -> list[str]:
    """What the studio's own services import: the project's dependencies and its ``lms``,
    ``hub``, ``grading`` and ``tutor`` extras (one virtualenv for the four service images), plus
    pip, which the build stage uses and then removes."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return [*project["dependencies"], *extras["lms"], *extras["hub"], *extras["grading"],
            *extras["tutor"], "pip"]


# The repo's code the service images run from /srv/studio (PYTHONPATH): the four parts, what
# they share (servicekit/, and courses/*.py: the course.yml reader, the naming conventions, the
# lateness rule), not the course content (mounted at run time).
STUDIO_SOURCES = ("lms", "hub", "grading", "tutor", "servicekit", "jupyterhub_config.py")


def studio_sources() -> list[Path]:
    return [ROOT / path for path in STUDIO_SOURCES] + sorted((ROOT / "courses").glob("*.py"))


def service(name: str) -> Target:
    """A production service image: images/<name>/ on top of the ``studio`` image."""
    return Target(name, f"pls-{name}", parent="studio")


TARGETS = {
    # grading/image: pls-grading, which the grading sandbox runs in the course's image.
    # extensions/pls_tutor: pls-tutor, the tutor's JupyterLab extension (frontend built here).
    # extensions/pls_grading_status: pls-grading-status, the grading status notification (too).
    "notebook": lambda: Target(
        "notebook", "pls-notebook", notebook_requirements(),
        [ROOT / "grading" / "image", ROOT / "extensions" / "pls_tutor",
         ROOT / "extensions" / "pls_grading_status"],
    ),
    # docker-compose.yml's images (docs/architecture.md, "Production"): the shared virtualenv and
    # code, the four services on top of it, the public entry point, Prometheus (Debian's), and a
    # local PostgreSQL for machines that cannot pull postgres:16.
    "studio": lambda: Target("studio", "pls-studio", studio_requirements(),
                             sources=studio_sources()),
    "hub": lambda: service("hub"),
    "lms": lambda: service("lms"),
    "grader": lambda: service("grader"),
    "tutor": lambda: service("tutor"),
    "front": lambda: Target("front", "pls-front"),
    "prometheus": lambda: Target("prometheus", "pls-prometheus"),
    "postgres": lambda: Target("postgres", "pls-postgres"),
}


class BuildError(Exception):
    """A failure with a message for the person running the build."""


# -- progress ------------------------------------------------------------------------------------


class Progress:
    """One line per step with its elapsed seconds (rewritten in place on a terminal)."""

    def __init__(self, stream=sys.stdout):
        self.stream = stream
        self.tty = stream.isatty()
        self.label: str | None = None
        self.started = 0.0
        self.t0 = time.monotonic()

    def begin(self, label: str) -> None:
        self.end()
        self.label, self.started = label, time.monotonic()
        if self.tty:
            self.stream.write(f"  ...     {label}")
            self.stream.flush()

    def end(self, note: str = "") -> None:
        if self.label is None:
            return
        elapsed = time.monotonic() - self.started
        line = f"  {elapsed:6.1f}s {self.label}{'  ' + note if note else ''}"
        self.stream.write(("\r\033[K" if self.tty else "") + line + "\n")
        self.stream.flush()
        self.label = None

    def say(self, message: str) -> None:
        self.end()
        self.stream.write(f"==> {message}\n")
        self.stream.flush()

    def total(self) -> float:
        return time.monotonic() - self.t0


# -- helpers -------------------------------------------------------------------------------------


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def generated(relative: Path) -> bool:
    """Whether a path under a source folder is a build's or Python's leftover (not source)."""
    return any(
        part in GENERATED or part.endswith(GENERATED_SUFFIXES) for part in relative.parts
    )


def tree_digest(folder: Path) -> str:
    """Hash of every source file under folder: relative paths, modes and contents. Leftovers of
    builds and imports (``__pycache__``, ``build/``, ``*.egg-info``) are left out, so running the
    tests or building a wheel does not make the image look stale."""
    h = hashlib.sha256()
    files = (p for p in folder.rglob("*") if p.is_file())
    for path in sorted(p for p in files if not generated(p.relative_to(folder))):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        h.update(b"x" if os.access(path, os.X_OK) else b"-")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def run(cmd: list[str], log: Path, **kwargs) -> None:
    """Run cmd with its output appended to log; on failure show the log's tail."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False, **kwargs)
    if result.returncode != 0:
        raise BuildError(f"{cmd[0]} failed (exit {result.returncode}); see {log}\n{tail(log)}")


def tail(log: Path, lines: int = 30) -> str:
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join("    " + line for line in text)


def require_docker() -> None:
    if shutil.which("docker") is None:
        raise BuildError("the docker CLI is not installed: run `.ci/provision docker`")
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise BuildError(
            "the Docker engine is not running (`docker info` failed): start it with "
            "`.ci/provision docker`\n    " + (probe.stderr.strip().splitlines() or [""])[-1]
        )


def image_label(ref: str) -> str | None:
    """The inputs hash an image was built from, or None when the image does not exist."""
    fmt = "{{index .Config.Labels \"" + LABEL + "\"}}"
    probe = subprocess.run(
        ["docker", "image", "inspect", "--format", fmt, ref],
        capture_output=True, text=True, check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def image_id(ref: str) -> str | None:
    probe = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", ref],
        capture_output=True, text=True, check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str:
    return canonical(re.split(r"[\s=<>!~;\[@]", line.strip(), maxsplit=1)[0])


def merged_constraints(target: Target) -> str:
    """constraints.txt with the image's overlay laid over it (overlay pins win)."""
    overlay_file = target.folder / "constraints-image.txt"
    overlay = [
        line.strip()
        for line in (overlay_file.read_text().splitlines() if overlay_file.exists() else [])
        if line.strip() and not line.lstrip().startswith("#")
    ]
    replaced = {requirement_name(line) for line in overlay}
    base = [
        line.strip()
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
        and requirement_name(line) not in replaced
    ]
    return "\n".join([*base, *overlay]) + "\n"


# -- the base image ------------------------------------------------------------------------------

# Run inside the fresh root filesystem: the same trimming debian:bookworm-slim does.
BASE_TIDY = f"""\
set -e
cat > /etc/apt/sources.list <<EOF
deb {DEBIAN_MIRROR} {BASE_SUITE} main
deb {DEBIAN_MIRROR} {BASE_SUITE}-updates main
deb {DEBIAN_SECURITY} {BASE_SUITE}-security main
EOF
cat > /etc/dpkg/dpkg.cfg.d/docker-slim <<EOF
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
cat > /etc/apt/apt.conf.d/docker-clean <<EOF
DPkg::Post-Invoke {{ "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; }};
APT::Update::Post-Invoke {{ "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; }};
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'APT::Install-Recommends "false";' > /etc/apt/apt.conf.d/docker-no-recommends
find /usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/locale/* /usr/share/lintian/*
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /var/log/apt/* /tmp/*
echo pls-base > /etc/hostname
"""


def base_key() -> str:
    return digest(RECIPE, "base", BASE_SUITE, DEBIAN_MIRROR, DEBIAN_SECURITY, BASE_TIDY)


def ensure_base(progress: Progress, log: Path, force: bool = False) -> str:
    """Make pls-base:bookworm from debootstrap (tarball cached); return its inputs hash."""
    key = base_key()
    if not force and image_label(BASE_IMAGE) == key:
        progress.say(f"{BASE_IMAGE} is up to date")
        return key
    cache = CACHE / "base"
    tarball = cache / f"{BASE_SUITE}-{key[:16]}.tar"
    if not tarball.exists():
        if shutil.which("debootstrap") is None:
            if os.geteuid() != 0:
                raise BuildError("debootstrap is missing: apt-get install debootstrap")
            progress.begin("apt-get install debootstrap")
            run(["apt-get", "install", "-y", "-qq", "debootstrap"], log,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        rootfs = cache / f"rootfs-{key[:16]}"
        shutil.rmtree(rootfs, ignore_errors=True)
        progress.begin(f"debootstrap --variant=minbase {BASE_SUITE} (from {DEBIAN_MIRROR})")
        run(["debootstrap", "--variant=minbase", BASE_SUITE, str(rootfs), DEBIAN_MIRROR], log)
        progress.begin("trim the root filesystem like debian:bookworm-slim")
        run(["chroot", str(rootfs), "/bin/sh", "-c", BASE_TIDY], log)
        partial = tarball.with_suffix(".partial")
        with partial.open("wb") as out:
            subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
                           stdout=out, check=True)
        partial.rename(tarball)
        shutil.rmtree(rootfs)
        for old in cache.glob(f"{BASE_SUITE}-*.tar"):
            if old != tarball:
                old.unlink()
    progress.begin(f"docker import {tarball.name} -> {BASE_IMAGE}")
    run([
        "docker", "import",
        "--change", f"LABEL {LABEL}={key}",
        "--change", "ENV LANG=C.UTF-8",
        "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--change", 'CMD ["bash"]',
        str(tarball), BASE_IMAGE,
    ], log)
    progress.end()
    return key


# -- the wheelhouse ------------------------------------------------------------------------------


def target_platforms() -> list[str]:
    """Every manylinux tag glibc 2.36 runs (pip does not expand manylinux_2_X by itself)."""
    tags = [f"manylinux_2_{minor}_{TARGET_ARCH}" for minor in range(TARGET_GLIBC_MINOR, 16, -1)]
    return [*tags, f"manylinux2014_{TARGET_ARCH}", f"manylinux2010_{TARGET_ARCH}",
            f"manylinux1_{TARGET_ARCH}", f"linux_{TARGET_ARCH}"]


def host_python() -> str:
    """A Python with pip for `pip download`: the repo's venv, else this interpreter."""
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def wheelhouse_key(requirements: str, constraints: str) -> str:
    return digest(RECIPE, "wheels", TARGET_PYTHON, TARGET_ABI, *target_platforms(),
                  requirements, constraints)


WHEELHOUSE_OWNER = ".target"  # which target a wheelhouse was made for (none: notebook's, older)


def ensure_wheelhouse(requirements: str, constraints: str, progress: Progress, log: Path,
                      owner: str = "notebook") -> Path:
    key = wheelhouse_key(requirements, constraints)
    house = CACHE / "wheelhouse" / key[:16]
    if (house / ".complete").exists():
        progress.say(f"wheelhouse {key[:16]} is cached ({len(list(house.glob('*.whl')))} wheels)")
        return house
    shutil.rmtree(house, ignore_errors=True)
    house.mkdir(parents=True)
    (house / "requirements.txt").write_text(requirements)
    (house / "constraints.txt").write_text(constraints)
    progress.begin(f"pip download for CPython {TARGET_PYTHON}, manylinux_2_{TARGET_GLIBC_MINOR}")
    cmd = [host_python(), "-m", "pip", "download", "--disable-pip-version-check",
           "--dest", str(house), "--only-binary=:all:",
           "--python-version", TARGET_PYTHON, "--implementation", "cp",
           "--abi", TARGET_ABI, "--abi", "abi3", "--abi", "none",
           "-r", str(house / "requirements.txt"), "-c", str(house / "constraints.txt")]
    for platform in target_platforms():
        cmd += ["--platform", platform]
    try:
        # Bounded: with every package pinned pip resolves in seconds; a pin the image's Python
        # cannot run makes pip backtrack for ages instead of failing, so stop it and say why.
        run(cmd, log, timeout=900)
    except subprocess.TimeoutExpired as exc:
        raise BuildError(
            "pip download did not finish in 15 minutes: some pin in constraints.txt probably "
            f"needs a newer Python than the image's {TARGET_PYTHON}; pin a version it can run "
            "in images/<name>/constraints-image.txt"
        ) from exc
    (house / WHEELHOUSE_OWNER).write_text(owner + "\n")
    (house / ".complete").write_text(key + "\n")
    progress.end(f"{len(list(house.glob('*.whl')))} wheels")
    prune_wheelhouses(house, owner)
    return house


def prune_wheelhouses(keep: Path, owner: str) -> None:
    """Remove the older wheelhouses of ``owner`` only: each target keeps its latest one, so
    building the studio's images does not make the next notebook build download again."""
    for old in (CACHE / "wheelhouse").iterdir():
        if old == keep or not old.is_dir():
            continue
        marker = old / WHEELHOUSE_OWNER
        old_owner = marker.read_text().strip() if marker.is_file() else "notebook"
        if old_owner == owner:
            shutil.rmtree(old, ignore_errors=True)


# -- the image -----------------------------------------------------------------------------------


@dataclass
class Plan:
    """Everything that determines one image, and the hash of it."""

    target: Target
    base_ref: str
    base_identity: str
    requirements: str
    constraints: str

    @property
    def key(self) -> str:
        return digest(RECIPE, self.target.name, self.base_ref, self.base_identity,
                      tree_digest(self.target.folder), self.requirements, self.constraints,
                      *package_digests(self.target), *source_digests(self.target))


def package_digests(target: Target) -> list[str]:
    """One ``<path in the repo>:<hash of its sources>`` per local package of target: a change
    to a package's files rebuilds the image, and only a change does."""
    return [f"{package_label(folder)}:{tree_digest(folder)}" for folder in target.packages]


def source_digests(target: Target) -> list[str]:
    """One ``<path in the repo>:<hash>`` per source file or folder copied into ``app/`` (none
    for targets without sources, so their hash is what it was before sources existed)."""
    return [
        f"{package_label(path)}:{tree_digest(path) if path.is_dir() else file_digest(path)}"
        for path in target.sources
    ]


def file_digest(path: Path) -> str:
    """A single source file's hash, with its mode like :func:`tree_digest`."""
    return digest(b"x" if os.access(path, os.X_OK) else b"-", path.read_bytes())


def package_label(folder: Path) -> str:
    with contextlib.suppress(ValueError):
        return folder.resolve().relative_to(ROOT).as_posix()
    return str(folder)


def package_dependencies(folder: Path) -> list[str]:
    """The ``[project] dependencies`` of the local package in folder (its pyproject.toml)."""
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        raise BuildError(f"local package {folder} has no pyproject.toml")
    return list(tomllib.loads(pyproject.read_text())["project"].get("dependencies", []))


def all_requirements(target: Target) -> list[str]:
    """target's requirements and its local packages' dependencies (those named nowhere yet):
    the image has no index, so the wheelhouse must hold what the local wheels need."""
    named = {requirement_name(line) for line in target.requirements}
    merged = list(target.requirements)
    for folder in target.packages:
        for line in package_dependencies(folder):
            if requirement_name(line) not in named:
                named.add(requirement_name(line))
                merged.append(line)
    return merged


def plan(target: Target, base_ref: str | None) -> Plan:
    if target.parent is not None:  # FROM another target's image, at its exact inputs hash
        parent = plan(TARGETS[target.parent](), base_ref)
        return Plan(target, f"{parent.target.tag}:{parent.key[:12]}", "parent:" + parent.key,
                    "\n".join(all_requirements(target)) + "\n", merged_constraints(target))
    if base_ref is None:  # the local debootstrap base, identified by its own inputs
        ref, identity = BASE_IMAGE, "local:" + base_key()
    else:  # a public or preloaded base, identified by its image id
        ref = base_ref
        identity = image_id(base_ref) or ""
        if not identity:
            raise BuildError(f"base image {base_ref} is not present: `docker pull {base_ref}`")
    return Plan(target, ref, identity, "\n".join(all_requirements(target)) + "\n",
                merged_constraints(target))


# Wheel file names: name-version(-build)?-python-abi-platform.whl (PEP 427).
WHEEL_NAME = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")


def build_local_wheels(p: Plan, wheels: Path, progress: Progress, log: Path) -> list[str]:
    """``pip wheel --no-deps`` each local package of the plan into wheels/; returns their
    ``name==version`` pins. Each package is built from a scratch copy of its sources, because
    setuptools writes ``build/`` and ``*.egg-info`` into the folder it builds."""
    wheels.mkdir(parents=True, exist_ok=True)
    pins = []
    for folder in p.target.packages:
        frontend = has_frontend(folder)
        if frontend:
            build_frontend(folder, progress, log)
        progress.begin(f"pip wheel --no-deps {package_label(folder)}")
        scratch = CACHE / "packages" / folder.name
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.copytree(folder, scratch, ignore=lambda _d, names: [
            n for n in names if generated(Path(n)) and n not in WHEEL_PAYLOAD
        ])
        before = set(wheels.glob("*.whl"))
        # A frontend package's build backend (hatchling + hatch-jupyter-builder) is in the
        # host venv (the dev extra), so its wheel builds with no index at all.
        isolation = ["--no-build-isolation"] if frontend else []
        run([host_python(), "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
             *isolation, "--wheel-dir", str(wheels), str(scratch)], log)
        shutil.rmtree(scratch, ignore_errors=True)
        pins.append(local_pin(folder, set(wheels.glob("*.whl")) - before))
        progress.end()
    return pins


# -- JupyterLab extensions: the frontend, built on the host ------------------------------------

FRONTEND_STAMP = ".pls-frontend-inputs"  # in node_modules/: gone with it, never an input
FRONTEND_OUTPUT = Path("labextension") / "static" / "style.js"


def has_frontend(folder: Path) -> bool:
    """A local package with a JupyterLab frontend (package.json beside pyproject.toml)."""
    return (folder / "package.json").is_file()


def host_tool(name: str) -> str:
    """A command of the repo's venv (jlpm, jupyter), else the one on PATH."""
    venv = ROOT / ".venv" / "bin" / name
    return str(venv) if venv.exists() else (shutil.which(name) or name)


def frontend_inputs(folder: Path) -> str:
    """What the built labextension depends on: the package's sources (yarn.lock among them)
    and the JupyterLab it is built against (its core package file, see
    ``scripts/core_package_file.py``)."""
    core = subprocess.run(
        [host_python(), "-c", "import jupyterlab; print(jupyterlab.__version__)"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()
    return digest(RECIPE, "frontend", tree_digest(folder), core)


def build_frontend(folder: Path, progress: Progress, log: Path) -> None:
    """``jlpm install --immutable`` and ``jlpm build:prod`` in folder, unless the labextension
    there was built from the same inputs. node_modules/ and the package cache (.yarn/) stay in
    the folder (git-ignored): the first build fetches from the npm registry, later ones need no
    network. The venv comes first on PATH: the build runs its `jupyter labextension`."""
    stamp = folder / "node_modules" / FRONTEND_STAMP
    inputs = frontend_inputs(folder)
    label = package_label(folder)
    output = next(folder.glob(f"*/{FRONTEND_OUTPUT}"), None)  # <python package>/labextension
    if output is not None and stamp.is_file() and stamp.read_text().strip() == inputs:
        progress.say(f"{label}: labextension is up to date")
        return
    env = {**os.environ,
           "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    if shutil.which("node", path=env["PATH"]) is None:
        raise BuildError(f"{label} needs Node.js to build its frontend: apt-get install nodejs")
    jlpm = host_tool("jlpm")
    progress.begin(f"jlpm install --immutable ({label})")
    run([jlpm, "install", "--immutable"], log, cwd=folder, env=env)
    progress.begin(f"jlpm build:prod ({label})")
    run([jlpm, "build:prod"], log, cwd=folder, env=env)
    if next(folder.glob(f"*/{FRONTEND_OUTPUT}"), None) is None:
        raise BuildError(f"jlpm build:prod of {label} made no labextension; see {log}")
    stamp.write_text(inputs + "\n")
    progress.end()


def local_pin(folder: Path, new: set[Path]) -> str:
    """``name==version`` of the one wheel built from folder; refuses a non-pure wheel (the
    host's interpreter and platform are not the image's, and the image has no compiler)."""
    if len(new) != 1:
        raise BuildError(f"pip wheel of {folder} made {len(new)} wheels, expected 1")
    wheel = new.pop().name
    match = WHEEL_NAME.match(wheel)
    if not match or not wheel.endswith("-none-any.whl"):
        raise BuildError(f"{folder} built {wheel}: local packages must be pure Python "
                         "(a py3-none-any wheel)")
    return f"{canonical(match['name'])}=={match['version']}"


def copy_sources(target: Target, app: Path) -> None:
    """The target's repo sources into ``app/`` at their paths in the repo, without leftovers
    (``__pycache__``, ``build/``, ...): exactly what :func:`source_digests` hashed."""
    for path in target.sources:
        destination = app / path.relative_to(ROOT)
        if path.is_dir():
            shutil.copytree(path, destination, ignore=lambda _d, names: [
                n for n in names if generated(Path(n))
            ])
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)


def assemble_context(p: Plan, house: Path | None, progress: Progress, log: Path) -> Path:
    """The docker build context: images/<name>/, the wheelhouse (hard links, not copies), the
    local packages' wheels and their pins (``local-wheels/``, ``local-requirements.txt``, a
    layer of their own: a change to one reinstalls only them), requirements and constraints."""
    ctx = CACHE / "context" / p.target.name
    shutil.rmtree(ctx, ignore_errors=True)
    shutil.copytree(p.target.folder, ctx)
    (ctx / "wheelhouse").mkdir()
    for wheel in house.glob("*.whl") if house is not None else ():
        try:
            os.link(wheel, ctx / "wheelhouse" / wheel.name)
        except OSError:
            shutil.copy2(wheel, ctx / "wheelhouse" / wheel.name)
    pins = build_local_wheels(p, ctx / "local-wheels", progress, log)
    (ctx / "local-requirements.txt").write_text("".join(f"{pin}\n" for pin in pins))
    copy_sources(p.target, ctx / "app")
    (ctx / "requirements.txt").write_text(p.requirements)
    (ctx / "constraints.txt").write_text(p.constraints)
    return ctx


STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


def docker_build(p: Plan, ctx: Path, progress: Progress, log: Path) -> None:
    """Run the legacy builder (the engine here has no buildx) and show one line per step."""
    key = p.key
    cmd = ["docker", "build", "--rm", "--force-rm",
           "--build-arg", f"BASE_IMAGE={p.base_ref}",
           "--label", f"{LABEL}={key}",
           "-t", f"{p.target.tag}:latest", "-t", f"{p.target.tag}:{key[:12]}", str(ctx)]
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=env, bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            match = STEP.match(line.rstrip("\n"))
            if match:
                number, count, instruction = match.groups()
                short = instruction if len(instruction) <= 70 else instruction[:67] + "..."
                progress.begin(f"step {number:>2}/{count} {short}")
            elif line.startswith(" ---> Using cache"):
                progress.end("(cached)")
        code = proc.wait()
    if code != 0:
        progress.end("FAILED")
        raise BuildError(f"docker build of {p.target.tag} failed (exit {code}); see {log}\n"
                         + tail(log))
    progress.end()


def drop_old_tags(p: Plan) -> None:
    """Remove this image's tags from earlier input hashes (their layers go with them)."""
    listing = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", p.target.tag],
        capture_output=True, text=True, check=False,
    ).stdout.split()
    keep = {f"{p.target.tag}:latest", f"{p.target.tag}:{p.key[:12]}"}
    stale = [ref for ref in listing if ref not in keep]
    if stale:
        subprocess.run(["docker", "image", "rm", *stale], capture_output=True, check=False)


def build(name: str, base_ref: str | None, force: bool) -> int:
    progress = Progress()
    target = TARGETS[name]()
    if target.parent is not None:  # the parent first (from its cache when up to date)
        build(target.parent, base_ref, force=False)
    log = CACHE / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    require_docker()
    p = plan(target, base_ref)
    key = p.key
    if not force and image_label(f"{target.tag}:latest") == key:
        progress.say(f"{target.tag}:latest is up to date (inputs {key[:12]}); nothing to build")
        return 0
    progress.say(f"building {target.tag}:latest (inputs {key[:12]}); log: {log}")
    if base_ref is None and target.parent is None:
        ensure_base(progress, log)
    # Images without Python packages of their own (on top of another target, or no Python at
    # all) need no wheelhouse.
    house = (ensure_wheelhouse(p.requirements, p.constraints, progress, log, owner=name)
             if all_requirements(target) else None)
    progress.begin("assemble the build context")
    ctx = assemble_context(p, house, progress, log)
    progress.end()
    docker_build(p, ctx, progress, log)
    shutil.rmtree(ctx, ignore_errors=True)
    drop_old_tags(p)
    size = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", f"{target.tag}:latest"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()
    mb = f"{int(size) / 1e6:.0f} MB" if size.isdigit() else "?"
    progress.say(f"built {target.tag}:latest ({mb}) in {progress.total():.1f} s")
    return 0


def check(name: str, base_ref: str | None) -> int:
    """0 when the image exists and was built from the current inputs, else 1."""
    target = TARGETS[name]()
    require_docker()
    key = plan(target, base_ref).key
    found = image_label(f"{target.tag}:latest")
    if found == key:
        print(f"{target.tag}:latest is up to date (inputs {key[:12]})")
        return 0
    state = "missing" if found is None else f"stale (built from {found[:12] or '?'})"
    print(f"{target.tag}:latest is {state}; current inputs {key[:12]}")
    return 1


@contextlib.contextmanager
def build_lock():
    """One build at a time per cache: two builds filling the same wheelhouse or base tarball at
    once leave a cache that looks complete and is not. A second build waits for the first."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "build.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("images/build: another build is running; waiting for it", file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="images/build", description=__doc__.split("\n")[0])
    parser.add_argument("images", nargs="*", default=["notebook"], choices=sorted(TARGETS),
                        help="which images to build (default: notebook)")
    parser.add_argument("--check", action="store_true",
                        help="build nothing; exit 0 when every named image is up to date")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument("--base-image", default=os.environ.get("BASE_IMAGE") or None,
                        help="a base image already in the engine (e.g. debian:bookworm-slim) "
                        f"instead of the local {BASE_IMAGE}; also read from $BASE_IMAGE")
    args = parser.parse_args(argv)
    try:
        if args.check:
            codes = [check(n, args.base_image) for n in args.images]
        else:
            with build_lock():
                codes = [build(n, args.base_image, args.force) for n in args.images]
    except BuildError as exc:
        print(f"images/build: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("images/build: interrupted", file=sys.stderr)
        return 130
    return max(codes, default=0)


if __name__ == "__main__":
    sys.exit(main())
