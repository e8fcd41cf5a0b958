"""The judge (pls_grading.judge) in the grading runner, against a real ipykernel on this machine:
test cells are evaluated outside the learner's kernel, from plain data, and score exactly what
the answers deserve. (The same runner in the sandbox, with hostile submissions:
tests/integration/grading/test_adversarial.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def answer(source: str) -> dict:
    return {"cell_type": "code", "source": source, "outputs": [], "execution_count": None,
            "metadata": {"nbgrader": {"grade": False, "solution": True, "grade_id": "answer",
                                      "locked": False, "schema_version": 3}}}


def graded(source: str, grade_id: str, points: float = 1) -> dict:
    return {"cell_type": "code", "source": source, "outputs": [], "execution_count": None,
            "metadata": {"nbgrader": {"grade": True, "solution": False, "grade_id": grade_id,
                                      "points": points, "locked": True, "schema_version": 3}}}


def read_only(source: str, grade_id: str = "setup") -> dict:
    """A cell the instructor locked (nbgrader's read-only cell)."""
    return {"cell_type": "code", "source": source, "outputs": [], "execution_count": None,
            "metadata": {"nbgrader": {"grade": False, "solution": False, "grade_id": grade_id,
                                      "locked": True, "schema_version": 3}}}


def run(tmp_path: Path, *cells: dict, grading: str = "judge", cell_timeout: int = 5) -> dict:
    """The runner's executed notebook; its outputs by grade_id, and the run's record."""
    request = {"notebook": {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                            "cells": list(cells)}, "grading": grading}
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "pls_grading.execute", "--workdir", str(work),
         "--cell-timeout", str(cell_timeout)],
        input=json.dumps(request).encode(), capture_output=True, timeout=120, check=False,
        cwd=tmp_path, env={"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path),
                           "PYTHONPATH": str(ROOT / "grading" / "image")},
    )
    assert done.returncode == 0, done.stderr.decode()
    executed = json.loads(done.stdout.splitlines()[0])
    outputs = {cell["metadata"]["nbgrader"]["grade_id"]: cell["outputs"]
               for cell in executed["cells"] if cell["metadata"].get("nbgrader", {}).get("grade")}
    return {"outputs": outputs, "record": executed["metadata"]["pls_grading"],
            "cells": executed["cells"]}


def failed(outputs: list[dict]) -> bool:
    """nbgrader's rule: an error, or output on stderr, gives no points."""
    return any(o["output_type"] == "error" or (o["output_type"] == "stream"
               and o["name"] == "stderr") for o in outputs)


def error_of(outputs: list[dict]) -> dict:
    return next(o for o in outputs if o["output_type"] == "error")


def test_correct_answers_pass_and_wrong_ones_fail_from_data(tmp_path):
    result = run(
        tmp_path,
        answer("def add(a, b):\n    return a + b\ntotal = add(2, 3)\nwords = ['b', 'a']"),
        graded("assert add(1, 2) == 3\nassert total == 5", "right"),
        graded("assert add(1, 2) == 4", "wrong"),
        graded("assert sorted(words) == ['a', 'b']\nassert isinstance(total, int)", "builtins"),
    )
    outputs = result["outputs"]
    assert not failed(outputs["right"]) and not failed(outputs["builtins"])
    assert error_of(outputs["wrong"])["ename"] == "AssertionError"
    assert result["record"]["grading"] == "judge"
    assert result["record"]["judged"] == [1, 2, 3]


def test_no_test_cell_ever_reaches_the_kernel(tmp_path):
    result = run(
        tmp_path,
        answer("import IPython\nseen = []\nIPython.get_ipython().events.register("
               "'pre_run_cell', lambda info: seen.append(info.raw_cell))"),
        graded("assert True\n### BEGIN HIDDEN TESTS\nSECRET = 41\n### END HIDDEN TESTS", "t"),
        answer("marker = 'SECRET' + ' = 41'\nprint(any(marker in cell for cell in seen))"),
    )
    printed = result["cells"][2]["outputs"][0]["text"]
    assert printed.startswith("False")


