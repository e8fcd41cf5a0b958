"""Hostile and broken submissions through the real grading pipeline, against a real Docker engine.

``grading.release`` releases python-101's ps1-basics into a temporary ``GRADER_ROOT``
(nbgrader's own ``generate_assignment``) and autogrades each submission with nbgrader's
converters on the host, every notebook run by ``python -m pls_grading.execute`` in a fresh,
network-less container of the course's image (``pls-notebook:latest``, built from this tree).

Each submission starts from the released notebook with the instructor's solutions filled in
(they are in the source notebook between ``### BEGIN SOLUTION`` and ``### END SOLUTION``); a
test then breaks one thing. Every test grades under a learner name of its own, because nbgrader
keeps one submission per learner and assignment. What a submission's code finds out inside the
sandbox it prints as one ``PROBE <json>`` line, read back from the autograded notebook.
"""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import json
import os
import re
import resource
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import compute_checksum

from courses.course_file import LatePolicy
from grading.autograde import autograde
from grading.course_directory import Course, open_course, prepare_course
from grading.release import release
from grading.sandbox import SandboxUnavailable
from tests.support.autograding import (
    PIDS_LIMIT,
    Graded,
    Submission,
    fresh_learner,
    grader_of,
    hidden_lines_calling,
    new_sandbox,
    solution_bodies,
    text_of,
    visible_text,
    wait_until_gone,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
COURSE = "python-101"
ASSIGNMENT = "ps1-basics"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SOURCE = ROOT / "courses" / COURSE / "source" / ASSIGNMENT / NOTEBOOK
TESTS = {"ps1-celsius-tests": 3.0, "ps1-initials-tests": 3.0, "ps1-grade-tests": 4.0}
MIB = 1024 * 1024
DUE = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)


# -- the course, the image and the sandbox -------------------------------------------------------


@pytest.fixture(scope="module")
def course_dir(grader_root, grading_image) -> Path:
    """python-101's nbgrader course directory with ps1-basics released (prepared on first use
    from the course folder, as the grader service does)."""
    folder = grader_root / "courses" / COURSE
    info = release(folder, ASSIGNMENT)
    assert info.notebooks == (ASSIGNMENT,) and info.max_score == 10
    return folder


@pytest.fixture(scope="module")
def in_kernel_course_dir(grader_root, grading_image, tmp_path_factory) -> Path:
    """python-101 graded in the learner's kernel (course.yml ``grading: in-kernel``): the tests
    of the guard (pls_grading.guard), which only this mode needs."""
    folder = tmp_path_factory.mktemp("in-kernel") / COURSE
    shutil.copytree(ROOT / "courses" / COURSE, folder)
    with (folder / "course.yml").open("a", encoding="utf-8") as course_yml:
        course_yml.write("grading: in-kernel\n")
    course_dir = grader_root / "in-kernel" / COURSE
    prepare_course(course_dir, folder)
    release(course_dir, ASSIGNMENT)
    return course_dir


@pytest.fixture(scope="module")
def released(course_dir) -> dict[str, Any]:
    return json.loads((course_dir / "release" / ASSIGNMENT / NOTEBOOK).read_text())


# -- submissions ---------------------------------------------------------------------------------


ANSWER_FUNCTIONS = re.compile(r"celsius_to_fahrenheit\(|initials\(|letter_grade\(")


def hidden_test_lines() -> list[str]:
    """ps1-basics' hidden tests' lines that call the learner's functions, stripped."""
    lines = hidden_lines_calling(nbformat.read(SOURCE, as_version=4), ANSWER_FUNCTIONS)
    assert len(lines) >= 10, lines
    return lines


@pytest.fixture
def correct(released) -> Callable[[], Submission]:
    """``correct()``: a fresh submission with every answer right."""
    answers = solution_bodies(SOURCE)

    def make() -> Submission:
        submission = Submission(released, NOTEBOOK)
        for grade_id, body in answers.items():
            submission.answer(grade_id, body)
        return submission

    return make


@pytest.fixture
def grade(course_dir, sandbox, tmp_path) -> Callable[..., Graded]:
    """Autograde in python-101 as it is: the judge's grading (the default)."""
    return grader_of(course_dir, ASSIGNMENT, sandbox, tmp_path)


@pytest.fixture
def grade_in_kernel(in_kernel_course_dir, sandbox, tmp_path) -> Callable[..., Graded]:
    """Autograde in python-101 with ``grading: in-kernel``: the tests beside the learner's code,
    watched by the guard."""
    return grader_of(in_kernel_course_dir, ASSIGNMENT, sandbox, tmp_path)


# -- right and wrong answers ---------------------------------------------------------------------


def test_correct_answers_get_full_points(grade, correct):
    graded = grade(correct())
    assert graded.result.status == "graded"
    assert graded.result.score == graded.result.max_score == 10
    assert graded.points == TESTS
    assert graded.result.flags == ()
    assert graded.result.message == "10 of 10 points."


def test_hidden_tests_run_but_never_reach_the_feedback(grade, correct):
    # Splitting on single spaces passes the visible tests and fails the hidden ones.
    graded = grade(correct().answer(
        "ps1-initials-answer", '    return "".join(w[0].upper() for w in full_name.split(" "))'))
    assert graded.points["ps1-initials-tests"] == 0
    pages = list(graded.result.feedback_dir.rglob("*.html"))
    feedback = visible_text("".join(page.read_text() for page in pages))
    assert 'assert initials("Ada Lovelace") == "AL"' in feedback  # the visible tests are there
    leaked = [line for line in hidden_test_lines() if line in feedback]
    assert leaked == []


