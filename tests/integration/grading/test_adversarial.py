"""Hostile submissions under the judge, each scoring exactly what its answers deserve.

Every case is one learner's submission of one assignment, graded through the real pipeline:
``grading.autograde`` with nbgrader's converters on the host, the notebook run by
``python -m pls_grading.execute`` in a fresh, network-less container of the course's image,
with ``grading: judge`` (the default): the learner's cells run in the kernel, the test cells in
the runner's judge (docs/grading.md, "The judge").

The assignment (``adversarial``, in a copy of python-101) holds python-101's problem set 1 as it
is (its tests import ``math`` themselves, compare strings, expect exceptions) and four problems
whose tests lean on what hostile code would aim at: modules and a helper from a read-only cell
(``np``, ``math``, ``operator``, ``close``), a test that calls the learner's function inside
``map``, partial credit with a bare ``except``, and a table of expected values shipped as a
file. Each hidden-test block of the four holds a marker (``CANARY``, new for each run) that no
learner's process may ever see; the cases that search for it are shown a ``CONTROL`` where they
look, and must find that one.

A case starts from every answer right, or from "almost" answers (right on the visible tests,
wrong on the hidden ones: what a learner forging a score starts from), adds its attack (answer
bodies, cells, files), and states the per-test scores it deserves. Each case then checks: the
exact scores and total, the flags it must carry, that neither the marker nor a hidden test's line
reached the feedback or any output, and what the attack itself reported (``PROBE <json>`` lines
its code printed). A few cases document what the judge does not prevent (docs/grading.md, "What
remains possible with the judge"); their ids start with ``documented-``.

Time: the cases share one warm sandbox (each notebook still runs in a fresh container, started
while the previous submission is graded) with a cell timeout of 5 s; only the cases that loop,
exit or kill their kernel cost more than a grading.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grading.course_directory import prepare_course
from grading.release import release
from grading.sandbox import Sandbox
from tests.support.autograding import (
    Graded,
    Submission,
    grader_of,
    hidden_lines_calling,
    new_sandbox,
    solution_bodies,
    text_of,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
COURSE = "python-101"
PS1 = ROOT / "courses" / COURSE / "source" / "ps1-basics" / "ps1-basics.ipynb"
ASSIGNMENT = "adversarial"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
CANARY = f"canary-{secrets.token_hex(8)}"
CONTROL = f"control-{secrets.token_hex(8)}"  # put where the searches look: they must find it
POINTS = {
    "ps1-celsius-tests": 3.0, "ps1-initials-tests": 3.0, "ps1-grade-tests": 4.0,
    "adv-squares-tests": 2.0, "adv-even-tests": 2.0, "adv-mean-tests": 2.0,
    "adv-table-tests": 1.0,
}
TABLE = {"3": 6, "4": 10, "10": 55}


# -- the assignment --------------------------------------------------------------------------


def nbgrader_cell(kind: str, source: str, grade_id: str, points: float = 0) -> Any:
    """A code cell as nbgrader's create-assignment makes it: ``answer``, ``test`` (graded) or
    ``read-only``."""
    meta = {"grade": kind == "test", "grade_id": grade_id, "locked": kind != "answer",
            "schema_version": 3, "solution": kind == "answer", "task": False}
    if kind == "test":
        meta["points"] = points
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": meta})


SETUP = '''import math
import operator

import numpy as np


def close(actual, expected):
    """Whether two numbers are equal, give or take rounding."""
    return math.isclose(actual, expected, abs_tol=1e-9)
'''

PROBLEMS = [
    ("answer", "adv-squares-answer", '''import numpy as np


def squares(n):
    """Return the numpy array of the squares of 0, 1, ..., n - 1."""
    ### BEGIN SOLUTION
    return np.arange(n) ** 2
    ### END SOLUTION
'''),
    ("test", "adv-squares-tests", f'''"""squares: np, math and operator are the read-only cell's."""
assert np.allclose(squares(4), [0, 1, 4, 9])
np.testing.assert_array_equal(squares(3), np.array([0, 1, 4]))
### BEGIN HIDDEN TESTS
marker = "{CANARY}"
np.testing.assert_array_equal(squares(5), np.array([0, 1, 4, 9, 16]))
assert math.isclose(float(squares(12)[-1]), 121.0)
assert operator.eq(squares(0).tolist(), [])
assert np.allclose(squares(7), [0, 1, 4, 9, 16, 25, 36])
### END HIDDEN TESTS
'''),
    ("answer", "adv-even-answer", '''def is_even(n):
    """Return True when the whole number n is even, else False."""
    ### BEGIN SOLUTION
    return n % 2 == 0
    ### END SOLUTION
'''),
    ("test", "adv-even-tests", f'''"""is_even tells even numbers from odd ones, from -6 to 6."""
import unittest

check = unittest.TestCase()
check.assertIs(is_even(4), True)
check.assertIs(is_even(7), False)
### BEGIN HIDDEN TESTS
marker = "{CANARY}"
assert all(map(lambda n: is_even(n) == (n % 2 == 0), range(-6, 7)))
### END HIDDEN TESTS
'''),
    ("answer", "adv-mean-answer", '''def mean(values):
    """Return the arithmetic mean of a non-empty list of numbers."""
    ### BEGIN SOLUTION
    return sum(values) / len(values)
    ### END SOLUTION
'''),
    ("test", "adv-mean-tests", f'''"""mean: half a point for each case it gets right."""
cases = [([1, 2, 3], 2), ([5], 5)]
### BEGIN HIDDEN TESTS
marker = "{CANARY}"
cases += [([-1, 1], 0), ([2.5, 3.5], 3)]
### END HIDDEN TESTS
right = 0
for values, expected in cases:
    try:
        if close(mean(values), expected):
            right += 1
    except:  # any failure of the learner's function costs this case only
        pass
right / 2
'''),
    ("answer", "adv-table-answer", '''def triangle(n):
    """Return 1 + 2 + ... + n."""
    ### BEGIN SOLUTION
    return n * (n + 1) // 2
    ### END SOLUTION
'''),
    ("test", "adv-table-tests", '''"""triangle matches the table shipped with the assignment."""
import json

with open("expected.json", encoding="utf-8") as table:
    expected = json.load(table)
assert expected, "the table of expected values is empty"
for n, value in expected.items():
    assert triangle(int(n)) == value
