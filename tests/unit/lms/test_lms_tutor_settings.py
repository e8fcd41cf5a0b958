"""The LMS reads the tutor's settings from the environment once, in lms/settings/base.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PRINT = ("import json; from lms.settings import base as s; "
         "print(json.dumps([s.LMS_TUTOR_API_URL, s.LMS_TUTOR_TIMEOUT]))")


def tutor_settings(**env: str) -> list:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LMS_TUTOR")}
    result = subprocess.run([sys.executable, "-c", PRINT], env={**clean, **env}, cwd=ROOT,
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_no_tutor_is_configured_by_default():
    assert tutor_settings() == ["", 10.0]


def test_the_tutor_url_and_timeout_come_from_the_environment():
    assert tutor_settings(LMS_TUTOR_API_URL="http://127.0.0.1:8001/services/tutor/api/",
                          LMS_TUTOR_TIMEOUT="3") == [
        "http://127.0.0.1:8001/services/tutor/api", 3.0]