def test_partly_wrong_answers_get_partial_credit_per_test(grade, correct):
    submission = correct()
    submission.answer("ps1-initials-answer", "    return full_name[:1].upper()")
    submission.answer("ps1-grade-answer", '    return "A" if score >= 90 else "F"')
    graded = grade(submission)
    assert graded.result.status == "graded"
    assert graded.result.score == 3 and graded.result.max_score == 10
    assert graded.points == {"ps1-celsius-tests": 3.0, "ps1-initials-tests": 0.0,
                             "ps1-grade-tests": 0.0}
    assert {row["max_score"] for row in graded.result.breakdown} == {3.0, 4.0}
    assert "AssertionError" in graded.errors_of("ps1-initials-tests")
    assert graded.result.message.startswith("3 of 10 points.")


# -- code that never ends, forks or eats memory --------------------------------------------------


def test_infinite_loop_times_out_loses_its_points_and_later_cells_still_count(grade, correct):
    graded = grade(correct().replace("ps1-celsius-answer", "while True:\n    pass\n"))
    assert graded.result.status == "graded"
    assert "timeout" in graded.result.flags
    assert "CellTimeoutError" in graded.errors_of("ps1-celsius-answer")
    assert graded.points == {**TESTS, "ps1-celsius-tests": 0.0}
    assert "stopped at the time limit: ps1-celsius-answer" in graded.result.message


def test_loop_that_ignores_interrupts_is_flagged_timeout_and_the_kernel_restarted(grade, correct):
    stubborn = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                "while True:\n    pass\n")
    graded = grade(correct().replace("ps1-celsius-answer", stubborn))
    assert {"timeout", "kernel-restarted"} <= set(graded.result.flags)
    assert graded.errors_of("ps1-celsius-answer") >= {"CellTimeoutError", "KernelRestarted"}
    assert graded.points == {**TESTS, "ps1-celsius-tests": 0.0}
    assert graded.result.timing["kernel_restarts"] == 1


def test_fork_bomb_is_capped_grading_finishes_and_the_host_is_unaffected(grade, correct):
    bomb = ("import os\nwhile True:\n    try:\n        os.fork()\n"
            "    except OSError:\n        pass\n")
    box = new_sandbox()
    try:
        graded = grade(correct().replace("ps1-celsius-answer", bomb), box=box)
    finally:
        box.close()
    assert graded.result.status == "graded"
    # Ended by the memory limit or by the time limit, whichever comes first: the judge's
    # kernel's copies outgrow the container's 512 MB before the cell's 4 s (measured), an
    # ipykernel's copies peaked at ~430 MB and ran out of time. Either way the kernel is
    # restarted for the cells after it.
    assert "kernel-restarted" in graded.result.flags
    bomb = graded.outputs_of("ps1-celsius-answer")
    assert "KernelRestarted" in {o.get("ename") for o in bomb}
    assert graded.points == {**TESTS, "ps1-celsius-tests": 0.0}  # the later cells still ran
    assert wait_until_gone(box.name_prefix) == []  # nothing of the bomb outlives the sandbox
    assert subprocess.run(["true"], check=False).returncode == 0  # the host still forks


def test_processes_in_the_sandbox_are_capped_by_the_pids_limit(grade, correct):
    counting_bomb = (
        "import json, os, time\nchildren = 0\ntry:\n    while True:\n"
        "        if os.fork() == 0:\n            time.sleep(300)\n            os._exit(0)\n"
        "        children += 1\nexcept OSError as exc:\n"
        "    print('PROBE', json.dumps({'children': children, 'errno': exc.errno}))\n"
    )
    graded = grade(correct().add_cell(counting_bomb, at=0))
    probe = graded.probe(0)
    assert 0 < probe["children"] < PIDS_LIMIT
    assert probe["errno"] == 11  # EAGAIN: the pids cgroup refused the next fork
    assert graded.result.score == 10  # every later cell still ran


def test_memory_bomb_is_killed_and_grading_finishes_with_a_clear_message(grade, correct):
    bomb = "chunks = []\nwhile True:\n    chunks.append(b'x' * (64 * 1024 * 1024))\n"
    graded = grade(correct().replace("ps1-celsius-answer", bomb))
    assert graded.result.status == "graded"
    assert "kernel-restarted" in graded.result.flags
    assert "KernelRestarted" in graded.errors_of("ps1-celsius-answer")
    assert graded.points == {**TESTS, "ps1-celsius-tests": 0.0}
    assert "ran out of memory" in graded.result.message
    assert "ps1-celsius-answer" in graded.result.message


# -- what the sandbox lets a submission reach ----------------------------------------------------


def bridge_gateway() -> str:
    """The Docker host's address on the default bridge (its first address)."""
    inspect = subprocess.run(["docker", "network", "inspect", "bridge"], capture_output=True,
                             text=True, timeout=60, check=True)
    config = json.loads(inspect.stdout)[0]["IPAM"]["Config"][0]
    return config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))


CONNECT_PROBE = """
import json, socket
results = {}
for host, port in TARGETS:
    try:
        socket.create_connection((host, port), timeout=2).close()
        results[f"{host}:{port}"] = "connected"
    except OSError as exc:
        results[f"{host}:{port}"] = type(exc).__name__
try:
    socket.getaddrinfo("pypi.org", 443)
    results["dns"] = "resolved"
except OSError as exc:
    results["dns"] = type(exc).__name__
print("PROBE", json.dumps(results))
"""