def test_a_learner_value_that_is_not_data_fails_the_test_naming_its_type(tmp_path):
    result = run(
        tmp_path,
        answer("class Anything:\n    def __eq__(self, other):\n        return True\n"
               "def solve():\n    return Anything()\nanswer_value = Anything()"),
        graded("assert solve() == 42", "call"),
        graded("assert answer_value == 42", "name"),
    )
    for grade_id in ("call", "name"):
        error = error_of(result["outputs"][grade_id])
        assert error["ename"] == "CannotCheck"
        assert "type Anything" in error["evalue"]


def test_redefined_builtins_do_not_change_the_tests(tmp_path):
    result = run(
        tmp_path,
        answer("len = lambda x: 3\nabs = lambda x: 0\nsorted = lambda x: [1, 2, 3]\n"
               "def f():\n    return [3, 1]"),
        graded("assert len(f()) == 3", "len"),
        graded("assert sorted(f()) == [1, 2, 3]", "sorted"),
    )
    assert failed(result["outputs"]["len"]) and failed(result["outputs"]["sorted"])


def test_learner_exceptions_are_the_same_builtin_types_and_their_traceback_is_shown(tmp_path):
    result = run(
        tmp_path,
        answer("def divide(a, b):\n    return a / b\nclass Oops(Exception):\n    pass\n"
               "def fail():\n    raise Oops('custom')"),
        graded("try:\n    divide(1, 0)\nexcept ZeroDivisionError:\n    pass\nelse:\n"
             "    raise AssertionError('no error')", "expected"),
        graded("divide(1, 0)", "unexpected"),
        graded("fail()", "custom"),
    )
    assert not failed(result["outputs"]["expected"])
    error = error_of(result["outputs"]["unexpected"])
    assert error["ename"] == "ZeroDivisionError"
    assert "divide" in "".join(error["traceback"])  # the learner's own frames
    assert error_of(result["outputs"]["custom"])["ename"] == "LearnerError"


def test_what_a_learner_function_prints_is_shown_and_stderr_fails_as_in_nbgrader(tmp_path):
    result = run(
        tmp_path,
        answer("import sys\ndef chatty():\n    print('hello')\n    return 1\n"
               "def warns():\n    print('careful', file=sys.stderr)\n    return 1"),
        graded("assert chatty() == 1", "stdout"),
        graded("assert warns() == 1", "stderr"),
    )
    assert result["outputs"]["stdout"] == [
        {"output_type": "stream", "name": "stdout", "text": "hello\n"}]
    assert failed(result["outputs"]["stderr"])


def test_changes_a_learner_function_makes_to_an_argument_are_seen(tmp_path):
    result = run(
        tmp_path,
        answer("def append_one(items):\n    items.append(1)\ndef fill(d):\n    d['k'] = 2"),
        graded("x = [0]\nappend_one(x)\nassert x == [0, 1]\nd = {}\nfill(d)\nassert d == "
             "{'k': 2}", "mutation"),
    )
    assert not failed(result["outputs"]["mutation"])


def test_learner_state_is_read_when_the_test_reads_it(tmp_path):
    result = run(
        tmp_path,
        answer("count = 0\ndef bump():\n    global count\n    count += 1"),
        graded("bump()\nbump()\nassert count == 2", "state"),
    )
    assert not failed(result["outputs"]["state"])


def test_modules_are_the_judges_own_and_numpy_arrays_cross(tmp_path):
    result = run(
        tmp_path,
        answer("import numpy as np\nimport math\nmath.isclose = lambda *a, **k: True\n"
               "np.allclose = lambda *a, **k: True\ndef squares(n):\n"
               "    return np.arange(n) ** 2"),
        graded("assert np.allclose(squares(3), [0, 1, 5])", "numpy_patched"),
        graded("assert math.isclose(squares(3)[2], 5)", "math_patched"),
        graded("np.testing.assert_array_equal(squares(3), np.array([0, 1, 4]))", "numpy_right"),
    )
    assert failed(result["outputs"]["numpy_patched"])
    assert failed(result["outputs"]["math_patched"])
    assert not failed(result["outputs"]["numpy_right"])


