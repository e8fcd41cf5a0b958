"""The judge: nbgrader's test cells evaluated outside the learner's process.

In the judge's grading (``course.yml``: ``grading: judge``, the default) the runner
(:mod:`pls_grading.execute`) sends the learner's cells to the kernel as before, but never a test
cell. It evaluates each test cell itself, in this module, with the test's own code: the
learner's code never runs in this process, never sees a test's source, and cannot change how a
test runs, what it compares or what it reports. What a test reads of the learner's work comes
through one narrow channel, the kernel's answers to two questions (:mod:`pls_grading.probe`):
what does this name hold, and what does this function return for these arguments. Every answer
is plain data (:mod:`pls_grading.wire`), decoded into new objects of exact built-in types, and
the test compares and asserts here, with this process's own built-ins and modules.

How a test cell reads here, compared with nbgrader running it in the kernel:

- a learner name (``add``, ``result``) is looked up in the kernel each time the test reads it,
  so a test sees the effect of the calls it makes; names the test assigns are the test's own;
- built-in names (``len``, ``sorted``, ``abs``, ``isinstance``...) are always this process's,
  even if the learner's code redefined them;
- names the instructor's cells before this test define with ``import``, ``def`` or ``class``
  (``import numpy as np`` or a helper function in a read-only cell, a helper in an earlier test
  cell) are this process's own, whatever the learner's code bound to those names later: the
  judge runs those statements of a read-only cell itself (:meth:`Judge.define`), and keeps what
  a test cell defines for the tests after it; its modules are never the learner's folder's;
- a module the learner's namespace holds (``np`` after ``import numpy as np`` in an answer cell)
  is this process's own copy of that module when it can import it, else a proxy for its names
  (the learner's own module: its functions are the learner's);
- calling a learner function sends the arguments as plain data and returns its result as plain
  data; a list or dict the function changed in place is changed here too; what it printed
  appears in the test's output (stderr fails the test, as in nbgrader);
- an exception the learner's function raised is raised here as the same built-in exception type
  (``except ValueError`` in a test works), or as :class:`LearnerError` for the learner's own
  exception classes and for ``StopIteration`` (which would silently end a loop of the test's,
  ``all(map(...))`` for one); its traceback is shown in the feedback;
- a value that cannot cross (an instance of a learner's class, a generator, an open file...) fails
  the test with a sentence naming its type (docs/grading.md says how to write such tests, or to
  choose ``grading: in-kernel``);
- a learner function that runs out of time, exits or kills its kernel fails the test, and no
  test code can undo that: :class:`JudgeStop` is not an ``Exception``, and a test that catches
  it anyway (a bare ``except:``) still fails, as in nbgrader a cell that ran out of time fails
  whatever it caught.

The score is decided from what this module reports, as nbgrader decides it from a test cell's
outputs: an error output (or output on stderr) gives no points, a number as the cell's last
value gives partial credit, anything else the cell's points.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import importlib.util
import io
import math
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from pls_grading import wire

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
HIDDEN_LINE = "    (a hidden test)"
# Exceptions that end the loop they are raised in (a learner function called inside ``map()``
# that raised StopIteration would end ``all(map(...))`` early, and true): never raised as
# themselves in a test.
ENDS_A_LOOP = {"StopIteration", "StopAsyncIteration"}
# Exceptions a learner's function may raise that a test may catch as themselves.
CATCHABLE = {
    name: value for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, Exception) and name not in ENDS_A_LOOP
}

Ask = Callable[[dict[str, Any], float], dict[str, Any]]
"""The runner's channel to the kernel: ``ask(question, seconds)`` -> the probe's answer;
raises :class:`JudgeStop` when the kernel does not answer in time or dies."""


class JudgeStop(BaseException):
    """The test cannot go on: the learner's code ran out of time, exited, or its kernel is
    gone or gave no usable answer. A ``BaseException``, so ``except Exception`` in a test does
    not swallow it."""

    def __init__(self, ename: str, message: str, restart: bool = False) -> None:
        super().__init__(message)
        self.ename = ename
        self.message = message
        self.restart = restart


class LearnerError(Exception):
    """An exception of the learner's own class, raised by a learner function a test called."""