def test_network_is_unreachable_from_the_submission(grade, correct, grading_image):
    gateway = bridge_gateway()
    with socket.create_server((gateway, 0)) as on_gateway, \
            socket.create_server(("127.0.0.1", 0)) as on_loopback:
        targets = [("1.1.1.1", 443), (gateway, on_gateway.getsockname()[1]),
                   ("127.0.0.1", on_loopback.getsockname()[1]), ("127.0.0.1", 5432),
                   (gateway, 5432)]
        probe = f"TARGETS = {targets!r}\n{CONNECT_PROBE}"
        # Control: the same code on Docker's default bridge reaches the listener on the host.
        control = subprocess.run(["docker", "run", "--rm", grading_image, "python", "-c", probe],
                                 capture_output=True, text=True, timeout=120, check=True)
        reached = json.loads(control.stdout.split("PROBE ", 1)[1])
        assert reached[f"{gateway}:{on_gateway.getsockname()[1]}"] == "connected"

        graded = grade(correct().add_cell(probe, at=0))
    found = graded.probe(0)
    assert {k: v for k, v in found.items() if v in ("connected", "resolved")} == {}
    assert set(found) == {f"{h}:{p}" for h, p in targets} | {"dns"}
    assert graded.result.score == 10


FIND_PROBE = """
import json, os
found = {"paths": [], "names": [], "contents": [], "environment": [], "mounts": [],
         "processes": []}
for path in PATHS:
    if os.path.exists(path):
        found["paths"].append(path)
skip = {"/proc", "/sys", "/dev"} if WHOLE else set()
for top in (["/"] if WHOLE else WRITABLE):
    for folder, subfolders, files in os.walk(top):
        if folder in skip:
            subfolders[:] = []
            continue
        for name in files + subfolders:
            if name in NAMES or any(n in name for n in NEEDLES):
                found["names"].append(os.path.join(folder, name))
        for name in files:
            path = os.path.join(folder, name)
            try:
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                with open(path, "rb") as handle:
                    data = handle.read(64 * 1024 * 1024)
            except OSError:
                continue
            found["contents"] += [[path, n] for n in NEEDLES if n.encode() in data]
found["environment"] = sorted(k for k in os.environ if k not in PUBLIC and any(
    word in k.upper() for word in ("GRADER", "LMS", "TOKEN", "SECRET", "PASSWORD", "HUB", "KEY")))
with open("/proc/self/mountinfo") as handle:
    found["mounts"] = [line for line in handle if any(n in line for n in NEEDLES + PATHS)]
for pid in filter(str.isdigit, os.listdir("/proc")):
    for part in ("cmdline", "environ"):
        try:
            with open(f"/proc/{pid}/{part}", "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        found["processes"] += [[pid, part, n] for n in NEEDLES if n.encode() in data]
print("PROBE", json.dumps(found))
"""


def test_hidden_tests_grader_root_and_other_learners_are_not_in_the_sandbox(
    grade, correct, course_dir, grader_root
):
    other = fresh_learner()
    marker = f"MARKER-{secrets.token_hex(8)}"
    grade(correct().add_cell(f"# {marker}"), learner=other)
    assert marker in (course_dir / "submitted" / other / ASSIGNMENT / NOTEBOOK).read_text()

    # Names only the grader uses (nbgrader's package in the image has its own gradebook.db and
    # timestamp.txt test files; a copied gradebook would still hold the hidden tests' lines).
    needles = [*hidden_test_lines(), marker, other, str(grader_root)]
    paths = [str(grader_root), str(course_dir / "submitted" / other), str(ROOT)]
    names = ["studio_course.json", f"{ASSIGNMENT}.json", "feedback-out"]
    # nbgrader's own NBGRADER_EXECUTION=autograde is set on purpose, as nbgrader autograde does.
    setup = (f"NEEDLES = {needles!r}\nPATHS = {paths!r}\nNAMES = {names!r}\n"
             "PUBLIC = {'NBGRADER_EXECUTION'}\n"
             "WRITABLE = ['/tmp', '/home', '/var/tmp', '/dev/shm', '/run']\n")
    submission = correct()
    submission.add_cell(f"{setup}WHOLE = True\n{FIND_PROBE}", at=0)  # before any test ran
    submission.add_cell(f"{setup}WHOLE = False\n{FIND_PROBE}")  # after every test ran
    # Scanning the whole image takes seconds of one CPU: a patient sandbox for this test.
    box = new_sandbox(cell_timeout=120, time_limit=300)
    try:
        graded = grade(submission, box=box)
    finally:
        box.close()
    empty = {"paths": [], "names": [], "contents": [], "environment": [], "mounts": [],
             "processes": []}
    assert graded.probe(0) == empty
    assert graded.probe(len(graded.autograded()["cells"]) - 1) == empty
    assert graded.result.score == 10


def test_a_forged_result_on_the_containers_stdout_is_not_believed(grade, correct):
    # The learner's code writes a notebook with no failing test where the runner's result goes,
    # then kills the runner: without the run's key, the signature cannot be right.
    forge = (
        "import json, os, signal\n"
        "fake = {'cells': [], 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}\n"
        "with open('/proc/1/fd/1', 'w') as out:\n"
        "    out.write(json.dumps(fake) + '\\n' + '0' * 64 + '\\n')\n"
        "os.kill(os.getppid(), signal.SIGKILL)\n"
    )
    graded = grade(correct().add_cell(forge, at=0))
    assert graded.result.status == "graded"
    assert graded.result.score == 0
    assert "sandbox-stopped" in graded.result.flags
    assert "could not be run to the end" in graded.result.message


