"""images/build.py's production targets (docker-compose.yml), without Docker: one shared
``studio`` image under the four services, its repo sources as inputs, wheelhouses per target."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("hub", "lms", "grader", "tutor")


def load_build_module():
    """images/build.py is a script, not a package: load it by path (as test_images_build)."""
    spec = importlib.util.spec_from_file_location("images_build_services",
                                                  ROOT / "images" / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


build = load_build_module()


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_is_built_from_the_studio_image_at_its_exact_hash(name):
    studio = build.plan(build.TARGETS["studio"](), None)
    service = build.plan(build.TARGETS[name](), None)
    assert service.base_ref == f"pls-studio:{studio.key[:12]}"
    assert service.base_identity == "parent:" + studio.key
    assert build.all_requirements(service.target) == []  # the venv is the studio's


def test_the_studio_carries_the_four_parts_and_the_services_extras():
    target = build.TARGETS["studio"]()
    assert {path.relative_to(ROOT).as_posix() for path in target.sources} >= {
        "lms", "hub", "grading", "tutor", "servicekit", "courses/course_file.py",
        "courses/naming.py", "courses/lateness.py"}
    assert not any(path.name == "python-101" for path in target.sources)  # content is mounted
    names = {build.requirement_name(line) for line in target.requirements}
    assert {"wagtail", "jupyterhub", "dockerspawner", "nbgrader", "gunicorn", "openai"} <= names


def test_a_source_change_makes_the_studio_and_its_services_stale(tmp_path, monkeypatch):
    source = tmp_path / "app.py"
    source.write_text("print('v1')\n")
    real = build.TARGETS["studio"]
    monkeypatch.setitem(build.TARGETS, "studio", lambda: build.Target(
        "studio", "pls-studio", real().requirements, sources=[source]))
    before = build.plan(build.TARGETS["lms"](), None).key
    source.write_text("print('v2')\n")
    assert build.plan(build.TARGETS["lms"](), None).key != before


def test_building_one_target_keeps_the_other_targets_wheelhouses(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "CACHE", tmp_path)
    houses = tmp_path / "wheelhouse"
    for name, owner in (("old-notebook", None), ("old-studio", "studio"), ("new", "studio")):
        (houses / name).mkdir(parents=True)
        if owner:
            (houses / name / build.WHEELHOUSE_OWNER).write_text(owner + "\n")
    build.prune_wheelhouses(houses / "new", "studio")
    assert sorted(p.name for p in houses.iterdir()) == ["new", "old-notebook"]
