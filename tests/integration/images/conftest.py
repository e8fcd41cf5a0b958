"""The Docker engine and the learner image, made ready once per test session.

`.ci/provision docker images` installs and starts dockerd when needed and builds
pls-notebook:latest offline (a no-op when its inputs are unchanged), so these tests also work when
run on their own: `.venv/bin/pytest tests/integration/images`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
NOTEBOOK_IMAGE = "pls-notebook:latest"


@pytest.fixture(scope="session")
def notebook_image() -> str:
    """pls-notebook:latest, built from the current inputs, in a running engine."""
    result = subprocess.run(
        [str(ROOT / ".ci" / "provision"), "docker", "images"],
        cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False,
    )
    assert result.returncode == 0, f"provisioning failed:\n{result.stdout}\n{result.stderr}"
    return NOTEBOOK_IMAGE