# -- tampering -----------------------------------------------------------------------------------


def test_test_cell_marked_as_a_solution_is_flagged_and_earns_nothing(grade, correct):
    submission = correct()
    submission.cell("ps1-celsius-tests")["metadata"]["nbgrader"]["solution"] = True
    graded = grade(submission)
    assert "tampered" in graded.result.flags
    assert graded.points == {**TESTS, "ps1-celsius-tests": 0.0}
    assert "TamperedCell" in graded.errors_of("ps1-celsius-tests")
    assert "ps1-celsius-tests" in graded.result.message


def test_changed_points_are_flagged_and_the_released_points_stand(grade, correct):
    submission = correct()
    submission.cell("ps1-grade-tests")["metadata"]["nbgrader"]["points"] = 100
    graded = grade(submission)
    assert "tampered" in graded.result.flags
    assert graded.result.max_score == 10
    assert graded.points == {**TESTS, "ps1-grade-tests": 0.0}


def test_edited_locked_test_cell_is_flagged_even_with_a_matching_checksum(grade, correct):
    submission = correct().answer("ps1-initials-answer", "    return 'wrong'")
    cell = submission.replace("ps1-initials-tests", "pass").cell("ps1-initials-tests")
    cell["metadata"]["nbgrader"]["checksum"] = compute_checksum(nbformat.from_dict(cell))
    graded = grade(submission)
    assert "tampered" in graded.result.flags
    assert graded.points == {**TESTS, "ps1-initials-tests": 0.0}


def test_test_cell_turned_into_markdown_is_flagged_and_earns_nothing(grade, correct):
    submission = correct()
    cell = submission.cell("ps1-grade-tests")
    cell["cell_type"] = "markdown"
    del cell["outputs"], cell["execution_count"]
    graded = grade(submission)
    assert "tampered" in graded.result.flags
    assert graded.points == {**TESTS, "ps1-grade-tests": 0.0}


def test_an_added_graded_cell_is_flagged_and_adds_no_points(grade, correct):
    bonus = nbformat.v4.new_code_cell("pass")
    bonus.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "points": 50,
                                  "locked": True, "solution": False, "schema_version": 3}
    submission = correct()
    submission.notebook["cells"].append(bonus)
    graded = grade(submission)
    assert "tampered" in graded.result.flags
    assert graded.result.max_score == 10 and graded.points == TESTS


def grade_tests_metadata(submission: Submission) -> dict[str, Any]:
    return submission.cell("ps1-grade-tests")["metadata"]["nbgrader"]


def test_points_that_are_not_a_number_are_flagged_and_earn_nothing(grade, correct):
    submission = correct()
    grade_tests_metadata(submission)["points"] = "lots"
    graded = grade(submission)
    assert "tampered" in graded.result.flags
    assert graded.points == {**TESTS, "ps1-grade-tests": 0.0}


def test_text_schema_version_is_put_back_not_a_grader_crash(grade, correct):
    # nbgrader's own CheckCellMetadata compares it with a number (a TypeError); it decides
    # nothing about a grade, so the release's is put back without a flag.
    submission = correct()
    grade_tests_metadata(submission)["schema_version"] = "three"
    graded = grade(submission)
    assert graded.result.status == "graded"
    assert graded.result.score == 10


def test_graded_cell_whose_id_is_not_text_is_missing_so_the_notebook_is_invalid(grade, correct):
    submission = correct()
    grade_tests_metadata(submission)["grade_id"] = ["ps1-grade-tests"]
    graded = grade(submission)
    assert graded.result.status == "invalid"
    assert "ps1-grade-tests" in graded.result.message


def test_nbgrader_metadata_that_is_not_an_object_is_flagged_not_a_crash(grade, correct):
    submission = correct().add_cell("x = 1")
    submission.notebook["cells"][-1]["metadata"]["nbgrader"] = "grade me"
    graded = grade(submission)
    assert graded.result.status == "graded"
    assert "tampered" in graded.result.flags
    assert graded.result.score == 10


def test_a_second_cell_with_a_test_cells_id_is_flagged_and_earns_nothing(grade, correct):
    # A copy of the test cell, with the released metadata, placed first and emptied.
    submission = correct()
    impostor = copy.deepcopy(submission.cell("ps1-celsius-tests"))
    impostor["source"] = "pass"
    submission.notebook["cells"].insert(0, impostor)
    graded = grade(submission)
    assert "tampered" in graded.result.flags
    assert graded.result.max_score == 10
    assert graded.points["ps1-celsius-tests"] == 0


# -- tampering with execution, in-kernel grading (pls_grading.guard) ------------------------------

ANSWERS = ("ps1-celsius-answer", "ps1-initials-answer", "ps1-grade-answer")

# Hooks that make every later cell do nothing: all tests would "pass" with wrong answers.
# Each is installed by a cell of its own before the answers; the part the grader names.
EMPTYING_HOOKS = {
    "input-transformer-cleanup": (
        "get_ipython().input_transformers_cleanup.append(lambda lines: [])",
        "input transformers",
    ),
    "input-transformer-post": (
        "get_ipython().input_transformers_post.append(lambda lines: [])",
        "input transformers",
    ),
    "ast-transformer": (
        "import ast\n"
        "class Empty(ast.NodeTransformer):\n"
        "    def visit_Module(self, node):\n"
        "        node.body = []\n"
        "        return node\n"
        "get_ipython().ast_transformers.append(Empty())\n",
        "AST transformers",
    ),
    "replaced-compiler": (
        "ip = get_ipython()\n"
        "real = ip.compile\n"
        "class Compiler:\n"
        "    def __getattr__(self, name):\n"
        "        return getattr(real, name)\n"
        "    def __call__(self, source, filename, mode, *args, **kwargs):\n"
        "        return real(compile('pass', filename, 'exec', 1024), filename, mode)\n"
        "ip.compile = Compiler()\n",
        "the compiler",
    ),
    "patched-transform-cell": (
        "get_ipython().transform_cell = lambda cell: ''",
        "IPython's cell execution",
    ),
    "patched-builtin-exec": (
        "import builtins\nbuiltins.exec = lambda *args, **kwargs: None",
        "built-in functions",
    ),
    "custom-exception-handler": (
        "get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)",
        "exception handling",
    ),
}