class CannotCheck(Exception):
    """A learner value the judge cannot take (its type is named)."""


DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def defined_names(tree: ast.Module) -> list[str]:
    """The names a cell's top-level ``import``, ``def`` and ``class`` statements bind."""
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [alias.asname or alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names += [alias.asname or alias.name for alias in node.names if alias.name != "*"]
        elif isinstance(node, DEFINITIONS):
            names.append(node.name)
    return names


def hidden_lines(source: str) -> set[int]:
    """The 1-based line numbers of ``source`` between nbgrader's hidden-test markers."""
    hidden: set[int] = set()
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        marker = line.strip()
        if marker.startswith(HIDDEN_BEGIN):
            inside = True
        if inside:
            hidden.add(number)
        if marker.startswith(HIDDEN_END):
            inside = False
    return hidden


class Outputs:
    """The test cell's outputs as nbformat has them, in the order they happened."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def stream(self, name: str, text: str) -> None:
        if not text:
            return
        last = self.items[-1] if self.items else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.items.append({"output_type": "stream", "name": name, "text": text})

    def error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        self.items.append({"output_type": "error", "ename": ename, "evalue": evalue,
                           "traceback": traceback})

    def result(self, value: Any, count: int) -> None:
        self.items.append({"output_type": "execute_result", "execution_count": count,
                           "metadata": {}, "data": {"text/plain": _repr(value)}})


class _Printed(io.TextIOBase):
    """The test's own ``print``: its text goes to the outputs as it comes."""

    def __init__(self, outputs: Outputs, name: str) -> None:
        self.outputs = outputs
        self.name = name

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.outputs.stream(self.name, str(text))
        return len(text)


def _repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # a test's own value: should not happen
        return object.__repr__(value)


class Remote:
    """A learner function, class or module the judge may only call or read names of."""

    __slots__ = ("_judge", "_label", "_target")

    def __init__(self, judge: Judge, target: dict[str, Any], label: str) -> None:
        object.__setattr__(self, "_judge", judge)
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_label", label)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._judge.call(self, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__") and name not in (
                "__name__", "__doc__", "__qualname__", "__module__"):
            raise AttributeError(name)
        target = {**self._target, "attrs": [*self._target.get("attrs", []), name]}
        return self._judge.lookup(target, f"{self._label}.{name}", attribute=True)

    def __setattr__(self, name: str, value: Any) -> None:
        raise CannotCheck(f"a test cannot change {self._label}.{name} in the learner's code")

    def __repr__(self) -> str:
        return f"<the learner's {self._label}>"


class LearnerNames(dict):
    """The test cell's global namespace: the test's own names, this process's built-ins, and
    for any other name, the learner's, looked up when read (``__missing__``; not while
    ``learners`` is False)."""

    def __init__(self, judge: Judge) -> None:
        super().__init__(__builtins__=builtins, __name__="__main__")
        self.judge = judge
        self.learners = True

    def __missing__(self, name: str) -> Any:
        if name.startswith("__") or hasattr(builtins, name) or not self.learners:
            raise KeyError(name)
        try:
            return self.judge.lookup({"name": name}, name)
        except NameError:
            raise KeyError(name) from None


