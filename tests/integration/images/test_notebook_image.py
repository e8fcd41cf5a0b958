"""The learner image, pls-notebook:latest: what a learner's container runs, checked from outside."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
LABEL = "org.pythonlearningstudio.inputs"
MAX_IMAGE_BYTES = 1_200_000_000
# Where the Dockerfile's build stage keeps the wheelhouse and the pins: paths inside the image.
BUILD_LEFTOVERS = ("/tmp/wheelhouse", "/tmp/local-wheels", "/tmp/build",  # noqa: S108
                   "/home/jovyan/.cache/pip", "/root/.cache/pip")


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the docker CLI and capture its output as text."""
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=check, timeout=timeout
    )


def run_in(image: str, *command: str, env: dict[str, str] | None = None) -> str:
    """Run command in a throwaway container of image (no network) and return its stdout."""
    flags = [f"--env={key}={value}" for key, value in (env or {}).items()]
    return docker("run", "--rm", "--network=none", *flags, image, *command).stdout


def test_build_produces_the_image_labelled_with_its_inputs_hash(notebook_image):
    labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}",
                               notebook_image).stdout)
    assert len(labels[LABEL]) == 64


def test_container_runs_as_jovyan_uid_1000_in_the_work_directory(notebook_image):
    assert run_in(notebook_image, "id").split()[:2] == ["uid=1000(jovyan)", "gid=100(users)"]
    assert run_in(notebook_image, "pwd").strip() == "/home/jovyan/work"
    assert run_in(notebook_image, "sh", "-c", "echo $HOME").strip() == "/home/jovyan"


def test_python_is_311_and_imports_the_course_libraries(notebook_image):
    out = run_in(notebook_image, "python", "-c",
                 "import sys, numpy, pandas, matplotlib, nbgrader, jupyterlab;"
                 "print(sys.prefix, *sys.version_info[:2])")
    assert out.split() == ["/opt/venv", "3", "11"]


def test_matplotlib_draws_without_a_display(notebook_image):
    out = run_in(notebook_image, "python", "-c",
                 "import matplotlib.pyplot as plt; plt.plot([1, 2]);"
                 "plt.savefig('/tmp/p.png'); print(open('/tmp/p.png','rb').read(4))")
    assert "PNG" in out


def test_singleuser_server_is_the_hubs_jupyterhub_version(notebook_image):
    assert run_in(notebook_image, "jupyterhub-singleuser", "--version").strip() == version(
        "jupyterhub"
    )


# jupyter-ai's pieces a learner's server must not have (docs/architecture.md, "The tutor"): the
# meta-package, its MCP server (an unauthenticated port 3001) and fastmcp (contacts PyPI at
# start), the third-party agent personas, jupyternaut with its model picker and key entry, and
# the tool suites that would let an agent drive the lab.
UNSAFE_JUPYTER_AI = ("jupyter_ai", "jupyter_server_mcp", "fastmcp", "jupyter_ai_acp_client",
                     "jupyter_ai_jupyternaut", "jupyter_ai_litellm", "litellm", "jupyter_ai_tools",
                     "jupyterlab_commands_toolkit")
PERSONAS_OFFERED = """
import importlib.util as u
from importlib.metadata import entry_points
from jupyter_server.serverapp import ServerApp
print([m for m in UNSAFE if u.find_spec(m)])
print(sorted(f"{ep.name}={ep.value}" for ep in entry_points(group="jupyter_ai.personas")))
app = ServerApp()
app.initialize(argv=[])
manager = app.extension_manager.extensions["jupyter_ai_persona_manager"]
extension = next(iter(manager.extension_points.values())).app
print(extension.persona_manager_class.__module__ + "." + extension.persona_manager_class.__name__)
print(app.config.TutorOnlyPersonaManager.default_persona_id)
print(sorted(k for k, v in app.jpserver_extensions.items() if v and "mcp" in k))
""".replace("UNSAFE", repr(UNSAFE_JUPYTER_AI))