# Hooks that see the hidden tests' code as it runs and print it into the cell's output.
LEAKING_HOOKS = {
    "ast-transformer": (
        "import ast\n"
        "class Leak(ast.NodeTransformer):\n"
        "    def visit_Module(self, node):\n"
        "        print(ast.unparse(node))\n"
        "        return node\n"
        "get_ipython().ast_transformers.append(Leak())\n",
        "AST transformers",
    ),
    "input-transformer": (
        "get_ipython().input_transformers_cleanup.append(lambda lines: print(''.join(lines)) "
        "or lines)",
        "input transformers",
    ),
    "replaced-compiler": (
        "ip = get_ipython()\n"
        "real = ip.compile\n"
        "class Compiler:\n"
        "    def __getattr__(self, name):\n"
        "        return getattr(real, name)\n"
        "    def __call__(self, source, *args, **kwargs):\n"
        "        print(source if isinstance(source, str) else __import__('ast').unparse(source))\n"
        "        return real(source, *args, **kwargs)\n"
        "ip.compile = Compiler()\n",
        "the compiler",
    ),
    "trace-function": (
        "import linecache, sys\n"
        "def trace(frame, event, arg):\n"
        "    if event == 'call' and frame.f_code.co_name == '<module>':\n"
        "        print(''.join(linecache.getlines(frame.f_code.co_filename)))\n"
        "sys.settrace(trace)\n",
        "a trace function",
    ),
    "profile-function": (
        "import linecache, sys\n"
        "def profile(frame, event, arg):\n"
        "    if event == 'call' and frame.f_code.co_name == '<module>':\n"
        "        print(''.join(linecache.getlines(frame.f_code.co_filename)))\n"
        "sys.setprofile(profile)\n",
        "a profile function",
    ),
    "audit-hook": (
        "import sys\n"
        "def hook(event, args):\n"
        "    if event == 'compile' and isinstance(args[0], (str, bytes)):\n"
        "        print(args[0] if isinstance(args[0], str) else args[0].decode())\n"
        "sys.addaudithook(hook)\n",
        "an audit hook",
    ),
}


@pytest.fixture
def wrong(correct) -> Callable[[], Submission]:
    """``wrong()``: a fresh submission whose every answer returns None."""

    def make() -> Submission:
        submission = correct()
        for grade_id in ANSWERS:
            submission.answer(grade_id, "    return None")
        return submission

    return make


def leaked_lines(outputs: list[dict[str, Any]]) -> list[str]:
    """The hidden tests' lines that appear in ``outputs`` (text, results, tracebacks)."""
    text = json.dumps(outputs).replace("\\n", "\n").replace('\\"', '"')
    return [line for line in hidden_test_lines() if line in text]


def test_a_normal_notebook_is_not_taken_for_tampering(grade_in_kernel, correct):
    # What notebooks do on purpose: plots, magics, future imports, displays, reloading.
    usual = ("from __future__ import annotations\n%matplotlib inline\n%load_ext autoreload\n"
             "%autoreload 2\n%xmode Plain\n%precision 3\nimport math, sys, warnings\n"
             "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\n"
             "from IPython.display import display, Markdown\ndisplay(Markdown('**hi**'))\n"
             "print('to stderr', file=sys.stderr)\nwarnings.warn('just a warning')\n")
    graded = grade_in_kernel(correct().add_cell(usual, at=0).add_cell("1 / 0"))
    assert graded.result.status == "graded"
    assert graded.result.score == 10
    assert "tampered" not in graded.result.flags
    assert graded.autograded()["metadata"]["pls_grading"]["execution_tampered"] == []


@pytest.mark.parametrize("hook, part", list(EMPTYING_HOOKS.values()), ids=list(EMPTYING_HOOKS))
def test_a_hook_that_empties_later_cells_is_undone_and_flagged(grade_in_kernel, wrong, hook,
                                                                part):
    graded = grade_in_kernel(wrong().add_cell(hook, at=0))
    result = graded.result
    assert "tampered" in result.flags
    assert result.score == 0  # without the guard: 10 of 10, every emptied test "passed"
    assert part in result.message and "earn no points" in result.message
    assert "TamperedExecution" in graded.errors_of("ps1-celsius-tests")
    # Undone: the next answer cell ran as written and its tests really failed.
    assert "AssertionError" in graded.errors_of("ps1-initials-tests")


@pytest.mark.parametrize("hook, part", list(LEAKING_HOOKS.values()), ids=list(LEAKING_HOOKS))
def test_a_hook_that_would_print_the_hidden_tests_is_undone_before_them(grade_in_kernel, correct,
                                                                       hook,
                                                                       part):
    graded = grade_in_kernel(correct().add_cell(hook, at=0))
    cells = graded.autograded()["cells"]
    assert leaked_lines([o for c in cells for o in c.get("outputs", [])]) == []
    assert "tampered" in graded.result.flags
    assert part in graded.result.message
    assert graded.result.score == 0  # the tests after a detected tampering earn nothing