'''),
]


def source_notebook() -> Any:
    """python-101's problem set 1 as it is, after a read-only cell of imports and a helper, and
    the four problems above."""
    ps1 = nbformat.read(PS1, as_version=4)
    intro = nbformat.v4.new_markdown_cell("# Hostile submissions\n\nProblem set 1, and more.")
    cells = [intro, nbgrader_cell("read-only", SETUP, "adv-setup"), *ps1.cells]
    for kind, grade_id, source in PROBLEMS:
        cells.append(nbgrader_cell(kind, source, grade_id, POINTS.get(grade_id, 0)))
    return nbformat.v4.new_notebook(cells=cells, metadata=ps1.metadata)


LEARNER_FUNCTIONS = re.compile(
    r"celsius_to_fahrenheit\(|initials\(|letter_grade\(|squares\(|is_even\(|mean\(")


def hidden_test_lines() -> list[str]:
    """The assignment's hidden tests' lines that call a learner function, stripped."""
    lines = hidden_lines_calling(source_notebook(), LEARNER_FUNCTIONS)
    assert len(lines) >= 15, lines
    return lines


def needles() -> list[str]:
    """What a learner's search must never find: the marker and the hidden tests' lines."""
    return [CANARY, *hidden_test_lines()]


@pytest.fixture(scope="module")
def course_dir(grader_root, grading_image, tmp_path_factory) -> Path:
    """A copy of python-101 with the ``adversarial`` assignment, released."""
    folder = tmp_path_factory.mktemp("adversarial") / COURSE
    shutil.copytree(ROOT / "courses" / COURSE, folder)
    source = folder / "source" / ASSIGNMENT
    source.mkdir()
    nbformat.write(source_notebook(), source / NOTEBOOK)
    (source / "expected.json").write_text(json.dumps(TABLE), encoding="utf-8")
    course_dir = grader_root / "adversarial" / COURSE
    prepare_course(course_dir, folder)
    info = release(course_dir, ASSIGNMENT)
    assert info.max_score == sum(POINTS.values())
    return course_dir


@pytest.fixture(scope="module")
def released(course_dir) -> dict[str, Any]:
    return json.loads((course_dir / "release" / ASSIGNMENT / NOTEBOOK).read_text())


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """The module's warm sandbox, with a cell timeout short enough for the looping cases."""
    box = new_sandbox(pool_size=1, cell_timeout=5, time_limit=60)
    yield box
    box.close()


@pytest.fixture
def grade(course_dir, sandbox, tmp_path) -> Callable[..., Graded]:
    return grader_of(course_dir, ASSIGNMENT, sandbox, tmp_path)


# -- answers and cases ----------------------------------------------------------------------

ANSWERS = ("ps1-celsius-answer", "ps1-initials-answer", "ps1-grade-answer", "adv-squares-answer",
           "adv-even-answer", "adv-mean-answer", "adv-table-answer")
# Right on the visible tests, wrong on the hidden ones: where a learner forging a score starts.
ALMOST = {
    "ps1-celsius-answer": "    return {0: 32, 100: 212}.get(celsius, 0)",
    "ps1-initials-answer": '    return "".join(word[0].upper() for word in full_name.split(" "))',
    "ps1-grade-answer": '    return {95: "A", 85: "B", 42: "F"}.get(score, "F")',
    "adv-squares-answer": "    import numpy\n    return numpy.array([0, 1, 4, 9][:n])",
    "adv-even-answer": "    return n == 4",
    "adv-mean-answer": "    return values[0] if len(values) == 1 else 2",  # 2 of 4 cases
    "adv-table-answer": "    return {3: 6}.get(n, 0)",
}
RIGHT_SCORES = dict(POINTS)
ALMOST_SCORES = {**{test: 0.0 for test in POINTS}, "adv-mean-tests": 1.0}
ZERO = {test: 0.0 for test in POINTS}


def right_bodies() -> dict[str, str]:
    return solution_bodies(source_notebook())


@dataclass(frozen=True)
class Case:
    """One hostile submission: its answers, its attack, and the per-test scores it deserves."""

    id: str
    right: bool = False
    """Start from every answer right (else: right on the visible tests only)."""
    bodies: Mapping[str, str] = field(default_factory=dict)
    """answer cell id -> the function's body, instead of the starting one."""
    sources: Mapping[str, str | Callable[[dict[str, Any]], str]] = field(default_factory=dict)
    """answer cell id -> the whole cell (or what makes it from the released notebook)."""
    before: str = ""
    """A learner cell right after the read-only cell, before every answer."""
    before_test: Mapping[str, str] = field(default_factory=dict)
    """test cell id -> a learner cell right before that test."""
    after: str = ""
    """A learner cell after every test."""
    files: Mapping[str, str] = field(default_factory=dict)
    scores: Mapping[str, float] = field(default_factory=dict)
    """The scores that differ from the start's (right: every point; almost: ALMOST_SCORES)."""
    flags: tuple[str, ...] = ()
    check: Callable[[Graded], None] | None = None

    def expected(self) -> dict[str, float]:
        return {**(RIGHT_SCORES if self.right else ALMOST_SCORES), **self.scores}

    def submission(self, released: dict[str, Any]) -> Submission:
        submission = Submission(released, NOTEBOOK, files=dict(self.files))
        start = right_bodies() if self.right else ALMOST
        for answer in ANSWERS:
            submission.answer(answer, self.bodies.get(answer, start[answer]))
        for answer, source in self.sources.items():
            submission.replace(answer, source if isinstance(source, str) else source(released))
        for test, source in self.before_test.items():
            submission.add_cell(source, at=index_of(submission, test))
        if self.before:
            submission.add_cell(self.before, at=index_of(submission, "adv-setup") + 1)
        if self.after:
            submission.add_cell(self.after)
        return submission


def index_of(submission: Submission, grade_id: str) -> int:
    return submission.notebook["cells"].index(submission.cell(grade_id))


def outputs_text(outputs: list[dict[str, Any]]) -> str:
    """Everything the outputs hold as text (streams, results, errors and their tracebacks)."""
    return json.dumps(outputs, ensure_ascii=False).replace("\\n", "\n").replace('\\"', '"')


def probes(graded: Graded) -> list[dict[str, Any]]:
    """Every ``PROBE <json>`` line the learner's code printed, in any cell (a learner function
    called by the judge prints into the test cell's outputs)."""
    found = []
    for cell in graded.autograded()["cells"]:
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                found += [json.loads(line) for line in re.findall(
                    r"^PROBE (.*)$", text_of(output["text"]), re.M)]
    assert found, "the attack printed no probe"
    return found


def nothing_found(graded: Graded) -> None:
    """The attack's searches found the control they were shown, and nothing else: no marker,
    no hidden test's line."""
    for probe in probes(graded):
        found = {entry if isinstance(entry, str) else entry[-1] for entry in probe["found"]}
        assert found == {CONTROL}, probe


# -- what the learner's code runs with: the needles it searches for, and searches ---------------


def needles_cell() -> str:
    """Defines NEEDLES in the learner's kernel: the control, the marker and the hidden lines,
    carried in base64 so that the learner's own cells (kept in IPython's history) do not hold
    them; ``strings_in``, which the searches look through containers with; and a copy of the
    control where the searches look (memory, a file), which they must find."""
    encoded = base64.b64encode(json.dumps([CONTROL, *needles()]).encode()).decode()
    return ("def _needles():\n    import base64, json\n"
            f"    return json.loads(base64.b64decode('{encoded}'))\n\n\nNEEDLES = _needles()\n"
            "CONTROL_COPY = NEEDLES[0][::-1][::-1]  # a string of its own, equal to the control\n"
            "with open('/tmp/control.txt', 'w') as control:\n"
            "    control.write(CONTROL_COPY)\n"
            + STRINGS_IN)


STRINGS_IN = '''

