"""The end-to-end tests' screenshots kept for a person to look at after the run: each step of
each test in ``var/e2e/`` (git-ignored; the grading status test shows a notification in each of
its states), listed at the end of the run (tests/conftest.py, in the process that reports, also
when pytest-xdist workers took them)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEPT_DIR = ROOT / "var" / "e2e"


def keep(screenshot: Path, test_name: str, step: str) -> Path:
    """Copy ``screenshot`` to ``var/e2e/<test name>-<step>.png``."""
    kept = KEPT_DIR / re.sub(r"[^A-Za-z0-9_.-]", "_", f"{test_name}-{step}.png")
    KEPT_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, kept)
    return kept


def kept_since(started: float) -> list[Path]:
    """The screenshots kept since ``started`` (a ``time.time()``), by name."""
    if not KEPT_DIR.is_dir():
        return []
    return sorted(p for p in KEPT_DIR.glob("*.png") if p.stat().st_mtime >= started)