def test_a_replaced_display_hook_is_undone_and_flagged(grade_in_kernel, correct):
    hook = ("import sys\nip = get_ipython()\nsys.displayhook = lambda value: None\n"
            "ip.display_trap.hook = lambda value: None\n")
    graded = grade_in_kernel(correct().add_cell(hook, at=0).add_cell("41 + 1"))
    assert "tampered" in graded.result.flags
    assert "the display hook" in graded.result.message
    last = graded.outputs(len(graded.autograded()["cells"]) - 1)
    results = [text_of(o["data"]["text/plain"]) for o in last
               if o["output_type"] == "execute_result"]
    assert results == ["42"]  # results are shown again once the hook was undone


def test_listeners_that_would_see_the_tests_source_are_set_aside_not_flagged(grade_in_kernel,
                                                                           correct):
    listener = ("ip = get_ipython()\n"
                "ip.events.register('pre_run_cell', lambda info: print(info.raw_cell))\n"
                "ip.events.register('post_run_cell', lambda result: print(result.info.raw_cell))\n")
    graded = grade_in_kernel(correct().add_cell(listener, at=0))
    cells = graded.autograded()["cells"]
    graded_cells = [c for c in cells if c["metadata"].get("nbgrader", {}).get("grade")]
    assert leaked_lines([o for c in graded_cells for o in c.get("outputs", [])]) == []
    assert "tampered" not in graded.result.flags
    assert graded.result.score == 10


LOOKS_BACK = """
import linecache, sys
ip = get_ipython()
seen = [repr(_ih), repr(In), repr(Out), repr(ip.history_manager.input_hist_raw)]
seen += ["".join(entry[2]) for entry in linecache.cache.values() if isinstance(entry, tuple)]
seen.append(repr(ip._last_traceback))
seen.append(repr(getattr(ip.last_execution_result, "info", None) and
                 ip.last_execution_result.info.raw_cell))
tb = sys.last_traceback
while tb is not None:
    seen.append("".join(linecache.getlines(tb.tb_frame.f_code.co_filename)))
    tb = tb.tb_next
print("\\n".join(seen))
"""


def test_a_later_cell_finds_no_trace_of_the_tests_source(grade_in_kernel, correct):
    # The initials tests fail (a hidden test quotes its line in the traceback); then a cell
    # looks through IPython's history, line cache and last traceback for the tests' source.
    submission = correct().answer(
        "ps1-initials-answer", '    return "".join(w[0].upper() for w in full_name.split(" "))')
    graded = grade_in_kernel(submission.add_cell(LOOKS_BACK))
    assert graded.points["ps1-initials-tests"] == 0
    cells = graded.autograded()["cells"]
    assert leaked_lines(graded.outputs(len(cells) - 1)) == []
    assert "tampered" not in graded.result.flags


def test_source_read_from_the_calling_frame_is_blanked_in_the_feedback(grade_in_kernel,
                                                                      correct):
    # Residual risk (docs/grading.md): the learner's function runs inside the test cell and
    # can read its caller's source. The verbatim lines are blanked in the feedback.
    spy = ("    import linecache, sys\n"
           "    print(''.join(linecache.getlines(sys._getframe(1).f_code.co_filename)))\n")
    solution = solution_bodies(SOURCE)["ps1-initials-answer"]
    graded = grade_in_kernel(correct().answer("ps1-initials-answer", spy + solution))
    assert leaked_lines(graded.outputs_of("ps1-initials-tests"))  # it did read them
    pages = list(graded.result.feedback_dir.rglob("*.html"))
    feedback = visible_text("".join(page.read_text() for page in pages))
    assert [line for line in hidden_test_lines() if line in feedback] == []


KILL_KERNEL = "import os\nos._exit(1)\n"
# Files the learner's code leaves for the next kernel (after it kills the current one); each
# would make that kernel the learner's, or stop it from starting.
LEFT_FOR_THE_NEXT_KERNEL = {
    "launcher-in-the-work-folder": (
        {"ipykernel_launcher.py": "import sys\nsys.exit(1)\n"}, ""),
    "kernel-spec-in-home": ({}, (
        "import json, os, pathlib\n"
        "spec = pathlib.Path.home() / '.local/share/jupyter/kernels/python3'\n"
        "spec.mkdir(parents=True, exist_ok=True)\n"
        "(spec / 'kernel.json').write_text(json.dumps({'argv': ['python', '-c', 'pass'],\n"
        "    'display_name': 'x', 'language': 'python'}))\n")),
    "ipython-config": ({}, (
        "import os, pathlib\n"
        "profile = pathlib.Path(os.environ['IPYTHONDIR']) / 'profile_default'\n"
        "profile.mkdir(parents=True, exist_ok=True)\n"
        "(profile / 'ipython_kernel_config.py').write_text('import os\\nos._exit(1)\\n')\n")),
}


@pytest.mark.parametrize("files, prepare", list(LEFT_FOR_THE_NEXT_KERNEL.values()),
                         ids=list(LEFT_FOR_THE_NEXT_KERNEL))
def test_a_restarted_kernel_starts_as_clean_as_the_first(grade_in_kernel, correct, files,
                                                        prepare):
    submission = correct().add_cell(prepare + KILL_KERNEL, at=0)
    submission.files.update(files)
    graded = grade_in_kernel(submission)
    assert "kernel-restarted" in graded.result.flags
    assert graded.result.score == 10  # the later cells ran in a real, fresh kernel
    assert "tampered" not in graded.result.flags


