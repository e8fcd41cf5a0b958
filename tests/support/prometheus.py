"""Debian's Prometheus and promtool for the tests that need them (``.ci/provision prometheus``:
installed once, then a no-op), as ``make test`` provides them."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def provision_prometheus() -> None:
    """Install Prometheus and promtool when they are missing; fail with the provisioner's
    output when that is not possible."""
    provisioned = subprocess.run([str(ROOT / ".ci" / "provision"), "prometheus"], cwd=ROOT,
                                 capture_output=True, text=True, timeout=900, check=False)
    assert provisioned.returncode == 0, provisioned.stdout + provisioned.stderr