def test_a_learner_file_cannot_shadow_a_module_the_test_imports(tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "statistics.py").write_text("def mean(values):\n    return 3\n")
    result = run(
        tmp_path,
        answer("def values():\n    return [1, 2]"),
        graded("import statistics\nassert statistics.mean(values()) == 3", "shadow"),
    )
    assert failed(result["outputs"]["shadow"])  # the real mean is 1.5


def test_a_learner_function_that_loops_or_exits_fails_its_test_and_grading_goes_on(tmp_path):
    # A kernel restarted after a hung or killed call has lost the learner's earlier names, as
    # in nbgrader: each function is defined again just before its test.
    result = run(
        tmp_path,
        answer("def loops():\n    while True:\n        pass"),
        graded("try:\n    loops()\nexcept BaseException:\n    pass", "loops"),
        answer("import sys\ndef quits():\n    sys.exit(0)"),
        graded("try:\n    quits()\nexcept BaseException:\n    pass", "exits"),
        answer("import time\ndef stubborn():\n    while True:\n        try:\n"
               "            time.sleep(1)\n        except BaseException:\n            pass"),
        graded("stubborn()", "stubborn"),
        answer("import os\ndef dies():\n    os._exit(1)"),
        graded("dies()", "dies"),
        answer("def ok():\n    return 1"),
        graded("assert ok() == 1", "after"),
        cell_timeout=2,
    )
    outputs = result["outputs"]
    assert error_of(outputs["loops"])["ename"] == "CellTimeoutError"  # even though caught
    assert error_of(outputs["exits"])["ename"] == "LearnerExit"
    assert error_of(outputs["stubborn"])["ename"] == "CellTimeoutError"
    assert any(o.get("ename") == "KernelRestarted" for o in outputs["stubborn"])
    assert any(o.get("ename") == "KernelRestarted" for o in outputs["dies"])
    assert not failed(outputs["after"])
    assert result["record"]["run"]["kernel_restarts"] == 2


def test_partial_credit_is_the_tests_last_value(tmp_path):
    result = run(
        tmp_path,
        answer("def f(x):\n    return x * 2"),
        graded("checks = [f(1) == 2, f(2) == 5]\nsum(checks) / len(checks)", "partial", 2),
    )
    assert result["outputs"]["partial"] == [{
        "output_type": "execute_result", "execution_count": 2, "metadata": {},
        "data": {"text/plain": "0.5"}}]


def test_hidden_tests_lines_never_appear_in_a_failures_traceback(tmp_path):
    result = run(
        tmp_path,
        answer("def f(x):\n    return 0"),
        graded("assert f(0) == 0\n### BEGIN HIDDEN TESTS\nassert f(7) == 49, 'seven squared'\n"
             "### END HIDDEN TESTS", "hidden"),
    )
    error = error_of(result["outputs"]["hidden"])
    assert "f(7)" not in "".join(error["traceback"])
    assert "(a hidden test)" in "".join(error["traceback"])


def test_in_kernel_grading_still_runs_the_tests_beside_the_learners_code(tmp_path):
    result = run(
        tmp_path,
        answer("def add(a, b):\n    return a + b"),
        graded("assert add(1, 2) == 3", "t"),
        grading="in-kernel",
    )
    assert not failed(result["outputs"]["t"])
    assert result["record"]["grading"] == "in-kernel" and result["record"]["judged"] == []


def test_a_learner_stopiteration_does_not_end_a_tests_loop_early(tmp_path):
    # Raised as itself, StopIteration inside map() would end all(map(...)) early, and true.
    result = run(
        tmp_path,
        answer("def is_even(n):\n    if n in (4, 7):\n        return n == 4\n"
               "    raise StopIteration"),
        graded("assert is_even(4) and not is_even(7)\n"
               "assert all(map(lambda n: is_even(n) == (n % 2 == 0), range(-6, 7)))", "map"),
        graded("try:\n    is_even(1)\nexcept StopIteration:\n    pass", "caught"),
    )
    for grade_id in ("map", "caught"):
        error = error_of(result["outputs"][grade_id])
        assert (error["ename"], error["evalue"]) == ("LearnerError", "StopIteration: ")