def strings_in(value, depth=1):
    """The strings a container, a function's code or a frame holds, ``depth`` levels down
    (never NEEDLES' own)."""
    kind = type(value)
    if value is NEEDLES:
        return
    if kind is str:
        yield value
    elif depth <= 0:
        return
    elif kind in (list, tuple, set, frozenset):
        for item in list(value):
            yield from strings_in(item, depth - 1)
    elif kind is dict:
        for key, item in list(value.items()):
            yield from strings_in(key, depth - 1)
            yield from strings_in(item, depth - 1)
    elif kind is type(strings_in):
        yield from strings_in(value.__code__.co_consts, depth)
    elif kind is type(strings_in.__code__):
        yield from strings_in(value.co_consts, depth)


def needles_in(value, depth=1):
    return {n[:40] for text in strings_in(value, depth) for n in NEEDLES if n in text}
'''

SEARCH_MEMORY = '''
import gc, json, sys

SEARCHED = set()


def search_memory(tag, *arguments):
    """Look through everything the kernel holds for the tests (every object the collector
    tracks, what refers to the arguments, every thread's frames), once per tag."""
    if tag in SEARCHED:
        return
    SEARCHED.add(tag)
    places = gc.get_objects() + (gc.get_referrers(*arguments) if arguments else [])
    for frame in sys._current_frames().values():
        while frame is not None:
            places += [frame.f_locals, frame.f_code]
            frame = frame.f_back
    found = set()
    for place in places:
        try:
            found |= needles_in(place)
        except Exception:
            pass
    print("PROBE", json.dumps({"tag": tag, "searched": len(places), "found": sorted(found)}))
'''

SEARCH_FILES = '''
import json, os


def search_files(tag):
    """Read every file in the places a process may write to, and list the notebooks there."""
    found, notebooks, read = [], [], 0
    for top in ("/tmp", "/home", "/var/tmp", "/dev/shm", "/run", os.getcwd()):
        for folder, _, files in os.walk(top):
            for name in files:
                path = os.path.join(folder, name)
                if name.endswith(".ipynb"):
                    notebooks.append(path)
                try:
                    if os.path.islink(path) or os.path.getsize(path) > 16 << 20:
                        continue
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                read += 1
                found += [[path, n[:40]] for n in NEEDLES if n.encode() in data]
    print("PROBE", json.dumps({"tag": tag, "read": read, "found": found,
                               "notebooks": notebooks}))
'''

UNDER_JUDGE = '''
import sys


def under_judge():
    """Whether the judge's channel (pls_grading.probe) is calling: look up the stack."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.endswith("pls_grading/probe.py"):
            return True
        frame = frame.f_back
    return False
'''


def with_prelude(prelude: str, bodies: Mapping[str, str],
                 answers: tuple[str, ...] = ANSWERS) -> dict[str, str]:
    """Each answer's body (from ``bodies``) with the lines ``prelude`` first."""
    return {answer: prelude + bodies[answer] for answer in answers}


ARGUMENT = {"ps1-celsius-answer": "celsius", "ps1-initials-answer": "full_name",
            "ps1-grade-answer": "score", "adv-squares-answer": "n", "adv-even-answer": "n",
            "adv-mean-answer": "values", "adv-table-answer": "n"}
FUNCTION = {"ps1-celsius-answer": "celsius_to_fahrenheit", "ps1-initials-answer": "initials",
            "ps1-grade-answer": "letter_grade", "adv-squares-answer": "squares",
            "adv-even-answer": "is_even", "adv-mean-answer": "mean",
            "adv-table-answer": "triangle"}


# -- results displayed, printed or written where a test's result would be ----------------------

PUBLISHING_THREAD = '''
import threading, time

kernel = get_ipython().kernel


def publish_forever():
    """Results, displays and clear_output on the kernel's output channel, every few ms, under
    whatever request the kernel is answering (the judge's questions too)."""
    while True:
        parent = kernel.get_parent()
        for kind, content in (
            ("clear_output", {"wait": True}),
            ("execute_result", {"execution_count": 9, "data": {"text/plain": "10"},
                                "metadata": {}}),
            ("display_data", {"data": {"text/plain": "Out[9]: 10"}, "metadata": {},
                              "transient": {}}),
        ):
            try:
                kernel.session.send(kernel.iopub_socket, kind, content, parent=parent)
            except Exception:
                pass
        time.sleep(0.005)


threading.Thread(target=publish_forever, daemon=True).start()
'''

PRINTS_RESULTS = '''    from IPython.display import display
    print("Out[9]: 10\\n\\x1b[2K\\x1b[1A\\x1b[0;32mAll tests passed\\x1b[0m\\r", end="")
    display({"text/plain": "10"}, raw=True)
'''

PUBLISHES_ERRORS = '''    kernel = get_ipython().kernel
    for kind, content in (
        ("error", {"ename": "AssertionError", "evalue": "", "traceback": ["AssertionError"]}),
        ("stream", {"name": "stderr", "text": "Traceback: AssertionError"}),
    ):
        kernel.session.send(kernel.iopub_socket, kind, content, parent=kernel.get_parent())
'''

WRITES_NOTEBOOKS = '''
import json, os

passed = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
          "data": {"text/plain": "10"}}
fake = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
    {"cell_type": "code", "source": "", "execution_count": 1, "outputs": [passed],
     "metadata": {"nbgrader": {"grade": True, "grade_id": grade_id, "points": 4}}}
    for grade_id in GRADE_IDS]}
written = []
for path in ("adversarial.ipynb", "autograded/adversarial.ipynb", "../adversarial.ipynb",
             "/tmp/adversarial.ipynb", os.path.expanduser("~/adversarial.ipynb")):
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as out:
            json.dump(fake, out)
        written.append(path)
    except OSError:
        pass
print("PROBE", json.dumps({"written": written}))
'''.replace("GRADE_IDS", repr(list(POINTS)))

FORGES_ON_STDOUT = '''
import json
fake = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
with open("/proc/1/fd/1", "w") as out:
    out.write(json.dumps(fake) + "\\n" + "0" * 64 + "\\n")
'''


def the_thread_published_all_along(graded: Graded) -> None:
    last = graded.outputs(len(graded.autograded()["cells"]) - 1)  # a learner cell's
    assert "Out[9]: 10" in outputs_text(last)


def a_result_was_written_but_not_taken(graded: Graded) -> None:
    assert "adversarial.ipynb" in probes(graded)[0]["written"]


