"""Every variable an admin can set is listed in docs/configuration.md.

The code's variables come from two places, so none can be missed:

- every part's settings classes: each ``servicekit.settings.EnvSettings`` subclass defined in the
  parts' modules, through its own ``variables()`` (a module that cannot be imported without a
  production environment is read from its source instead: ``validation_alias="NAME"`` and
  ``secret("NAME")``);
- every variable the parts still read directly (``os.environ.get("NAME")``, ``environ["NAME"]``,
  ``os.getenv("NAME")``, ``env_secret("NAME")``, ...), found in their source.

Not an admin's: the variables JupyterHub and Jupyter give the processes they start
(``JUPYTERHUB_*``, ``JUPYTER_*``), those the hub gives learners' servers (``PLS_*``) and the
operating system's.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from hub.profiles import profile_settings
from servicekit.settings import EnvSettings

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "configuration.md"
PARTS = ("courses", "extensions", "grading", "hub", "launcher", "lms", "ops", "servicekit",
         "tutor")
NOT_AN_ADMINS = re.compile(
    r"(JUPYTERHUB_|JUPYTER_|PLS_|PYTHON)\w*|PATH|HOME|USER|SHELL|LANG|LC_ALL|IPYTHONDIR"
    r"|MALLOC_ARENA_MAX"
)
VARIABLE = re.compile(r"[A-Z][A-Z0-9_]*")
SETTINGS_CLASS = re.compile(r"^class \w+\([^)]*Settings\b", re.MULTILINE)


def documented() -> list[re.Pattern]:
    """Each name in the first cell of a table row (``HUB_PROFILE_<NAME>_MEM``: any name), and
    ``NAME_FILE`` too where the cell says ``(`_FILE`)``."""
    patterns = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            cell = line.split("|")[1]
            suffix = "(_FILE)?" if "`_FILE`" in cell else ""
            for name in re.findall(r"`([A-Z][A-Z0-9_<>]*)`", cell):
                patterns.append(re.compile(re.sub(r"<[A-Z]+>", "[A-Z0-9_]+", name) + suffix))
    return patterns


def undocumented(variables: set[str]) -> list[str]:
    patterns = documented()
    return sorted(v for v in variables if not any(p.fullmatch(v) for p in patterns))


def source_files() -> list[Path]:
    files = [REPO / "jupyterhub_config.py"]
    for part in PARTS:
        files += [path for path in (REPO / part).rglob("*.py") if "node_modules" not in path.parts]
    return files


def module_name(path: Path) -> str | None:
    """The module's import name from the repository root; None outside a package."""
    relative = path.relative_to(REPO).with_suffix("")
    folders = [REPO.joinpath(*relative.parts[:end]) for end in range(1, len(relative.parts))]
    if not all((folder / "__init__.py").is_file() for folder in folders):
        return None
    return ".".join(relative.parts)


def constant(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def declared_in_source(tree: ast.AST) -> set[str]:
    """``validation_alias="NAME"`` and ``secret("NAME")`` in the classes of a module."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "validation_alias":
            found.add(constant(node.value))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "secret":
            found.add(constant(node.args[0]) if node.args else None)
    return {name for name in found if name}


def settings_variables() -> tuple[set[str], set[str]]:
    """The variables of every part's settings classes, and the classes' names."""
    variables: set[str] = set()
    for path in source_files():
        name = module_name(path)
        if name is None or not SETTINGS_CLASS.search(path.read_text(encoding="utf-8")):
            continue
        try:
            importlib.import_module(name)
        except Exception:  # e.g. production settings that need their secrets to import
            variables |= declared_in_source(ast.parse(path.read_text(encoding="utf-8")))
    classes, pending = [], list(EnvSettings.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls.__module__.split(".")[0] in PARTS:
            classes.append(cls)
            variables |= set(cls.variables().values())
    return variables, {cls.__name__ for cls in classes}


def environ_reads(tree: ast.AST) -> set[str]:
    """Names read directly: ``<..>environ.get("X")``, ``env.get("X")``, ``<..>environ["X"]``,
    ``os.getenv("X")``, and helpers named ``env_*`` or ``*_secret`` given ``"X"``."""

    def is_environ(node: ast.AST) -> bool:
        name = ast.unparse(node)
        return name.endswith("environ") or name in {"env", "environ"}

    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func, first = node.func, constant(node.args[0])
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if (called == "get" and is_environ(func.value)) or called == "getenv" or (
                called.startswith("env_") or called.endswith("_secret")
            ):
                found.add(first)
        loaded = isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)
        if loaded and is_environ(node.value):
            found.add(constant(node.slice))
    return {name for name in found if name and VARIABLE.fullmatch(name)}


def direct_reads() -> set[str]:
    variables: set[str] = set()
    for path in source_files():
        variables |= environ_reads(ast.parse(path.read_text(encoding="utf-8")))
    return {name for name in variables if not NOT_AN_ADMINS.fullmatch(name)}


def test_every_settings_variable_of_every_part_is_documented():
    variables, classes = settings_variables()
    assert {"HubSettings", "LauncherSettings"} <= classes  # the search finds the parts' classes
    assert "HUB_SPAWNER" in variables and "STUDIO_VAR_DIR" in variables
    assert undocumented(variables) == []


def test_every_variable_read_directly_is_documented():
    assert undocumented(direct_reads()) == []


@pytest.mark.parametrize("profile", ["learner", "instructor", "data-science"])
def test_the_profiles_variables_are_documented_for_any_profile_name(profile):
    variables = set(profile_settings(profile).variables().values())
    assert len(variables) == 4
    assert undocumented(variables) == []


def test_the_search_for_direct_reads_finds_each_way_of_reading():
    source = ast.parse(
        'os.environ.get("A_GET")\nenviron["A_ITEM"]\nos.getenv("A_GETENV")\n'
        'env.get("A_ENV")\nenv_secret("A_SECRET", environ)\nenviron["B_WRITTEN"] = "x"\n'
        'settings.get("NOT_ENV")\n'
    )
    assert environ_reads(source) == {"A_GET", "A_ITEM", "A_GETENV", "A_ENV", "A_SECRET"}