def test_jupyter_ai_offers_learners_the_tutor_persona_alone_and_no_mcp_server(notebook_image):
    unsafe, personas, manager, default, mcp = run_in(
        notebook_image, "python", "-c", PERSONAS_OFFERED).splitlines()[-5:]
    assert unsafe == "[]"
    assert personas == "['tutor=pls_tutor.persona:TutorPersona']"
    assert manager == "pls_tutor.persona.TutorOnlyPersonaManager"
    assert default == "jupyter-ai-personas::pls_tutor::TutorPersona"
    assert mcp == "[]"


def test_no_wheelhouse_pip_cache_compiler_or_sudo_in_the_image(notebook_image):
    for path in BUILD_LEFTOVERS:
        result = docker("run", "--rm", "--network=none", "--user=0", notebook_image, "ls", path,
                        check=False)
        assert result.returncode != 0, f"{path} is in the image: {result.stdout[:200]}"
    for tool in ("gcc", "cc", "g++", "make", "sudo"):
        assert docker("run", "--rm", "--network=none", notebook_image, "sh", "-c",
                      f"command -v {tool}", check=False).returncode != 0, f"{tool} is installed"
    size = int(docker("image", "inspect", "--format", "{{.Size}}", notebook_image).stdout)
    assert size < MAX_IMAGE_BYTES, f"image is {size / 1e6:.0f} MB"


def test_pip_cannot_reach_an_index_from_the_image(notebook_image):
    env = run_in(notebook_image, "env")
    assert "PIP_NO_INDEX=1" in env.splitlines()


# What a server started in the image actually loads (the `extension list` commands show only the
# user, sys-prefix and system config directories, not JUPYTER_CONFIG_PATH).
ENABLED_NBGRADER_EXTENSIONS = """
from jupyter_server.serverapp import ServerApp
from jupyterlab_server.config import get_page_config
from jupyter_core.paths import jupyter_path
app = ServerApp()
app.initialize(argv=[])
print(*sorted(k.rsplit(".", 1)[1] for k, v in app.jpserver_extensions.items()
              if v and k.startswith("nbgrader.")))
disabled = get_page_config(jupyter_path("labextensions"))["disabledExtensions"]
print(*sorted(k.split(":")[1] for k in disabled if k.startswith("@jupyter/nbgrader:")))
"""


def nbgrader_extensions(image: str, env: dict[str, str] | None = None) -> tuple[set, set]:
    """(enabled server extensions, disabled lab plugins) of nbgrader in a server of image."""
    server, lab = run_in(image, "python", "-c", ENABLED_NBGRADER_EXTENSIONS, env=env).splitlines()
    return set(server.split()), set(lab.split())


def test_learners_get_no_formgrader_and_instructors_can_turn_it_on(notebook_image):
    server, lab_disabled = nbgrader_extensions(notebook_image)
    assert server == {"assignment_list", "validate_assignment"}
    assert lab_disabled == {"formgrader", "course-list", "create-assignment"}

    server, lab_disabled = nbgrader_extensions(
        notebook_image, env={"JUPYTER_CONFIG_PATH": "/opt/venv/etc/jupyter-instructor"}
    )
    assert server == {"assignment_list", "validate_assignment", "formgrader", "course_list"}
    assert lab_disabled == set()


@contextmanager
def running_lab(image: str, env: dict[str, str] | None = None):
    """A `jupyter lab` in a container of image, published on a loopback port; yields a function
    that GETs a path of it with the token and returns the body of an answer with the status
    it expects (``get(path, expect=503)``); the container's name is ``get.container``."""
    token = uuid.uuid4().hex
    name = f"pls-test-lab-{uuid.uuid4().hex[:8]}"
    flags = [f"--env={key}={value}" for key, value in (env or {}).items()]
    docker("run", "-d", "--rm", "--name", name, "-p", "127.0.0.1::8888", *flags, image,
           "jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser",
           f"--IdentityProvider.token={token}")
    try:
        port = docker("port", name, "8888/tcp").stdout.split()[0].rsplit(":", 1)[1]

        def get(path: str, expect: int = 200) -> str:
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                             headers={"Authorization": f"token {token}"})
            for _ in range(240):  # bounded: about a minute on a loaded machine; ~1.5 s is typical
                try:
                    with urllib.request.urlopen(request, timeout=2) as response:
                        return response.read().decode()
                except urllib.error.HTTPError as error:
                    if error.code == expect:
                        return error.read().decode()
                    time.sleep(0.25)
                except (urllib.error.URLError, ConnectionError, OSError):
                    time.sleep(0.25)
            logs = docker("logs", name, check=False)
            pytest.fail(f"no answer from {path}:\n{logs.stdout}{logs.stderr}")

        get.container = name
        yield get
    finally:
        docker("rm", "-f", name, check=False)