def the_sandbox_stopped(graded: Graded) -> None:
    assert "could not be run to the end" in graded.result.message


# -- IPython's machinery and built-ins, patched in the learner's kernel ------------------------

EMPTYING_TRANSFORMERS = '''
import ast

ip = get_ipython()


def a_test(lines):
    return any("assert" in line or "HIDDEN" in line for line in lines)


ip.input_transformers_cleanup.append(lambda lines: ["10\\n"] if a_test(lines) else lines)
ip.input_transformers_post.append(lambda lines: ["10\\n"] if a_test(lines) else lines)


class DropAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return None


ip.ast_transformers.append(DropAsserts())
'''

REPLACED_EXECUTION = '''
import builtins

ip = get_ipython()
real_exec, real_compile = builtins.exec, builtins.compile
real_run_cell, real_run_cell_async = ip.run_cell, ip.run_cell_async


def a_test(source):
    return isinstance(source, str) and ("assert" in source or "HIDDEN" in source)


def exec_(code, *args, **kwargs):
    return None if a_test(code) else real_exec(code, *args, **kwargs)


def compile_(source, *args, **kwargs):
    return real_compile("10" if a_test(source) else source, *args, **kwargs)


def run_cell(raw_cell, *args, **kwargs):
    return real_run_cell("10" if a_test(raw_cell) else raw_cell, *args, **kwargs)


async def run_cell_async(raw_cell, *args, **kwargs):
    return await real_run_cell_async("10" if a_test(raw_cell) else raw_cell, *args, **kwargs)


builtins.exec, builtins.compile = exec_, compile_
ip.run_cell, ip.run_cell_async = run_cell, run_cell_async
ip.transform_cell = lambda cell: "10\\n" if a_test(cell) else type(ip).transform_cell(ip, cell)
'''

REPLACED_HOOKS = '''
import sys

ip = get_ipython()


def passed(*args, **kwargs):
    print("Out[3]: 10")


sys.excepthook = passed
sys.displayhook = passed
ip.display_trap.hook = passed
ip.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: passed())
ip.showtraceback = passed
ip.showsyntaxerror = passed
'''

EVENT_CALLBACKS = '''
ip = get_ipython()


def pre_run_cell(info):
    if "assert" in (info.raw_cell or ""):
        info.raw_cell = "10"
    print("Out[1]: 10")


def post_run_cell(result):
    result.error_in_exec = None
    result.error_before_exec = None


def pre_execute():
    print("Out[2]: 10")


def post_execute():
    print("Out[3]: 10")


for event, callback in (("pre_run_cell", pre_run_cell), ("post_run_cell", post_run_cell),
                        ("pre_execute", pre_execute), ("post_execute", post_execute)):
    ip.events.register(event, callback)
'''

EXIT_SIGNAL_TRACE_HOOKS = '''
import atexit, json, signal, sys, threading


def forge_at_exit():
    with open("/proc/1/fd/1", "w") as out:
        fake = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        out.write(json.dumps(fake) + "\\n" + "0" * 64 + "\\n")


atexit.register(forge_at_exit)
for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
    signal.signal(number, lambda *args: None)


def trace(frame, event, arg):
    return trace


sys.settrace(trace)
threading.settrace(trace)
sys.setprofile(lambda frame, event, arg: None)
threading.setprofile(lambda frame, event, arg: None)
'''

FORMATTER_LIES = '''
import json

plain = get_ipython().display_formatter.formatters["text/plain"]


def lie(text, printer, cycle):
    """Every text the kernel answers is shown through here: a call's answer becomes True."""
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and "stdout" in answer:
        answer.pop("error", None)
        answer.pop("unsupported", None)
        answer["value"] = True
        text = json.dumps(answer)
    printer.text(repr(text))


plain.for_type(str, lie)
'''

PROBE_MODULE_REPLACED = '''
import json, sys, types

import pls_grading

fake = types.ModuleType("pls_grading.probe")


def answer(request_text):
    """Every name is the judge's own module; every call returns True."""
    if json.loads(request_text).get("op") == "lookup":
        return json.dumps({"value": ["m", "pls_grading.judge"]})
    return json.dumps({"value": True, "stdout": "", "stderr": ""})


fake.answer = answer
sys.modules["pls_grading.probe"] = fake
pls_grading.probe = fake
'''

# -- values that lie -------------------------------------------------------------------------

EQUAL_TO_EVERYTHING = '''
class Anything:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __lt__(self, other):
        return True

    __le__ = __gt__ = __ge__ = __lt__

    def __hash__(self):
        return 0

    def __bool__(self):
        return True

    def __sub__(self, other):
        return 0

    __rsub__ = __sub__

    def __abs__(self):
        return 0

    def __float__(self):
        return 0.0

    def __index__(self):
        return 0

    def __getitem__(self, key):
        return self

    def tolist(self):
        return []
'''

LYING_SUBCLASSES = '''
import numpy


class Float(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__

    def __sub__(self, other):
        return 0.0


class Str(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


class Int(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class List(list):
    def __eq__(self, other):
        return True


class Array(numpy.ndarray):
    def __eq__(self, other):
        return numpy.ones(self.shape, dtype=bool)

    def tolist(self):
        return List()
'''

NUMPY_LIKE = '''
import numpy


class ArrayLike:
    """Converts to the right squares, compares equal to anything, and is not an array."""

    def __init__(self, n):
        self.n = n

    def __array__(self, dtype=None, copy=None):
        return numpy.arange(self.n) ** 2

    def __eq__(self, other):
        return numpy.ones(self.n, dtype=bool)

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        return self.__array__()[index]

    def tolist(self):
        return self.__array__().tolist()

    @property
    def shape(self):
        return (self.n,)
'''

LYING_REPR = '''
class Liar:
    """Shows itself as the expected value, and says it is a float."""

    def __init__(self, shown):
        self.shown = shown

    def __repr__(self):
        return self.shown

    __str__ = __repr__

    @property
    def __class__(self):
        return float
'''

RUNS_CODE_WHEN_TOUCHED = '''
class Payload:
    """Runs code if anything pickles, copies, iterates, converts or compares it."""

    def __reduce__(self):
        return (print, ("PWNED by __reduce__",))

    def __reduce_ex__(self, protocol):
        return self.__reduce__()

    def __getstate__(self):
        print("PWNED by __getstate__")
        return {}

    def __copy__(self):
        print("PWNED by __copy__")
        return self

    def __deepcopy__(self, memo):
        print("PWNED by __deepcopy__")
        return self

    def __iter__(self):
        print("PWNED by __iter__")
        return iter([32])

    def __index__(self):
        print("PWNED by __index__")
        return 32

    def __float__(self):
        print("PWNED by __float__")
        return 32.0

    def __eq__(self, other):
        print("PWNED by __eq__")
        return True

    __hash__ = object.__hash__
'''


