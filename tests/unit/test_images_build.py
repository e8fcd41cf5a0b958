"""images/build.py's inputs hash and local packages, without Docker: what makes an image stale."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GRADING_IMAGE = ROOT / "grading" / "image"


def load_build_module():
    """images/build.py is a script beside a shell wrapper, not a package: load it by path."""
    spec = importlib.util.spec_from_file_location("images_build", ROOT / "images" / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


build = load_build_module()


@pytest.fixture
def package(tmp_path) -> Path:
    """A writable copy of grading/image (pls-grading), without any build leftovers."""
    folder = tmp_path / "image"
    shutil.copytree(GRADING_IMAGE, folder, ignore=shutil.ignore_patterns(
        "__pycache__", "build", "*.egg-info"))
    return folder


def notebook_with(package: Path):
    """The notebook target carrying ``package`` instead of the repo's grading/image."""
    target = build.TARGETS["notebook"]()
    target.packages = [package]
    return target


def key_of(target) -> str:
    return build.plan(target, None).key


def test_notebook_image_carries_the_grading_runner_and_its_dependencies():
    target = build.TARGETS["notebook"]()
    assert GRADING_IMAGE in target.packages
    names = {build.requirement_name(line) for line in build.plan(target, None).requirements.split()}
    assert {"pyzmq", "jupyter-core", "ipykernel", "nbgrader"} <= names


def test_changing_a_local_package_file_changes_the_inputs_hash(package):
    target = notebook_with(package)
    before = key_of(target)
    runner = package / "pls_grading" / "execute.py"
    runner.write_text(runner.read_text() + "\n# a change\n")
    assert key_of(target) != before


def test_adding_a_file_to_a_local_package_changes_the_inputs_hash(package):
    target = notebook_with(package)
    before = key_of(target)
    (package / "pls_grading" / "new_module.py").write_text('"""New."""\n')
    assert key_of(target) != before


def test_unchanged_local_package_keeps_the_inputs_hash(package):
    assert key_of(notebook_with(package)) == key_of(notebook_with(package))


def test_bytecode_and_build_leftovers_do_not_change_the_inputs_hash(package):
    target = notebook_with(package)
    before = key_of(target)
    (package / "pls_grading" / "__pycache__").mkdir()
    (package / "pls_grading" / "__pycache__" / "execute.cpython-311.pyc").write_bytes(b"\0")
    (package / "build" / "lib").mkdir(parents=True)
    (package / "pls_grading.egg-info").mkdir()
    (package / "pls_grading.egg-info" / "PKG-INFO").write_text("Name: pls-grading\n")
    assert key_of(target) == before


def test_a_package_dependency_joins_the_requirements_once(package):
    pyproject = package / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        '"ipykernel>=6.29",', '"ipykernel>=6.29",\n    "numpy",\n    "tabulate>=0.9",'))
    lines = build.plan(notebook_with(package), None).requirements.split("\n")
    assert "tabulate>=0.9" in lines
    assert [line for line in lines if build.requirement_name(line) == "numpy"] == ["numpy"]


def test_local_packages_must_build_pure_python_wheels(tmp_path):
    pure = tmp_path / "pls_grading-0.1.0-py3-none-any.whl"
    assert build.local_pin(GRADING_IMAGE, {pure}) == "pls-grading==0.1.0"
    compiled = tmp_path / "pls_grading-0.1.0-cp311-cp311-linux_x86_64.whl"
    with pytest.raises(build.BuildError, match="pure Python"):
        build.local_pin(GRADING_IMAGE, {compiled})


def test_local_wheel_is_built_without_touching_the_package_folder(package, tmp_path, monkeypatch):
    monkeypatch.setattr(build, "CACHE", tmp_path / "cache")
    plan = build.plan(notebook_with(package), None)
    before = sorted(p.relative_to(package) for p in package.rglob("*"))
    log = tmp_path / "build.log"
    pins = build.build_local_wheels(plan, tmp_path / "wheels", build.Progress(), log)
    assert pins == ["pls-grading==0.1.0"], log.read_text()[-2000:]
    assert [p.name for p in (tmp_path / "wheels").iterdir()] == [
        "pls_grading-0.1.0-py3-none-any.whl"
    ]
    assert sorted(p.relative_to(package) for p in package.rglob("*")) == before


# -- the tutor's JupyterLab extension (extensions/pls_tutor) ------------------------------------

TUTOR_EXTENSION = ROOT / "extensions" / "pls_tutor"
GRADING_STATUS_EXTENSION = ROOT / "extensions" / "pls_grading_status"


@pytest.fixture
def frontend_package(tmp_path) -> Path:
    """A writable copy of extensions/pls_tutor's sources (no node_modules, no build output)."""
    folder = tmp_path / "pls_tutor"
    shutil.copytree(TUTOR_EXTENSION, folder, ignore=shutil.ignore_patterns(
        "node_modules", ".yarn", "lib", "labextension", "__pycache__", "_version.py",
        "*.tsbuildinfo"))
    return folder


def test_notebook_image_carries_the_tutor_extension_built_on_the_host():
    target = build.TARGETS["notebook"]()
    assert TUTOR_EXTENSION in target.packages
    assert build.has_frontend(TUTOR_EXTENSION)
    assert not build.has_frontend(GRADING_IMAGE)


def test_notebook_image_carries_the_grading_status_extension_built_on_the_host():
    target = build.TARGETS["notebook"]()
    assert GRADING_STATUS_EXTENSION in target.packages
    assert build.has_frontend(GRADING_STATUS_EXTENSION)


def test_frontend_build_output_and_node_modules_do_not_change_the_inputs_hash(frontend_package):
    target = notebook_with(frontend_package)
    before = key_of(target)
    (frontend_package / "node_modules" / "left-pad").mkdir(parents=True)
    (frontend_package / "node_modules" / "left-pad" / "index.js").write_text("module.exports=1")
    (frontend_package / ".yarn" / "cache").mkdir(parents=True)
    (frontend_package / "lib").mkdir()
    (frontend_package / "lib" / "index.js").write_text("built")
    (frontend_package / "pls_tutor" / "labextension" / "static").mkdir(parents=True)
    (frontend_package / "pls_tutor" / "labextension" / "static" / "style.js").write_text("built")
    (frontend_package / "tsconfig.tsbuildinfo").write_text("{}")
    assert key_of(target) == before


def test_changing_the_extensions_typescript_changes_the_inputs_hash(frontend_package):
    target = notebook_with(frontend_package)
    before = key_of(target)
    source = frontend_package / "src" / "panel.ts"
    source.write_text(source.read_text() + "\n// a change\n")
    assert key_of(target) != before


def test_wheel_copy_keeps_the_built_labextension_and_drops_node_modules():
    kept = [name for name in ("labextension", "node_modules", "lib", "src")
            if not (build.generated(Path(name)) and name not in build.WHEEL_PAYLOAD)]
    assert kept == ["labextension", "src"]