def test_jupyter_lab_in_a_container_answers_api_status(notebook_image):
    with running_lab(notebook_image) as get:
        status = json.loads(get("/api/status"))
    assert "started" in status and "kernels" in status


ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"
PAGE_CONFIG = re.compile(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                         re.DOTALL)


def lab_page_config(get) -> dict:
    """The page config the running lab sends to the browser with its /lab page."""
    match = PAGE_CONFIG.search(get("/lab"))
    assert match, "no jupyter-config-data in the /lab page"
    return json.loads(match.group(1))


@pytest.mark.parametrize("env", [{}, {"JUPYTER_CONFIG_PATH": "/opt/venv/etc/jupyter-instructor"}],
                         ids=["learner", "instructor"])
def test_lab_never_asks_about_or_fetches_jupyter_news(notebook_image, env):
    with running_lab(notebook_image, env) as get:
        config = lab_page_config(get)
    assert ANNOUNCEMENTS in config["disabledExtensions"]
    assert ANNOUNCEMENTS in config["lockedExtensions"]  # the plugin manager cannot turn it on


NOTHING_LISTENS_ON_3001 = """
import socket
with socket.socket() as probe:
    print(probe.connect_ex(("127.0.0.1", 3001)) != 0)
"""


def test_lab_loads_the_tutor_extension_and_says_when_no_tutor_is_configured(notebook_image):
    with running_lab(notebook_image) as get:
        config = lab_page_config(get)
        status = json.loads(get("/pls-tutor/status?course=python-101", expect=503))
        listening = docker("exec", get.container, "python", "-c", NOTHING_LISTENS_ON_3001).stdout
    assert "pls-tutor" in {extension["name"] for extension in config["federated_extensions"]}
    assert status["error"] == "tutor_not_configured"
    assert listening.strip() == "True", "something listens on 127.0.0.1:3001 (an MCP server?)"


def test_lab_loads_the_grading_status_extension_which_follows_nothing_yet(notebook_image):
    with running_lab(notebook_image) as get:
        config = lab_page_config(get)
        followed = json.loads(get("/pls-grading-status/submissions"))
    assert "pls-grading-status" in {e["name"] for e in config["federated_extensions"]}
    assert followed == {"submissions": []}


def test_second_build_is_a_no_op_that_keeps_the_image(notebook_image):
    before = docker("image", "inspect", "--format", "{{.Id}}", notebook_image).stdout.strip()
    build = subprocess.run([str(ROOT / "images" / "build"), "notebook"], cwd=ROOT,
                           capture_output=True, text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stderr
    assert "up to date" in build.stdout
    after = docker("image", "inspect", "--format", "{{.Id}}", notebook_image).stdout.strip()
    assert after == before
    check = subprocess.run([str(ROOT / "images" / "build"), "--check", "notebook"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


# -- the grading runner (grading/image, pls-grading) ----------------------------------------------

TINY_NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "A tiny notebook"},
        {"cell_type": "code", "metadata": {}, "source": "answer = 6 * 7\nprint(answer)",
         "outputs": [], "execution_count": None},
        {"cell_type": "code", "metadata": {}, "source": "open('data/points.csv').read()",
         "outputs": [], "execution_count": None},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def run_grading_runner(image: str, request: dict) -> subprocess.CompletedProcess:
    """`python -m pls_grading.execute` in a network-less throwaway container, request on stdin."""
    return subprocess.run(
        ["docker", "run", "-i", "--rm", "--network", "none", image,
         "python", "-m", "pls_grading.execute", "--cell-timeout", "20"],
        input=json.dumps(request).encode(), capture_output=True, timeout=180, check=False,
    )


def test_grading_runner_executes_a_notebook_from_stdin_and_signs_the_result(notebook_image):
    key = secrets.token_bytes(32)
    files = {"data/points.csv": "YSwxCg=="}  # base64 of "a,1\n"
    result = run_grading_runner(notebook_image,
                                {"notebook": TINY_NOTEBOOK, "files": files, "key": key.hex()})
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    body, signature = result.stdout.rstrip(b"\n").split(b"\n")
    assert signature == hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    executed = json.loads(body)
    code = [cell for cell in executed["cells"] if cell["cell_type"] == "code"]
    assert code[0]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "42\n"}]
    assert code[1]["outputs"][0]["data"]["text/plain"] == "'a,1\\n'"
    assert executed["metadata"]["language_info"]["version"].startswith("3.11")
    assert executed["metadata"]["pls_grading"]["run"]["kernel_restarts"] == 0