def nothing_of_the_payload_ran(graded: Graded) -> None:
    cells = graded.autograded()["cells"]
    assert "PWNED" not in outputs_text([o for c in cells for o in c.get("outputs", [])])


def refused_naming_the_types(graded: Graded) -> None:
    errors = outputs_text(graded.outputs_of("ps1-celsius-tests"))
    assert "CannotCheck" in errors and "Float" in errors


# -- the comparisons the tests make, patched or replaced -----------------------------------------

PATCHED_IN_THE_KERNEL = '''
import builtins, math, operator, unittest

import numpy

math.isclose = lambda *args, **kwargs: True
operator.eq = lambda a, b: True
numpy.allclose = lambda *args, **kwargs: True
numpy.testing.assert_array_equal = lambda *args, **kwargs: None
unittest.TestCase.assertIs = lambda self, first, second, msg=None: None
builtins.abs = lambda value: 0
builtins.all = lambda values: True
'''

FAKE_MODULES = '''
import sys, types


def passes(*args, **kwargs):
    return True


np = types.ModuleType("learners_numpy")
np.allclose = passes
np.array = lambda values, *args, **kwargs: values
np.testing = types.ModuleType("learners_numpy.testing")
np.testing.assert_array_equal = lambda *args, **kwargs: None
math = types.ModuleType("learners_math")
math.isclose = passes
operator = types.ModuleType("learners_operator")
operator.eq = passes
for module in (np, np.testing, math, operator):
    sys.modules[module.__name__] = module
'''

CLASSES_NAMED_LIKE_MODULES = '''
class np:
    allclose = staticmethod(lambda *args, **kwargs: True)
    array = staticmethod(lambda values, *args, **kwargs: values)

    class testing:
        assert_array_equal = staticmethod(lambda *args, **kwargs: None)


class math:
    isclose = staticmethod(lambda *args, **kwargs: True)


class operator:
    eq = staticmethod(lambda *args, **kwargs: True)
'''

STOPITERATION_FROM_THE_CHANNEL = '''
import json

import pls_grading.probe as channel

honest = channel.answer


def answer(request_text):
    """Honest, but a call of is_even with an input the visible tests do not use 'raises'
    StopIteration: inside map(), that would end the test's loop early."""
    request = json.loads(request_text)
    if request.get("op") == "call":
        function = channel.probe.handles.get(request["target"].get("handle"))
        if getattr(function, "__name__", "") == "is_even" and \\
                channel.probe.decode(request["args"]) not in ([4], [7]):
            return json.dumps({"error": {"ename": "StopIteration", "evalue": "",
                                         "traceback": []}, "stdout": "", "stderr": ""})
    return honest(request_text)


channel.answer = answer
'''

# -- reading the judge's frames, memory and files -----------------------------------------------

REPORT_FRAMES = '''
import inspect, json, sys

REPORTED = set()


def report_frames(tag):
    """Walk the caller's frames (the judge's, if it ran here) for the tests' code."""
    if tag in REPORTED:
        return
    REPORTED.add(tag)
    found, files = set(), []
    frame = sys._getframe(1)
    while frame is not None:
        files.append(frame.f_code.co_filename)
        found |= needles_in(frame.f_code) | needles_in(frame.f_locals, depth=3)
        found |= needles_in(frame.f_globals, depth=2)
        frame = frame.f_back
    for info in inspect.stack():
        found |= needles_in(info.code_context or [])
    print("PROBE", json.dumps({"tag": tag, "found": sorted(found),
                               "test frames": [f for f in files if "test cell" in f]}))
'''

SPY_ON_THE_RUNNER = '''
import ctypes, json, os


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


def spy_on_the_runner():
    """The judge runs in the kernel's parent: read its memory, files and environment."""
    runner, seen = os.getppid(), {}
    for part in ("mem", "environ", "maps", "fd/0", "fd/1", "fd/3", "cmdline", "status"):
        try:
            with open(f"/proc/{runner}/{part}", "rb") as handle:
                data = handle.read(1 << 22)
            seen[part] = "read" + (" a needle" if any(n.encode() in data for n in NEEDLES)
                                   else "")
        except OSError as exc:
            seen[part] = type(exc).__name__
    libc = ctypes.CDLL(None, use_errno=True)
    seen["ptrace"] = libc.ptrace(16, runner, None, None)  # PTRACE_ATTACH
    buffer = ctypes.create_string_buffer(64)
    here, there = IoVec(ctypes.addressof(buffer), 64), IoVec(0x400000, 64)
    seen["process_vm_readv"] = libc.process_vm_readv(
        runner, ctypes.byref(here), 1, ctypes.byref(there), 1, 0)
    print("PROBE", json.dumps(seen))
'''


def the_runner_stayed_out_of_reach(graded: Graded) -> None:
    seen = probes(graded)[0]
    assert {part: seen[part] for part in ("mem", "environ", "maps", "fd/0", "fd/1", "fd/3")} \
        == dict.fromkeys(("mem", "environ", "maps", "fd/0", "fd/1", "fd/3"), "PermissionError")
    assert seen["cmdline"] == "read"  # what ps shows: no needle in it
    assert seen["ptrace"] == -1 and seen["process_vm_readv"] == -1


ENVIRONMENT_AND_COMMAND_LINES = '''
import json, os, subprocess

import time
witness = subprocess.Popen(["sleep", "30"], env={"WITNESS": CONTROL_COPY})
# Popen returns once the child is forked; its environment is the control's only after exec.
for _ in range(500):
    try:
        with open(f"/proc/{witness.pid}/cmdline", "rb") as handle:
            if handle.read().startswith(b"sleep"):
                break
    except OSError:
        pass
    time.sleep(0.01)
# NBGRADER_EXECUTION=autograde is set on purpose, as `nbgrader autograde` sets it.
found, secrets = [], sorted(name for name in os.environ if name != "NBGRADER_EXECUTION" and any(
    word in name.upper() for word in ("KEY", "TOKEN", "SECRET", "PASSWORD", "GRADER", "LMS")))
for pid in filter(str.isdigit, os.listdir("/proc")):
    for part in ("cmdline", "environ"):
        try:
            with open(f"/proc/{pid}/{part}", "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        found += [[pid, part, n[:40]] for n in NEEDLES if n.encode() in data]
witness.kill()
print("PROBE", json.dumps({"found": found, "secrets": secrets}))
'''


def no_secret_in_the_environment(graded: Graded) -> None:
    assert probes(graded)[0]["secrets"] == []


def hidden_inputs_reach_the_feedback(graded: Graded) -> None:
    feedback = graded.feedback()
    assert "'  guido   van rossum '" in feedback  # printed by the learner's function
    assert "'ada\\tlovelace'" in feedback


def numpy_quotes_the_hidden_expected_array(graded: Graded) -> None:
    assert re.search(r"array\(\[\s*0,\s*1,\s*4,\s*9,\s*16\]\)", graded.feedback())


