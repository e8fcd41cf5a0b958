"""A Docker engine of the test's own, to restart as an admin restarts the studio's engine.

The engine every other test uses (and other developers' tests, at the same time) must never be
restarted by a test: so a test that restarts one starts its own ``dockerd`` beside it, sharing
nothing with it: its own data and exec roots and socket under a fresh folder in /tmp (a unix
socket's path must be short), its own containerd (which dockerd supervises), a bridge of its own
(``plspe<hex>``, on a 10.254.x.0/24 that no engine's default pools hand out) and no iptables
rules (its containers run with network ``none``), its containers' cgroups under a parent of
their own. Not ``--bridge none``: a dockerd without a bridge deletes the interface ``docker0``
as it starts, which is the shared engine's default network (every other test's containers lost
it). Its configuration is a ``daemon.json`` given by the test (``--config-file``): the studio's,
``deploy/docker/daemon.json``.

It has no image: :meth:`PrivateEngine.import_sleeper` imports one made of this machine's
``sleep`` and the libraries it needs, enough for a container that stays up (nothing is pulled;
the studio's images are large to copy and not what an engine restart is about).
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

START_SECONDS = 60
STOP_SECONDS = 60
SLEEPER = "pls-private-engine/sleeper:latest"


@dataclass
class PrivateEngine:
    root: Path
    config_file: Path
    cgroup_parent: str
    bridge: str
    process: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    def docker(self, *args: str, timeout: float = 60, input: bytes | None = None
               ) -> subprocess.CompletedProcess:
        """The docker CLI against this engine; fails with its output."""
        done = subprocess.run(["docker", "-H", f"unix://{self.socket}", *args], input=input,
                              capture_output=True, timeout=timeout, check=False)
        assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr.decode()}"
        return done

    def inspect(self, name: str) -> dict:
        (found,) = json.loads(self.docker("inspect", name).stdout)
        return found

    def info(self) -> dict:
        return json.loads(self.docker("info", "--format", "{{json .}}").stdout)

    # -- its life ----------------------------------------------------------------------------

    def start(self) -> None:
        for name in ("data", "exec"):
            (self.root / name).mkdir(exist_ok=True)
        log = (self.root / "dockerd.log").open("ab")
        self.process = subprocess.Popen(
            ["dockerd", "--config-file", str(self.config_file),
             "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
             "--pidfile", str(self.root / "dockerd.pid"), "-H", f"unix://{self.socket}",
             "--bridge", self.bridge, "--iptables=false", "--ip-masq=false", "--ip-forward=false",
             "--cgroup-parent", self.cgroup_parent],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + START_SECONDS
        while subprocess.run(["docker", "-H", f"unix://{self.socket}", "version"],
                             capture_output=True, check=False, timeout=30).returncode != 0:
            assert time.monotonic() < deadline, f"the private dockerd did not start:\n{self.log()}"
            time.sleep(0.5)

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        """Stop dockerd (SIGTERM: as ``systemctl stop docker`` does; SIGKILL: a crash) and wait
        until it is gone."""
        assert self.process is not None
        self.process.send_signal(how)
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the private dockerd did not stop:\n{self.log()}") from None
        self.process = None

    def log(self) -> str:
        path = self.root / "dockerd.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    # -- what runs in it ---------------------------------------------------------------------

    def import_sleeper(self) -> str:
        """An image of ``/bin/sleep`` and its libraries (``ldd``), imported; its name."""
        sleep = Path(shutil.which("sleep") or "/bin/sleep").resolve()
        libraries = re.findall(r"(/\S+) \(0x", subprocess.run(
            ["ldd", str(sleep)], capture_output=True, text=True, check=True).stdout)
        rootfs = self.root / "rootfs.tar"
        with tarfile.open(rootfs, "w") as archive:
            archive.add(sleep, arcname="bin/sleep")
            for library in libraries:
                archive.add(Path(library).resolve(), arcname=library.lstrip("/"))
        self.docker("import", "-", SLEEPER, input=rootfs.read_bytes())
        return SLEEPER


def _add_bridge(name: str, address: str) -> None:
    for command in (["ip", "link", "add", name, "type", "bridge"],
                    ["ip", "addr", "add", address, "dev", name],
                    ["ip", "link", "set", name, "up"]):
        subprocess.run(command, capture_output=True, check=True)


def _unmount_under(root: Path) -> None:
    """What dockerd left mounted under its folder (its data root, network namespaces)."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for point in sorted((m for m in mounts if m.startswith(f"{root}/")), reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


@contextmanager
def private_engine(config_file: Path) -> Iterator[PrivateEngine]:
    """A dockerd of its own, started with ``config_file``; afterwards its containers removed,
    it stopped and its folder deleted."""
    assert shutil.which("dockerd"), "no dockerd: run `.ci/provision docker`"
    root = Path(tempfile.mkdtemp(prefix="pls-engine-", dir="/tmp"))
    tag = secrets.token_hex(3)
    engine = PrivateEngine(root, config_file, f"pls-private-engine-{tag}", f"plspe{tag}")
    try:
        _add_bridge(engine.bridge, f"10.254.{secrets.randbelow(250) + 1}.1/24")
        engine.start()
        yield engine
    finally:
        if engine.process is not None:
            left = subprocess.run(["docker", "-H", f"unix://{engine.socket}", "ps", "-aq"],
                                  capture_output=True, text=True, check=False).stdout.split()
            if left:
                subprocess.run(["docker", "-H", f"unix://{engine.socket}", "rm", "-f", *left],
                               capture_output=True, check=False, timeout=STOP_SECONDS)
            engine.stop()
        _unmount_under(root)
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["ip", "link", "delete", engine.bridge], capture_output=True, check=False)
        cgroups = Path("/sys/fs/cgroup")
        for parent in [*cgroups.glob(f"*/{engine.cgroup_parent}"), cgroups / engine.cgroup_parent]:
            with contextlib.suppress(OSError):  # empty; one the kernel still holds stays
                parent.rmdir()