# -- the same hostile hooks under the judge (the default) -----------------------------------------
# The tests never run in the learner's kernel, so these hooks reach nothing: no guard is needed,
# nothing is flagged, and each submission scores exactly what its answers deserve.


@pytest.mark.parametrize("hook", [hook for hook, _ in EMPTYING_HOOKS.values()],
                         ids=list(EMPTYING_HOOKS))
def test_under_the_judge_a_hook_that_empties_cells_leaves_wrong_answers_wrong(grade, wrong, hook):
    graded = grade(wrong().add_cell(hook, at=0))
    assert graded.result.status == "graded"
    assert graded.result.score == 0
    assert graded.autograded()["metadata"]["pls_grading"]["grading"] == "judge"


@pytest.mark.parametrize("hook", [hook for hook, _ in LEAKING_HOOKS.values()],
                         ids=list(LEAKING_HOOKS))
def test_under_the_judge_a_hook_sees_no_test_and_right_answers_keep_their_points(grade, correct,
                                                                                 hook):
    graded = grade(correct().add_cell(hook, at=0))
    cells = graded.autograded()["cells"]
    assert leaked_lines([o for c in cells for o in c.get("outputs", [])]) == []
    assert graded.result.score == 10
    assert "tampered" not in graded.result.flags


def test_under_the_judge_the_calling_frame_holds_no_test(grade, correct):
    spy = ("    import linecache, sys\n"
           "    print(''.join(linecache.getlines(sys._getframe(1).f_code.co_filename)))\n")
    solution = solution_bodies(SOURCE)["ps1-initials-answer"]
    graded = grade(correct().answer("ps1-initials-answer", spy + solution))
    assert leaked_lines(graded.outputs_of("ps1-initials-tests")) == []
    assert graded.result.score == 10


def test_under_the_judge_a_later_cell_finds_no_trace_of_any_test(grade, correct):
    graded = grade(correct().add_cell(LOOKS_BACK))
    cells = graded.autograded()["cells"]
    assert leaked_lines(graded.outputs(len(cells) - 1)) == []
    assert graded.result.score == 10


# -- notebooks that cannot be graded -------------------------------------------------------------


@pytest.mark.parametrize("content, reason", [
    pytest.param(b"{this is not json", "not JSON", id="not-json"),
    pytest.param(b"", "not JSON", id="empty"),
    pytest.param(bytes(range(256)) * 4, "not UTF-8", id="binary"),
    pytest.param(b"[1, 2, 3]", "not a valid notebook", id="json-list"),
    pytest.param(b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": 5}',
                 "not a valid notebook", id="cells-not-a-list"),
])
def test_malformed_notebook_is_invalid_with_a_message_for_the_learner(grade, content, reason):
    graded = grade(content)
    assert graded.result.status == "invalid"
    assert graded.result.score == 0 and graded.result.max_score == 10
    assert reason in graded.result.message
    assert NOTEBOOK in graded.result.message