def test_a_test_stopped_by_a_learner_call_earns_no_partial_credit_whatever_it_caught(tmp_path):
    # nbgrader takes a result before an error for partial credit: a stopped cell shows none.
    result = run(
        tmp_path,
        answer("def mean(values):\n    while len(values) == 1:\n        pass\n"
               "    return sum(values) / len(values)"),
        graded("right = 0\nfor values, expected in [([1, 3], 2), ([5], 5), ([2, 4], 3)]:\n"
               "    try:\n        right += mean(values) == expected\n    except:\n        pass\n"
               "right / 3", "partial", 1),
        cell_timeout=2,
    )
    outputs = result["outputs"]["partial"]
    assert [o["output_type"] for o in outputs] == ["error"]
    assert error_of(outputs)["ename"] == "CellTimeoutError"


def test_what_the_instructors_cells_define_is_the_tests_own(tmp_path):
    # The learner binds the names a read-only cell and a test cell define (modules, helpers) to
    # its own, which pass anything; the tests keep the instructor's.
    setup = ("%matplotlib inline\nimport math\nimport numpy as np\n\n\n"
             "def close(a, b):\n    return math.isclose(a, b)\n\n\n"
             "def squares_right(x):\n    return square(x) == x * x\n\n\nprint('set up')\n")
    fakes = ("import sys, types\nnp = types.ModuleType('learners_numpy')\n"
             "np.allclose = lambda *args, **kwargs: True\nsys.modules[np.__name__] = np\n"
             "class math:\n    isclose = staticmethod(lambda *args, **kwargs: True)\n"
             "close = squares_right = lambda *args: True\n"
             "def square(x):\n    return -1")
    defines = ("from statistics import fmean\n### BEGIN HIDDEN TESTS\n"
               "def check(value):\n    assert value == 9\n### END HIDDEN TESTS\ncheck(9)")
    result = run(
        tmp_path,
        read_only(setup),
        answer(fakes),
        graded("assert np.allclose([square(3)], [9])", "numpy"),
        graded("assert math.isclose(square(3), 9)", "math"),
        graded("assert close(square(3), 9)", "helper"),
        graded("assert squares_right(3)", "helper-calls-the-learner"),
        graded(defines, "defines"),
        answer("def check(value):\n    pass\nfmean = lambda values: 9"),
        graded("check(square(3))", "an-earlier-tests-helper"),
        graded("assert fmean([square(3), 9]) == 9", "an-earlier-tests-import"),
        answer("def square(x):\n    return x * x"),
        graded("assert np.allclose([square(3)], [9]) and math.isclose(square(3), 9)\n"
               "assert close(square(3), 9) and squares_right(3)\ncheck(square(3))", "right"),
    )
    outputs = result["outputs"]
    for grade_id in ("numpy", "math", "helper", "helper-calls-the-learner",
                     "an-earlier-tests-helper", "an-earlier-tests-import"):
        assert error_of(outputs[grade_id])["ename"] == "AssertionError", grade_id
    assert not failed(outputs["defines"]) and not failed(outputs["right"])
    assert "set up" not in json.dumps(outputs)  # the read-only cell's prints: the kernel's


def test_the_instructors_definitions_outlive_a_kernel_restart(tmp_path):
    result = run(
        tmp_path,
        read_only("import math"),
        answer("import os\ndef dies():\n    os._exit(1)"),
        graded("dies()", "dies"),
        answer("def root(x):\n    return x ** 0.5"),
        graded("assert math.isclose(root(2), 2 ** 0.5)", "after"),
    )
    assert any(o.get("ename") == "KernelRestarted" for o in result["outputs"]["dies"])
    assert not failed(result["outputs"]["after"])
