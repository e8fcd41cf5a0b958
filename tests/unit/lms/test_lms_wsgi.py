"""The WSGI application each gunicorn worker loads: what it loads up front lives as long as the
worker, so it is kept out of the garbage collector's full collections (lms/wsgi.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PRINT = (
    "import gc, json, sys; import lms.wsgi; "
    "print(json.dumps([gc.get_freeze_count(), 'lms.community.views' in sys.modules, "
    "'lms.gradebook.wagtail_hooks' in sys.modules]))"
)


def test_a_worker_loads_the_urls_and_hooks_and_freezes_them_out_of_full_collections():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "lms.settings.test",
           "DATABASE_URL": "postgres://nobody@127.0.0.1:1/never-connected"}
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", PRINT], env=env, cwd=ROOT,
                            capture_output=True, text=True, check=True)

    frozen, views_loaded, hooks_loaded = json.loads(result.stdout)
    assert views_loaded and hooks_loaded
    assert frozen > 100_000  # Django's, Wagtail's and the LMS's modules and their objects
