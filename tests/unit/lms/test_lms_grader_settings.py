"""The LMS reads the grader's settings from the environment once, in lms/settings/base.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PRINT = (
    "import json; from lms.settings import base as s; print(json.dumps([s.LMS_GRADER_API_URL, "
    "s.LMS_HUB_SERVICE_TOKEN, s.LMS_GRADER_TIMEOUT]))"
)


def grader_settings(**env: str) -> list:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_GRADER", "LMS_HUB"))}
    result = subprocess.run(
        [sys.executable, "-c", PRINT],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_no_grader_is_configured_by_default():
    assert grader_settings() == ["", "", 30.0]


def test_the_grader_url_token_and_timeout_come_from_the_environment():
    assert grader_settings(
        LMS_GRADER_API_URL="http://127.0.0.1:8001/services/grader/api/",
        LMS_HUB_SERVICE_TOKEN="t0ken",
        LMS_GRADER_TIMEOUT="5",
    ) == ["http://127.0.0.1:8001/services/grader/api", "t0ken", 5.0]


def test_the_token_may_come_from_a_file(tmp_path):
    secret = tmp_path / "lms-hub-token"
    secret.write_text("from-a-file\n")

    assert grader_settings(LMS_HUB_SERVICE_TOKEN_FILE=str(secret))[1] == "from-a-file"