def test_truncated_notebook_is_invalid_with_a_message_for_the_learner(grade, correct):
    whole = json.dumps(correct().notebook).encode()
    graded = grade(whole[: len(whole) // 2])
    assert graded.result.status == "invalid"
    assert "not a notebook (not JSON)" in graded.result.message


def test_notebook_missing_a_graded_cell_is_invalid_and_names_it(grade, correct):
    submission = correct()
    submission.notebook["cells"].remove(submission.cell("ps1-grade-tests"))
    graded = grade(submission)
    assert graded.result.status == "invalid"
    assert "missing cells" in graded.result.message
    assert "ps1-grade-tests" in graded.result.message


def test_submission_without_the_assignments_notebook_is_invalid(course_dir, sandbox, tmp_path):
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "my-answers.ipynb").write_text("{}")
    result = autograde(course_dir, ASSIGNMENT, fresh_learner(), folder, sandbox=sandbox)
    assert result.status == "invalid"
    assert NOTEBOOK in result.message


# -- output floods -------------------------------------------------------------------------------


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


@pytest.mark.parametrize("flood", [
    pytest.param("import sys\nfor _ in range(300):\n    sys.stdout.write('x' * 1024 * 1024)\n",
                 id="print"),
    pytest.param("import os\nfor _ in range(300):\n    os.write(1, b'x' * 1024 * 1024)\n",
                 id="file-descriptor"),
    # Undoes the kernel's own cap: then the runner's cap must hold. (Flushed after each MB: one
    # buffered write of hundreds of MB kills the kernel on its memory limit instead.)
    pytest.param("import sys\nsys.stdout.write = type(sys.stdout).write.__get__(sys.stdout)\n"
                 "for _ in range(300):\n    sys.stdout.write('x' * 1024 * 1024)\n"
                 "    sys.stdout.flush()\n",
                 id="kernel-cap-undone"),
])
def test_hundreds_of_mb_of_output_are_capped_and_grading_finishes(grade, correct, flood):
    before = peak_rss_mib()
    graded = grade(correct().add_cell(flood, at=0))
    assert graded.result.status == "graded"
    assert "output-truncated" in graded.result.flags
    assert graded.result.score == 10
    kept = sum(len("".join(o.get("text", ""))) for o in graded.outputs(0))
    assert kept <= 2 * MIB  # 300 MB printed; the sandbox's per-cell cap is 1 MiB
    assert peak_rss_mib() - before < 150  # the grader never held the flood


# -- late submissions ----------------------------------------------------------------------------


def late_penalty_in_gradebook(course_dir: Path, learner: str) -> float:
    course = open_course(course_dir)
    with Gradebook(course.db_url, course.slug) as gb:
        return float(gb.find_submission(ASSIGNMENT, learner).late_submission_penalty)


def test_late_submission_under_reject_is_graded_but_does_not_count(grade, correct, course_dir):
    graded = grade(correct(), due_at=DUE, late_policy=LatePolicy("reject"),
                   submitted_at=DUE + dt.timedelta(hours=27))
    result = graded.result
    assert result.late and result.days_late == 2 and "late" in result.flags
    assert result.counts is False
    assert result.late_penalty == 10  # nbgrader's gradebook takes the whole score
    assert late_penalty_in_gradebook(course_dir, graded.learner) == 10
    assert "does not count" in result.message


def test_late_submission_under_penalty_loses_a_share_per_started_day(grade, correct, course_dir):
    graded = grade(correct(), due_at=DUE, late_policy=LatePolicy("penalty", 10, 3),
                   submitted_at=DUE + dt.timedelta(hours=27))
    result = graded.result
    assert result.late and result.days_late == 2 and result.counts
    assert result.score == 10 and result.late_penalty == 2  # 2 started days x 10 %
    assert late_penalty_in_gradebook(course_dir, graded.learner) == 2
    assert "late penalty of 2 points" in result.message


def test_late_submission_past_the_penalty_cutoff_does_not_count(grade, correct):
    result = grade(correct(), due_at=DUE, late_policy=LatePolicy("penalty", 10, 3),
                   submitted_at=DUE + dt.timedelta(days=4)).result
    assert result.days_late == 4 and result.counts is False and result.late_penalty == 10


def test_late_submission_under_accept_counts_flagged_late(grade, correct, course_dir):
    graded = grade(correct(), due_at=DUE, late_policy=LatePolicy("accept"),
                   submitted_at=DUE + dt.timedelta(minutes=1))
    result = graded.result
    assert result.late and result.days_late == 1 and "late" in result.flags
    assert result.counts and result.late_penalty == 0 and result.score == 10
    assert late_penalty_in_gradebook(course_dir, graded.learner) == 0
    assert "accepted as late" in result.message


def test_on_time_submission_is_not_late(grade, correct):
    result = grade(correct(), due_at=DUE, late_policy=LatePolicy("reject"),
                   submitted_at=DUE - dt.timedelta(seconds=1)).result
    assert not result.late and result.counts and "late" not in result.flags


# -- the sandbox itself --------------------------------------------------------------------------


def test_warm_pool_container_grades_like_a_cold_one(grade, correct):
    box = new_sandbox(pool_size=1)
    try:
        cold = grade(correct(), box=box)
        warm = grade(correct(), box=box)
    finally:
        box.close()
    assert cold.result.timing["warm"] is False
    assert warm.result.timing["warm"] is True
    assert cold.result.score == warm.result.score == 10
    assert wait_until_gone(box.name_prefix) == []  # close() leaves no container behind


def test_the_next_container_starts_while_a_notebook_runs_not_after(grade, correct, grading_image):
    """A busy queue's next submission finds its kernel started: the pool is refilled as soon
    as a run takes its container, not once the run is over."""
    box = new_sandbox(pool_size=1)
    exchange = box._exchange
    seen_during_the_run = []

    def watching_exchange(*args, **kwargs):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with box._lock:
                next_one = box._starting.get(grading_image, 0) + len(
                    box._pool.get(grading_image, [])
                )
            if next_one:
                break
            time.sleep(0.05)
        seen_during_the_run.append(next_one)
        return exchange(*args, **kwargs)

    box._exchange = watching_exchange
    try:
        graded = grade(correct(), box=box)
    finally:
        box.close()
    assert graded.result.score == 10
    assert seen_during_the_run == [1]


@pytest.fixture(scope="module")
def image_without_runner(grading_image) -> Iterator[str]:
    """The learner image with pls_grading removed: a course image built before it existed."""
    tag = f"pls-test-no-runner:{secrets.token_hex(4)}"
    dockerfile = (f"FROM {grading_image}\nUSER 0\n"
                  "RUN rm -rf /opt/venv/lib/python3.11/site-packages/pls_grading\nUSER 1000:100\n")
    subprocess.run(["docker", "build", "-q", "-t", tag, "-"], input=dockerfile, text=True,
                   capture_output=True, timeout=300, check=True,
                   env={**os.environ, "DOCKER_BUILDKIT": "0"})
    yield tag
    subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, check=False)


def test_an_image_without_the_runner_is_the_graders_problem_not_a_zero(
    grade, correct, image_without_runner, monkeypatch
):
    monkeypatch.setattr(Course, "image", lambda _course: image_without_runner)
    with pytest.raises(SandboxUnavailable, match="pls_grading"):
        grade(correct())


def test_closing_the_pool_ends_and_reaps_its_waiting_containers(grading_image):
    box = new_sandbox(pool_size=2)
    box._refill(grading_image)  # what a run does after taking its container
    waiting = list(box._pool[grading_image])
    assert len(waiting) == 2 and all(c.alive() for c in waiting)
    box.close()
    for _ in range(120):  # the engine's wait answers the exit status once the container is gone
        if all(c.exit_code is not None for c in waiting):
            break
        time.sleep(0.5)
    assert [c.exit_code for c in waiting] == [2, 2]  # the runner saw no request
    assert wait_until_gone(box.name_prefix) == []