class Judge:
    """Evaluates a notebook's test cells against its kernel's answers, in order. What the
    instructor's cells define (``import``, ``def``, ``class``) is kept in ``definitions``, the
    names every later test starts from."""

    def __init__(self, ask: Ask, import_module: Callable[[str], Any] | None = None) -> None:
        self.ask = ask
        self.import_module = import_module or own_module
        self.definitions = LearnerNames(self)
        self.outputs = Outputs()
        self.deadline = math.inf
        self.waiting_for_kernel = False
        self.alarm_rang = False
        self.stopped: JudgeStop | None = None

    # -- the channel ---------------------------------------------------------------------

    def stop(self, stop: JudgeStop) -> JudgeStop:
        """Remember ``stop`` for the cell: a test that catches it (a bare ``except:``) still
        fails, as a cell that ran out of time fails in nbgrader whatever it caught."""
        if self.stopped is None or stop.restart:
            self.stopped = stop
        return stop

    def seconds_left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.stop(JudgeStop("CellTimeoutError", "the test ran longer than its time "
                                      "limit"))
        return left

    def asking(self, question: dict[str, Any]) -> dict[str, Any]:
        """The kernel's answer to ``question``, within the test's time left. The test's own
        alarm (:func:`_time_limit`) waits meanwhile: the channel ends a slow answer itself, by
        interrupting the kernel, so the kernel is never left running a call nobody waits for."""
        seconds = self.seconds_left()
        self.waiting_for_kernel = True
        try:
            answer = self.ask(question, seconds)
        except JudgeStop as stop:
            raise self.stop(stop) from None
        finally:
            self.waiting_for_kernel = False
        if self.alarm_rang:  # while the kernel answered: the test's time is up now
            raise self.stop(JudgeStop("CellTimeoutError", "the test ran longer than its time "
                                      "limit"))
        if not isinstance(answer, dict):
            raise JudgeStop("JudgeError", "the learner's kernel gave no usable answer")
        return answer

    def decoder(self) -> wire.Decoder:
        def remote_handle(key: str) -> Remote:
            return Remote(self, {"handle": key}, "function")

        def module(ref: wire.ModuleRef) -> Any:
            found = self.import_module(ref.name)
            return found if found is not None else Remote(
                self, {"module": ref.name}, f"module {ref.name}")

        return wire.Decoder(handle=remote_handle, module=module)

    def decode(self, data: Any, label: str) -> Any:
        try:
            return self.decoder().decode(data)
        except wire.WireError as exc:
            raise CannotCheck(f"{label}: {exc}") from None

    def lookup(self, target: dict[str, Any], label: str, attribute: bool = False) -> Any:
        answer = self.asking({"op": "lookup", "target": target})
        if answer.get("absent"):
            if attribute:
                raise AttributeError(f"the learner's {label} does not exist")
            raise NameError(f"name {label!r} is not defined")
        return self.value_of(answer, label)

    def value_of(self, answer: dict[str, Any], label: str) -> Any:
        if "unsupported" in answer:
            raise CannotCheck(
                f"{label} is a value of type {answer['unsupported']}, which the judge cannot "
                "check: only plain data (numbers, text, lists, dicts, sets, tuples, numpy "
                "arrays, pandas data) and functions cross from the learner's code")
        if "unusable" in answer:
            raise CannotCheck(f"{label}: {answer['unusable']}")
        if "value" not in answer:
            raise JudgeStop("JudgeError", "the learner's kernel gave no usable answer")
        value = self.decode(answer["value"], label)
        if isinstance(value, Remote) and value._label == "function":
            object.__setattr__(value, "_label", label)
        return value

    def call(self, function: Remote, args: tuple, kwargs: dict[str, Any]) -> Any:
        label = f"{function._label}()"
        try:
            encoded_args = wire.encode(list(args), handle=_handle_of)
            encoded_kwargs = wire.encode(dict(kwargs), handle=_handle_of)
        except wire.WireError as exc:
            raise CannotCheck(
                f"the test passes {label} something that is not plain data ({exc}); "
                "see docs/grading.md, 'Writing tests for the judge'") from None
        answer = self.asking({"op": "call", "target": function._target, "args": encoded_args,
                              "kwargs": encoded_kwargs})
        if answer.get("absent"):
            raise NameError(f"the learner's {function._label} no longer exists")
        self.outputs.stream("stdout", _text(answer.get("stdout")))
        self.outputs.stream("stderr", _text(answer.get("stderr")))
        self.update_in_place(args, answer.get("args"))
        self.update_in_place(tuple(kwargs.values()), answer.get("kwargs"))
        error = answer.get("error")
        if isinstance(error, dict):
            raise self.learner_exception(error, label)
        return self.value_of(answer, f"what {label} returned")

    def update_in_place(self, sent: tuple, after: Any) -> None:
        """Arguments the learner's function changed (a list it appended to) change here too,
        as they would in one process. Only containers the test passed are updated."""
        if after is None:
            return
        try:
            values = self.decoder().decode(after)
        except wire.WireError:
            return
        if type(values) is dict:
            values = tuple(values.values())
        if len(values) != len(sent):
            return
        for before, now in zip(sent, values, strict=True):
            if type(before) is list and type(now) is list:
                before[:] = now
            elif type(before) in (dict, set) and type(now) is type(before):
                before.clear()
                before.update(now)
            elif type(before).__module__ == "numpy" and hasattr(before, "shape"):
                with contextlib.suppress(Exception):
                    if getattr(now, "shape", None) == before.shape:
                        before[...] = now

    def learner_exception(self, error: dict[str, Any], label: str) -> BaseException:
        ename = _text(error.get("ename"))[:100] or "Exception"
        evalue = _text(error.get("evalue"))[:4000]
        lines = error.get("traceback")
        shown = "".join(line for line in lines if isinstance(line, str)) if isinstance(
            lines, list) else ""
        self.learner_traceback = shown[-20000:]
        if ename == "KeyboardInterrupt":
            return self.stop(JudgeStop(
                "CellTimeoutError", f"{label} ran longer than the test's time limit and was "
                "stopped"))
        if ename == "SystemExit":
            return self.stop(JudgeStop("LearnerExit", f"{label} tried to exit: {evalue}"))
        kind = CATCHABLE.get(ename)
        if kind is not None:
            try:
                return kind(evalue)
            except Exception:  # an exception type that wants other arguments
                return LearnerError(f"{ename}: {evalue}")
        return LearnerError(f"{ename}: {evalue}")

    # -- a test cell ---------------------------------------------------------------------

    def evaluate(self, source: str, count: int, timeout: float) -> list[dict[str, Any]]:
        """Run one test cell's code; its outputs as nbformat has them."""
        self.outputs = Outputs()
        self.learner_traceback = ""
        self.deadline = time.monotonic() + timeout
        filename = f"<test cell {count}>"
        hidden = hidden_lines(source)
        try:
            tree = ast.parse(source, filename=filename)
        except SyntaxError as exc:
            self.outputs.error("SyntaxError", str(exc.msg), [f"SyntaxError: {exc.msg}"])
            return self.outputs.items
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        namespace = LearnerNames(self)
        namespace.update((name, value) for name, value in self.definitions.items()
                         if not name.startswith("__"))
        printed_out, printed_err = _Printed(self.outputs, "stdout"), _Printed(self.outputs,
                                                                               "stderr")
        self.alarm_rang = False
        self.stopped = None
        try:
            with _time_limit(timeout, self), contextlib.redirect_stdout(printed_out), \
                    contextlib.redirect_stderr(printed_err):
                exec(compile(tree, filename, "exec"), namespace)  # noqa: S102 - the test's code
                if last is not None:
                    value = eval(  # noqa: S307 - the test's code
                        compile(ast.Expression(last.value), filename, "eval"), namespace)
                    if value is not None:
                        self.outputs.result(value, count)
        except JudgeStop as stop:
            self.stop(stop)
        except Exception as exc:  # the test failed: an assertion, or the learner's exception
            if self.stopped is None:
                self.outputs.error(type(exc).__name__, str(exc),
                                   self.traceback_lines(exc, source, filename, hidden))
        finally:  # the tests after this one start from what it defined
            for name in defined_names(tree):
                if dict.__contains__(namespace, name):
                    self.definitions[name] = dict.__getitem__(namespace, name)
        if self.stopped is not None:
            stop = self.stopped
            # The cell fails, whatever it went on to compute: nbgrader would take a result
            # before the error for partial credit.
            self.outputs.items = [output for output in self.outputs.items
                                  if output["output_type"] != "execute_result"]
            self.outputs.error(stop.ename, stop.message, [f"{stop.ename}: {stop.message}"])
            if stop.restart:
                raise stop
        return self.outputs.items

    def define(self, source: str, timeout: float) -> None:
        """Run the ``import``, ``def`` and ``class`` statements of an instructor's read-only cell
        here, into the names every later test starts from, on the cell's own time (the kernel
        runs the whole cell as usual). Its other statements are the kernel's alone. A
        definition that cannot be made here is left out, and its name stays the learner's: a
        module the judge cannot import (the assignment's own file: never from the learner's
        folder), or one that needs a learner name at once (a default value, a decorator)."""
        lines = ["" if line.lstrip().startswith(("%", "!")) else line  # IPython's own syntax
                 for line in source.splitlines()]
        try:
            tree = ast.parse("\n".join(lines), filename="<a read-only cell>")
        except SyntaxError:
            return
        self.deadline = time.monotonic() + timeout
        self.alarm_rang = False
        self.stopped = None
        self.definitions.learners = False
        quiet = io.StringIO()
        try:
            with _time_limit(timeout, self), contextlib.redirect_stdout(quiet), \
                    contextlib.redirect_stderr(quiet):
                for node in tree.body:
                    if not isinstance(node, DEFINITIONS):
                        continue
                    with contextlib.suppress(Exception):
                        exec(compile(ast.Module([node], []), "<a read-only cell>", "exec"),  # noqa: S102
                             self.definitions)
        except JudgeStop:  # out of time: what was defined so far stays
            pass
        finally:
            self.definitions.learners = True

    def traceback_lines(self, exc: BaseException, source: str, filename: str,
                        hidden: set[int]) -> list[str]:
        """IPython's shape: where in the test cell it failed (hidden tests' lines are never
        shown), the learner's traceback when their function raised, then the exception."""
        lines = source.splitlines()
        shown: list[str] = []
        frame = exc.__traceback__
        while frame is not None:
            if frame.tb_frame.f_code.co_filename == filename:
                number = frame.tb_lineno
                text = HIDDEN_LINE if number in hidden else (
                    "    " + lines[number - 1].strip() if 0 < number <= len(lines) else "")
                shown.append(f"Cell In[{filename}], line {number}\n{text}\n")
            frame = frame.tb_next
        if self.learner_traceback:
            shown.append("The learner's code raised:\n" + self.learner_traceback)
        shown.append(f"\x1b[0;31m{type(exc).__name__}\x1b[0m: {exc}")
        return shown