# -- files in the work folder -----------------------------------------------------------------

SHADOWING_FILES = {
    "math.py": "def isclose(*args, **kwargs):\n    return True\n",
    "operator.py": "def eq(a, b):\n    return True\n",
    "unittest.py": "class TestCase:\n    def assertIs(self, *args, **kwargs):\n        pass\n",
    "json.py": "def load(handle):\n    return {'3': 6}\n",
    "numpy.py": ("def array(values, *args, **kwargs):\n    return list(values)\n\n\n"
                 "def allclose(*args, **kwargs):\n    return True\n\n\nclass testing:\n"
                 "    @staticmethod\n    def assert_array_equal(*args, **kwargs):\n"
                 "        pass\n"),
}
RUNNER_MODULES_SHADOWED = {
    "pls_grading/__init__.py": "",
    "pls_grading/judge.py": "raise SystemExit('the learner's judge')\n",
    "pls_grading/wire.py": "raise SystemExit('the learner's wire')\n",
    "signal.py": "raise SystemExit('the learner's signal')\n",
    "contextlib.py": "raise SystemExit('the learner's contextlib')\n",
    "pandas.py": "raise SystemExit('the learner's pandas')\n",
    "decimal.py": "raise SystemExit('the learner's decimal')\n",
}

STARTUP_FILES_THEN_EXIT = '''
import os, pathlib

hook = "import builtins\\nbuiltins.HOOKED = True\\n"
home = pathlib.Path.home()
places = [pathlib.Path("sitecustomize.py"), pathlib.Path("usercustomize.py"),
          pathlib.Path("hook.pth"),
          home / ".ipython/profile_default/startup/00-hook.py",
          pathlib.Path(os.environ["IPYTHONDIR"]) / "profile_default/startup/00-hook.py",
          home / ".local/lib/python3.11/site-packages/usercustomize.py",
          home / ".local/lib/python3.11/site-packages/hook.pth",
          home / "startup.py"]
for place in places:
    place.parent.mkdir(parents=True, exist_ok=True)
    place.write_text(("import builtins; builtins.HOOKED = True\\n" if place.suffix == ".pth"
                      else hook))
config = home / ".ipython/profile_default/ipython_kernel_config.py"
config.write_text("c.InteractiveShellApp.exec_lines = ['import builtins', "
                  "'builtins.HOOKED = True']\\n")
os.environ["PYTHONSTARTUP"] = str(home / "startup.py")
os._exit(1)  # the runner starts a fresh kernel for the cells after this one
'''

HOOKED_OR_NOT = '''
import builtins, json
print("PROBE", json.dumps({"hooked": hasattr(builtins, "HOOKED")}))
'''


def the_next_kernel_ran_no_startup_file(graded: Graded) -> None:
    assert probes(graded)[-1] == {"hooked": False}


REWRITES_THE_TABLE = '''
import json

with open("expected.json", "w", encoding="utf-8") as table:
    json.dump({"3": 6}, table)
'''

# -- threads and processes ------------------------------------------------------------------

LYING_PROBE_THREAD = STOPITERATION_FROM_THE_CHANNEL + '''
import threading, time


def keep_it_installed():
    while True:
        channel.answer = answer
        time.sleep(0.001)


threading.Thread(target=keep_it_installed, daemon=True).start()
'''

REBINDING_THREAD = '''
import threading, time

ALMOST, REBOUND = {}, {}


def rebind_forever():
    """Whatever an answer cell defines, put the almost-right version back under its name."""
    namespace = get_ipython().user_ns
    while True:
        for name, almost in list(ALMOST.items()):
            if namespace.get(name) is not almost:
                namespace[name] = almost
            REBOUND.setdefault(name, threading.Event()).set()
        time.sleep(0.001)


threading.Thread(target=rebind_forever, daemon=True).start()
'''


def rebound_after_the_cell(answer: str, released: dict[str, Any]) -> str:
    """The answer cell with the right function, then its almost-right twin handed to the
    rebinding thread; the cell ends once the thread has put the twin under the name."""
    stub = text_of(next(c for c in released["cells"] if c["metadata"].get("nbgrader", {}).get(
        "grade_id") == answer)["source"])
    name = FUNCTION[answer]
    right = stub.replace("    # YOUR CODE HERE\n    raise NotImplementedError()",
                         right_bodies()[answer])
    almost = stub.replace("    # YOUR CODE HERE\n    raise NotImplementedError()",
                          ALMOST[answer]).replace(f"def {name}(", "def _almost(")
    return (f"{right}\n\n{almost}\n\nALMOST[{name!r}] = _almost\n"
            f"REBOUND.setdefault({name!r}, threading.Event()).wait(30)\n")


DAEMON = '''
import os, time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        while True:
            with open("/tmp/heartbeat", "w") as beat:
                beat.write(str(time.time()))
            time.sleep(0.05)
    os._exit(0)
time.sleep(0.2)
'''

DAEMON_ALIVE = '''
import json, os, time

before = os.path.getmtime("/tmp/heartbeat") if os.path.exists("/tmp/heartbeat") else None
time.sleep(0.5)
after = os.path.getmtime("/tmp/heartbeat") if os.path.exists("/tmp/heartbeat") else None
print("PROBE", json.dumps({"beating": before is not None and after != before}))
'''


def the_daemon_died_with_its_kernel(graded: Graded) -> None:
    assert probes(graded)[-1] == {"beating": False}


KILLS_ITS_KERNEL_FROM_A_CHILD = '''    import os, signal, time
    kernel = os.getpid()
    if os.fork() == 0:
        time.sleep(0.2)
        os.kill(kernel, signal.SIGKILL)
        os._exit(0)
    time.sleep(30)
'''


def assert_in(text: str, outputs: list[dict[str, Any]]) -> None:
    assert text in outputs_text(outputs), outputs


def errors_are(expected: Mapping[str, str]) -> Callable[[Graded], None]:
    """Each named test failed with (at least) that error."""

    def check(graded: Graded) -> None:
        assert {test: name for test, name in expected.items()
                if name in graded.errors_of(test)} == dict(expected)

    return check


ESCAPE = "    class Escape(BaseException):\n        pass\n    raise Escape('out')\n"


def right_unless_judged(prelude: str) -> dict[str, str]:
    return with_prelude(prelude, right_bodies())