def test_grading_runner_takes_sources_stored_as_lists_of_lines_like_ipynb_files(notebook_image):
    as_in_a_file = {**TINY_NOTEBOOK, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["answer = 6 * 7\n", "print(answer)"]},
    ]}
    result = run_grading_runner(notebook_image, {"notebook": as_in_a_file})
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    (cell,) = json.loads(result.stdout.split(b"\n")[0])["cells"]
    assert cell["source"] == "answer = 6 * 7\nprint(answer)"
    assert cell["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "42\n"}]


def test_grading_runner_refuses_a_request_that_is_not_json(notebook_image):
    result = subprocess.run(
        ["docker", "run", "-i", "--rm", "--network", "none", notebook_image,
         "python", "-m", "pls_grading.execute"],
        input=b"this is not a request", capture_output=True, timeout=180, check=False,
    )
    assert result.returncode == 2  # EXIT_BAD_REQUEST: the grader's problem, not the learner's
    assert result.stdout == b""
    assert b"not JSON" in result.stderr


def test_grading_runner_is_the_repos_pls_grading(notebook_image):
    installed = run_in(notebook_image, "python", "-c",
                       "import pls_grading.execute as m, inspect; print(inspect.getsource(m))")
    source = (ROOT / "grading" / "image" / "pls_grading" / "execute.py").read_text()
    assert installed == source + "\n"


KERNEL_PROBE = (
    "import sys\n"
    "print(sys.argv[0], sys.modules.get('debugpy', 0), type(get_ipython()).__name__,\n"
    "      sorted({n.split('.')[0] for n in sys.modules} & {'ipykernel', 'jupyter_client',\n"
    "                                                       'tornado', 'asyncio'}))"
)


@pytest.mark.parametrize("grading, printed", [
    # the judge's kernel: IPython's shell on pyzmq, none of ipykernel's libraries
    ("judge", "/opt/venv/lib/python3.11/site-packages/pls_grading/shell_kernel.py 0 "
              "GradingShell []"),
    # in-kernel grading: ipykernel, as nbgrader runs it, without its debugger
    ("in-kernel", "/opt/venv/lib/python3.11/site-packages/pls_grading/kernel.py None "
                  "ZMQInteractiveShell ['asyncio', 'ipykernel', 'jupyter_client', 'tornado']"),
])
def test_grading_kernels_start_lean_and_the_runner_without_jupyters_client_libraries(
    notebook_image, grading, printed,
):
    probe = {
        **TINY_NOTEBOOK,
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                   "source": KERNEL_PROBE}],
    }
    result = run_grading_runner(notebook_image, {"notebook": probe, "grading": grading})
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    executed = json.loads(result.stdout.split(b"\n")[0])
    assert executed["cells"][0]["outputs"][0]["text"] == printed + "\n"
    # Each sandbox imports the runner anew: these cost ~0.18 s of CPU per submission.
    loaded = run_in(notebook_image, "python", "-c",
                    "import sys, pls_grading.execute; print(sorted({n.split('.')[0] for n in "
                    "sys.modules} & {'nbclient', 'jupyter_client', 'nbformat', 'jsonschema', "
                    "'tornado', 'traitlets', 'asyncio'}))")
    assert loaded.strip() == "[]"