def _handle_of(value: Any) -> str:
    """A learner function the test passes on (``compose(f, g)``): sent back as its handle."""
    if isinstance(value, Remote) and "handle" in value._target and not value._target.get(
            "attrs"):
        return value._target["handle"]
    raise wire.Unsupported(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@contextlib.contextmanager
def _time_limit(seconds: float, judge: Judge):
    """The test's own code may loop too: SIGALRM ends it after ``seconds``. While the judge
    waits for the kernel, the alarm only takes note: the channel ends a slow answer itself (it
    interrupts the kernel, or has it restarted), and its own stop must reach the runner as it
    is. (Blocking the signal instead would not do: Python runs handlers in the main thread even
    when another thread, numpy's for one, took the signal.)"""
    def expired(signum, frame):
        if judge.waiting_for_kernel:
            judge.alarm_rang = True
            return
        raise judge.stop(JudgeStop("CellTimeoutError", "the test ran longer than its time limit"))

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def own_module(name: str) -> Any:
    """This process's copy of the module ``name``, from the image's installed libraries only
    (the runner's ``sys.path`` holds no learner folder); None when there is none."""
    if name in sys.modules:
        return sys.modules[name]
    try:
        if importlib.util.find_spec(name) is None:
            return None
        return importlib.import_module(name)
    except Exception:  # not installed, or fails to import: ask the kernel about its names
        return None
