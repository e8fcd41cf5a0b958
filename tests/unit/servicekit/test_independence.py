"""servicekit's modules are importable alone: a part pays only for what it uses."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("tornado", "jupyterhub", "sqlalchemy", "alembic", "requests", "docker")
PARTS = ("lms", "hub", "grading", "tutor", "extensions", "launcher")


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("servicekit.settings", ()),
        ("servicekit.secrets", ()),
        ("servicekit.errors", ()),
        ("servicekit.store", ("sqlalchemy",)),
        ("servicekit.migrations", ("sqlalchemy", "alembic")),
        ("servicekit.lms_client", ("requests",)),
        ("servicekit.hub_auth", ("tornado", "jupyterhub", "sqlalchemy", "alembic", "requests")),
        ("servicekit.web", ("tornado", "jupyterhub", "sqlalchemy", "alembic", "requests")),
        ("servicekit.metrics", ()),
    ],
)
def test_a_module_imports_no_part_and_only_the_libraries_it_needs(module, allowed):
    script = (f"import sys, {module}\n"
              "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                                text=True).stdout.split())
    assert loaded.isdisjoint(PARTS)
    assert loaded.isdisjoint(set(HEAVY) - set(allowed))


def test_metrics_leave_prometheus_client_unimported_until_the_folder_is_named():
    """prometheus_client decides at import whether several processes count together: a part
    must be able to name their folder (servicekit.metrics.use_multiprocess_dir) first."""
    script = "import sys, servicekit.metrics, servicekit.settings\n" \
             "print('prometheus_client' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                            text=True).stdout.strip()
    assert loaded == "False"