CASES = [
    # -- results displayed, printed or written where a test's result would be
    Case("results-published-by-a-thread-during-the-judges-calls", before=PUBLISHING_THREAD,
         after="import time\ntime.sleep(0.2)", check=the_thread_published_all_along),
    Case("fake-results-and-ansi-codes-printed-when-called",
         bodies=with_prelude(PRINTS_RESULTS, ALMOST)),
    Case("errors-published-when-called-do-not-fail-right-answers", right=True,
         bodies=with_prelude(PUBLISHES_ERRORS, right_bodies())),
    Case("passing-notebooks-written-into-the-work-folder", before=WRITES_NOTEBOOKS,
         check=a_result_was_written_but_not_taken),
    Case("documented-a-forged-result-on-stdout-spoils-the-learners-own-run", right=True,
         before=FORGES_ON_STDOUT, scores=ZERO, flags=("sandbox-stopped",),
         check=the_sandbox_stopped),
    # -- IPython's machinery and built-ins patched in the kernel
    Case("input-and-ast-transformers-that-empty-test-cells", before=EMPTYING_TRANSFORMERS),
    Case("exec-compile-and-run-cell-replaced", before=REPLACED_EXECUTION),
    Case("display-and-exception-hooks-replaced", before=REPLACED_HOOKS),
    Case("execution-event-callbacks", before=EVENT_CALLBACKS),
    Case("atexit-signal-trace-and-profile-hooks", before=EXIT_SIGNAL_TRACE_HOOKS),
    Case("display-formatter-rewrites-the-kernels-answers", before=FORMATTER_LIES,
         scores=ZERO),
    Case("probe-module-replaced-in-the-kernel", before=PROBE_MODULE_REPLACED, scores=ZERO),
    # -- values that lie
    Case("objects-equal-to-everything", before=EQUAL_TO_EVERYTHING,
         bodies={answer: "    return Anything()" for answer in ANSWERS}, scores=ZERO),
    Case("subclasses-of-builtins-with-lying-methods", before=LYING_SUBCLASSES, bodies={
        "ps1-celsius-answer": "    return Float(0)", "ps1-initials-answer": '    return Str("")',
        "ps1-grade-answer": '    return Str("")',
        "adv-squares-answer": "    return numpy.zeros(n).view(Array)",
        "adv-even-answer": "    return Int(1)", "adv-mean-answer": "    return Float(0)",
        "adv-table-answer": "    return List()"}, scores=ZERO, check=refused_naming_the_types),
    Case("numpy-like-objects-and-object-arrays", before=NUMPY_LIKE + EQUAL_TO_EVERYTHING,
         bodies={"adv-squares-answer": "    return ArrayLike(n)",
                 "ps1-celsius-answer": "    return numpy.ma.masked",
                 "adv-table-answer": "    return numpy.array([Anything()], dtype=object)",
                 "adv-mean-answer": "    return numpy.float64(" + ALMOST["adv-mean-answer"]
                 .removeprefix("    return ") + ")"}),
    Case("repr-and-class-that-lie", before=LYING_REPR, bodies={
        "ps1-celsius-answer": '    return Liar("32")',
        "ps1-initials-answer": "    return Liar(\"'AL'\")",
        "ps1-grade-answer": "    return Liar(\"'A'\")",
        "adv-squares-answer": '    return Liar("array([0, 1, 4, 9])")',
        "adv-even-answer": '    return Liar("True")', "adv-mean-answer": '    return Liar("2")',
        "adv-table-answer": '    return Liar("6")'}, scores=ZERO),
    Case("reduce-getstate-and-friends-would-run-code", before=RUNS_CODE_WHEN_TOUCHED,
         bodies={answer: "    return Payload()" for answer in ANSWERS}, scores=ZERO,
         check=nothing_of_the_payload_ran),
    Case("self-containing-and-deeply-nested-values", bodies={
        "ps1-celsius-answer": "    loop = []\n    loop.append(loop)\n    return loop",
        "ps1-initials-answer": "    loop = {}\n    loop['me'] = loop\n    return loop",
        "ps1-grade-answer": ("    value = 'A'\n    for _ in range(100_000):\n"
                             "        value = [value]\n    return value"),
        "adv-squares-answer": ("    value = ()\n    for _ in range(65):\n"
                               "        value = (value,)\n    return value"),
        "adv-mean-answer": "    loop = {}\n    loop[1] = [loop]\n    return loop"},
        scores={"adv-mean-tests": 0.0}),
    Case("huge-values", bodies={
        "ps1-celsius-answer": "    return 10 ** 5000",
        "ps1-initials-answer": '    return "A" * (8 << 20)',
        "adv-squares-answer": "    import numpy\n    return numpy.zeros(2_100_000, numpy.int8)"},
        check=lambda graded: (
            errors_are({"ps1-celsius-tests": "CannotCheck", "adv-squares-tests": "CannotCheck"})(
                graded),
            assert_in("too large", graded.outputs_of("ps1-celsius-tests")),
            assert_in("too many items", graded.outputs_of("adv-squares-tests")))),
    # -- the comparisons the tests make, patched or replaced
    Case("math-numpy-operator-unittest-and-builtins-patched-in-the-kernel",
         before=PATCHED_IN_THE_KERNEL),
    Case("modules-of-the-read-only-cell-rebound-to-fakes",
         before_test={"adv-squares-tests": FAKE_MODULES},
         check=errors_are({"adv-squares-tests": "AssertionError"})),
    Case("read-only-cells-helper-redefined-by-the-learner", before_test={
        "adv-mean-tests": "def close(actual, expected):\n    return True\n"}),
    Case("learner-classes-named-like-the-modules",
         before_test={"adv-squares-tests": CLASSES_NAMED_LIKE_MODULES},
         check=errors_are({"adv-squares-tests": "AssertionError"})),
    Case("stopiteration-raised-to-end-a-tests-loop", bodies={
        "adv-even-answer": "    if n in (4, 7):\n        return n == 4\n    raise StopIteration"},
        check=errors_are({"adv-even-tests": "LearnerError"})),
    Case("stopiteration-answered-by-the-kernels-channel", before=STOPITERATION_FROM_THE_CHANNEL,
         check=errors_are({"adv-even-tests": "LearnerError"})),
    # -- reading the judge's frames, memory and files
    Case("caller-frames-searched-for-the-tests", before=needles_cell() + REPORT_FRAMES,
         bodies={answer: f"    report_frames({answer!r})\n" + ALMOST[answer]
                 for answer in ANSWERS}, check=nothing_found),
    Case("memory-searched-with-gc-and-referrers", before=needles_cell() + SEARCH_MEMORY,
         bodies={"ps1-initials-answer": "    search_memory('during a hidden test', full_name)\n"
                 + ALMOST["ps1-initials-answer"]},
         check=nothing_found),
    Case("runner-memory-file-descriptors-and-ptrace", before=needles_cell() + SPY_ON_THE_RUNNER,
         bodies={"ps1-celsius-answer": "    spy_on_the_runner()\n"
                 + ALMOST["ps1-celsius-answer"]}, check=the_runner_stayed_out_of_reach),
    # -- what the learner's code could copy into its feedback
    Case("documented-hidden-inputs-printed-into-the-feedback", right=True,
         bodies={answer: f"    print('called with', repr({ARGUMENT[answer]}))\n" + body
                 for answer, body in right_bodies().items()},
         check=hidden_inputs_reach_the_feedback),
    Case("files-searched-for-the-tests", right=True, before=needles_cell() + SEARCH_FILES
         + "\nsearch_files('before the tests')\n", after="search_files('after the tests')",
         bodies={"ps1-initials-answer": "    search_files('during a hidden test')\n"
                 + right_bodies()["ps1-initials-answer"]}, check=nothing_found),
    Case("environment-and-command-lines-read", right=True,
         before=needles_cell() + ENVIRONMENT_AND_COMMAND_LINES,
         check=lambda graded: (nothing_found(graded), no_secret_in_the_environment(graded))),
    Case("documented-numpy-message-quotes-a-hidden-expected-value",
         check=numpy_quotes_the_hidden_expected_array),
    # -- files in the work folder
    Case("submission-files-shadow-the-modules-the-tests-import", files=SHADOWING_FILES),
    Case("submission-files-shadow-the-runners-modules", files=RUNNER_MODULES_SHADOWED),
    Case("startup-and-config-files-for-the-next-kernel", before=STARTUP_FILES_THEN_EXIT,
         after=HOOKED_OR_NOT, flags=("kernel-restarted",),
         check=the_next_kernel_ran_no_startup_file),
    Case("documented-data-file-rewritten-before-its-test",
         before_test={"adv-table-tests": REWRITES_THE_TABLE}, scores={"adv-table-tests": 1.0}),
    # -- threads and processes
    Case("thread-keeps-a-lying-channel-installed", before=LYING_PROBE_THREAD,
         check=errors_are({"adv-even-tests": "LearnerError"})),
    Case("thread-rebinds-the-answers-after-their-cells", before=REBINDING_THREAD, sources={
        answer: (lambda released, answer=answer: rebound_after_the_cell(answer, released))
        for answer in ANSWERS}),
    Case("daemon-process-outlives-its-kernel", right=True, before=DAEMON, after=DAEMON_ALIVE,
         bodies={"adv-mean-answer": "    import os\n    os._exit(1)"},
         scores={"adv-mean-tests": 0.0}, flags=("kernel-restarted",),
         check=the_daemon_died_with_its_kernel),
    Case("forked-child-kills-the-kernel-during-a-call", right=True,
         bodies={"ps1-grade-answer": KILLS_ITS_KERNEL_FROM_A_CHILD},
         scores={"ps1-grade-tests": 0.0}, flags=("kernel-restarted",),
         check=errors_are({"ps1-grade-tests": "KernelRestarted"})),
    Case("sys-exit-and-os-exit-when-called", right=True, bodies={
        "ps1-celsius-answer": "    import sys\n    sys.exit(0)",
        "ps1-initials-answer": "    import os\n    os._exit(0)"},
        scores={"ps1-celsius-tests": 0.0, "ps1-initials-tests": 0.0}, flags=("kernel-restarted",),
        check=errors_are({"ps1-celsius-tests": "LearnerExit",
                          "ps1-initials-tests": "KernelRestarted"})),
    Case("base-exceptions-raised-when-called", right=True, bodies={
        "ps1-celsius-answer": "    raise KeyboardInterrupt",
        "ps1-initials-answer": "    raise GeneratorExit", "ps1-grade-answer": ESCAPE},
        scores={"ps1-celsius-tests": 0.0, "ps1-initials-tests": 0.0, "ps1-grade-tests": 0.0}),
    Case("infinite-loop-when-called-caught-by-the-tests-bare-except", right=True, bodies={
        "adv-mean-answer": ("    while len(values) == 1:\n        pass\n"
                            "    return sum(values) / len(values)")},
        scores={"adv-mean-tests": 0.0}, flags=("timeout",),
        check=errors_are({"adv-mean-tests": "CellTimeoutError"})),
    Case("memory-bomb-when-called", right=True, bodies={
        "adv-mean-answer": "    hog = []\n    while True:\n        hog.append(b'x' * (64 << 20))"},
        scores={"adv-mean-tests": 0.0}, flags=("kernel-restarted",)),
    Case("alarm-signal-and-priority-aimed-at-the-runner", right=True, bodies={
        "ps1-celsius-answer": "    import os, signal\n    os.kill(os.getppid(), signal.SIGALRM)\n"
                              + right_bodies()["ps1-celsius-answer"],
        "ps1-initials-answer": "    import os\n"
        "    os.setpriority(os.PRIO_PROCESS, os.getppid(), 19)\n"
        + right_bodies()["ps1-initials-answer"]},
        scores={"ps1-celsius-tests": 0.0},
        check=errors_are({"ps1-celsius-tests": "CellTimeoutError"})),
    Case("documented-the-runner-killed-from-the-kernel", right=True, bodies={
        "ps1-celsius-answer": "    import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)"},
        scores=ZERO, flags=("sandbox-stopped",), check=the_sandbox_stopped),
    # -- functions that know who calls them
    Case("wrong-only-when-the-judge-calls", right=True, before=UNDER_JUDGE,
         bodies=right_unless_judged("    if under_judge():\n        return None\n"),
         after="print(initials('  guido   van rossum '), letter_grade(100), is_even(-6))",
         scores=ZERO, check=lambda graded: assert_in(
             "GVR A True", graded.outputs(len(graded.autograded()["cells"]) - 1))),
    Case("documented-right-only-when-the-judge-calls", before=UNDER_JUDGE,
         bodies={answer: "    if under_judge():\n"
                 + "\n".join("    " + line for line in body.splitlines()) + "\n" + ALMOST[answer]
                 for answer, body in right_bodies().items()},
         scores=RIGHT_SCORES),
    # -- after every test: anything left behind
    Case("everything-searched-after-the-tests", right=True,
         before=needles_cell() + SEARCH_MEMORY + SEARCH_FILES,
         after="search_memory('after the tests')\nsearch_files('after the tests')",
         check=nothing_found),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_hostile_submission_scores_exactly_what_its_answers_deserve(grade, released, case):
    graded = grade(case.submission(released))
    expected = case.expected()
    assert graded.result.status == "graded", graded.result.message
    assert graded.points == expected
    assert graded.result.score == sum(expected.values())
    assert set(case.flags) <= set(graded.result.flags), graded.result.message
    assert graded.autograded()["metadata"]["pls_grading"]["grading"] == "judge"
    # The hidden tests never reached the learner's process: nothing it printed, and nothing the
    # judge wrote, holds their lines or the marker; nor does the feedback.
    cells = graded.autograded()["cells"]
    outputs = outputs_text([output for cell in cells for output in cell.get("outputs", [])])
    feedback = graded.feedback()
    assert [needle for needle in needles() if needle in outputs] == []
    assert [needle for needle in needles() if needle in feedback] == []
    if case.check is not None:
        case.check(graded)


def test_the_suite_covers_at_least_forty_distinct_submissions():
    assert len({case.id for case in CASES}) == len(CASES) >= 40
