"""IPython extension for the grading kernel: put IPython's machinery back before each test.

The learner's code and the tests run in one kernel, so a learner's cell can change *how* the
later cells run: an input transformer that empties every cell (``get_ipython()
.input_transformers_cleanup.append(lambda lines: [])``: every test "passes"), or a transformer,
AST transformer, replaced compiler, trace or profile function, audit hook or patched IPython
method that sees the hidden tests' source and prints it into the learner's own feedback.

The runner (:mod:`pls_grading.execute`) loads this extension when the kernel starts, before any
learner code runs (``--IPKernelApp.extra_extensions``), and :class:`Guard` then records what
IPython's machinery is made of. Before each graded cell the runner calls :meth:`Guard.before`,
which compares that machinery with the record, puts back what differs and answers which parts
(:data:`PARTS`) it found changed; after the cell, :meth:`Guard.after` removes what the cell
left behind that quotes its source (the line cache, the last traceback and execution result).
In the spirit of nbgrader's steps, each concern is one small check: a :class:`Check` says what
it watches, whether it changed, and how to put it back.

Trust: this code runs in the learner's process, so it decides nothing. It answers the runner
in the reply to the runner's own request (``user_expressions``, never printed output a cell
could imitate), the runner treats a missing or malformed answer as tampering, and the runner
alone decides what the answer means for the grade. Audit hooks cannot be removed once added, so
:class:`Guard` adds one first that refuses every later one (``sys.addaudithook`` then adds
nothing) and reports the attempt. What this cannot stop is written down in ``docs/grading.md``
("Tampering with execution").
"""

from __future__ import annotations

import builtins
import contextlib
import json
import linecache
import os
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from IPython.core.compilerop import PyCF_MASK

# The parts a report may name, in the words the grader shows learners and instructors.
INPUT_TRANSFORMERS = "input transformers"
AST_TRANSFORMERS = "AST transformers"
COMPILER = "the compiler"
DISPLAY_HOOK = "the display hook"
EXCEPTION_HANDLING = "exception handling"
TRACE_FUNCTION = "a trace function"
PROFILE_FUNCTION = "a profile function"
AUDIT_HOOK = "an audit hook"
MONITORING = "a monitoring tool"
CELL_EXECUTION = "IPython's cell execution"
BUILTINS = "built-in functions"
PARTS = (
    INPUT_TRANSFORMERS, AST_TRANSFORMERS, COMPILER, DISPLAY_HOOK, EXCEPTION_HANDLING,
    TRACE_FUNCTION, PROFILE_FUNCTION, AUDIT_HOOK, MONITORING, CELL_EXECUTION, BUILTINS,
)  # fmt: skip

MISSING = object()
WATCHED_BUILTINS = ("exec", "eval", "compile", "__import__", "__build_class__")
# Modules whose classes make up cell execution: their methods are recorded and put back.
EXECUTION_MODULES = ("IPython.", "ipykernel.", "jupyter_client.", "codeop", "traitlets.")
# Events whose callbacks receive a cell's source (ExecutionInfo.raw_cell): callbacks a learner
# registered are set aside while a graded cell runs (not tampering: autoreload uses them).
SOURCE_EVENTS = ("pre_run_cell", "post_run_cell")
# Compiler flags that a cell may change: ``from __future__ import ...`` sticks, by design.
FUTURE_FLAGS = PyCF_MASK


def own_attributes(owner: Any) -> dict[str, Any]:
    """What ``owner`` itself holds (not what it inherits)."""
    try:
        return dict(vars(owner))
    except TypeError:  # __slots__, no __dict__
        return {}


@dataclass
class Check:
    """One part of the machinery: ``changed()`` compares it with the record, ``restore()``
    puts the record back."""

    part: str
    changed: Callable[[], bool]
    restore: Callable[[], None]


@dataclass
class Recorded:
    """An attribute of an object as it was when the kernel started."""

    owner: Any
    name: str
    value: Any = field(init=False)

    def __post_init__(self) -> None:
        self.value = getattr(self.owner, self.name, MISSING)

    def changed(self) -> bool:
        return getattr(self.owner, self.name, MISSING) is not self.value

    def restore(self) -> None:
        if self.value is MISSING:
            if self.name in own_attributes(self.owner):
                delattr(self.owner, self.name)
        else:
            setattr(self.owner, self.name, self.value)


@dataclass
class RecordedList:
    """A list attribute (its object and its items) as it was when the kernel started."""

    owner: Any
    name: str
    items: list[Any] = field(init=False)

    def __post_init__(self) -> None:
        self.items = list(getattr(self.owner, self.name))

    def changed(self) -> bool:
        current = getattr(self.owner, self.name, None)
        if not isinstance(current, list) or len(current) != len(self.items):
            return True
        return any(a is not b for a, b in zip(current, self.items, strict=True))

    def restore(self) -> None:
        setattr(self.owner, self.name, list(self.items))


@dataclass
class RecordedMethods:
    """The functions a class defines itself, and which of them an instance does not shadow:
    a learner may patch a class (``InteractiveShell.run_cell = ...``) or one object
    (``get_ipython().run_cell = ...``)."""

    owner: Any
    is_class: bool
    functions: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        attributes = own_attributes(self.owner)
        if self.is_class:
            self.functions = {k: v for k, v in attributes.items() if callable_attribute(v)}
        else:  # an instance: the names of its class's functions it already shadows
            self.functions = {k: v for k, v in attributes.items() if k in class_functions(
                type(self.owner))}

    def differences(self) -> list[str]:
        attributes = own_attributes(self.owner)
        if self.is_class:
            names = set(self.functions) | {
                k for k, v in attributes.items() if callable_attribute(v)
            }
        else:
            names = set(self.functions) | (set(attributes) & class_functions(type(self.owner)))
        return sorted(
            n for n in names if attributes.get(n, MISSING) is not self.functions.get(n, MISSING)
        )

    def changed(self) -> bool:
        return bool(self.differences())

    def restore(self) -> None:
        for name in self.differences():
            original = self.functions.get(name, MISSING)
            if original is MISSING:
                delattr(self.owner, name)
            else:
                setattr(self.owner, name, original)


def callable_attribute(value: Any) -> bool:
    return callable(value) or isinstance(value, property | classmethod | staticmethod)


def class_functions(cls: type) -> set[str]:
    return {
        name
        for klass in cls.__mro__
        for name, value in own_attributes(klass).items()
        if callable_attribute(value)
    }


def execution_classes(objects: Iterable[Any]) -> list[type]:
    """The classes, with their bases, of the objects cells run through (IPython, ipykernel,
    jupyter_client, codeop and traitlets classes only)."""
    found: dict[int, type] = {}
    for obj in objects:
        for cls in type(obj).__mro__:
            if cls.__module__.startswith(EXECUTION_MODULES):
                found.setdefault(id(cls), cls)
    return list(found.values())


class Guard:
    """What the kernel's machinery was when it started, and the checks against it."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.kernel = getattr(shell, "kernel", None)
        self.audit_attempts: list[str] = []
        self.set_aside: dict[str, list[Callable]] = {}
        self.lines_before: set[str] = set()
        callbacks = getattr(shell.events, "callbacks", {})
        self.listeners = {event: list(callbacks.get(event, [])) for event in SOURCE_EVENTS}
        self.checks = self.record()
        self.refuse_audit_hooks()

    # -- what is recorded -----------------------------------------------------------------

    def record(self) -> list[Check]:
        shell, kernel = self.shell, self.kernel
        checks: list[Check] = []

        def add(part: str, recorded: Any) -> None:
            checks.append(Check(part, recorded.changed, recorded.restore))

        manager = shell.input_transformer_manager
        add(INPUT_TRANSFORMERS, Recorded(shell, "input_transformer_manager"))
        for name in ("cleanup_transforms", "line_transforms", "token_transformers"):
            add(INPUT_TRANSFORMERS, RecordedList(manager, name))
        add(INPUT_TRANSFORMERS, RecordedList(shell, "input_transformers_post"))
        add(AST_TRANSFORMERS, RecordedList(shell, "ast_transformers"))
        checks.extend(self.compiler_checks())
        for owner, name in (
            (sys, "displayhook"), (shell, "displayhook"), (shell, "display_pub"),
            (shell, "display_trap"), (shell.display_trap, "hook"),
        ):  # fmt: skip
            add(DISPLAY_HOOK, Recorded(owner, name))
        for owner, name in (
            (sys, "excepthook"), (shell, "custom_exceptions"), (shell, "CustomTB"),
            (shell, "InteractiveTB"), (shell, "SyntaxTB"),
        ):  # fmt: skip
            add(EXCEPTION_HANDLING, Recorded(owner, name))
        checks.extend(self.tracing_checks())
        watched = [shell, shell.compile, manager, shell.displayhook, shell.display_pub,
                   shell.events, shell.InteractiveTB]
        if kernel is not None:
            watched += [kernel, getattr(kernel, "session", None)]
        watched = [w for w in watched if w is not None]
        for cls in execution_classes(watched):
            add(CELL_EXECUTION, RecordedMethods(cls, is_class=True))
        for obj in watched:
            add(CELL_EXECUTION, RecordedMethods(obj, is_class=False))
        handlers = getattr(kernel, "shell_handlers", None)
        if isinstance(handlers, dict):
            checks.append(self.handlers_check(handlers))
        session = getattr(kernel, "session", None)
        for name in ("pack", "unpack"):  # traits holding functions, not methods
            if session is not None:
                add(CELL_EXECUTION, Recorded(session, name))
        for name in WATCHED_BUILTINS:
            add(BUILTINS, Recorded(builtins, name))
        return checks

    def handlers_check(self, handlers: dict[str, Any]) -> Check:
        """The kernel's table of message handlers (``execute_request`` first of all)."""
        kernel = self.kernel
        original = dict(handlers)

        def changed() -> bool:
            return kernel.shell_handlers is not handlers or handlers != original

        def restore() -> None:
            kernel.shell_handlers = handlers
            handlers.clear()
            handlers.update(original)

        return Check(CELL_EXECUTION, changed, restore)

    def compiler_checks(self) -> list[Check]:
        """The compiler object, what it holds itself, and its flags (but the ``__future__``
        ones: ``from __future__ import annotations`` in a cell sticks, by IPython's design)."""
        shell = self.shell
        compiler = shell.compile
        attributes = set(own_attributes(compiler))
        flags = compiler.flags & ~FUTURE_FLAGS
        replaced = Recorded(shell, "compile")

        def added() -> set[str]:
            return set(own_attributes(compiler)) - attributes

        def restore_flags() -> None:
            compiler.flags = (compiler.flags & FUTURE_FLAGS) | flags

        def remove_added() -> None:
            for name in added():
                delattr(compiler, name)

        return [
            Check(COMPILER, replaced.changed, replaced.restore),
            Check(COMPILER, lambda: bool(added()), remove_added),
            Check(COMPILER, lambda: (compiler.flags & ~FUTURE_FLAGS) != flags, restore_flags),
        ]

    def tracing_checks(self) -> list[Check]:
        checks = [
            Check(TRACE_FUNCTION, lambda: sys.gettrace() is not None, lambda: sys.settrace(None)),
            Check(PROFILE_FUNCTION, lambda: sys.getprofile() is not None,
                  lambda: sys.setprofile(None)),
        ]
        if hasattr(threading, "gettrace"):
            checks += [
                Check(TRACE_FUNCTION, lambda: threading.gettrace() is not None,
                      lambda: threading.settrace(None)),
                Check(PROFILE_FUNCTION, lambda: threading.getprofile() is not None,
                      lambda: threading.setprofile(None)),
            ]
        monitoring = getattr(sys, "monitoring", None)
        if monitoring is not None:  # Python 3.12+
            tools = range(6)
            used = {tool: monitoring.get_tool(tool) for tool in tools}

            def new_tools() -> list[int]:
                return [t for t in tools if monitoring.get_tool(t) != used[t]]

            def free_new_tools() -> None:
                for tool in new_tools():
                    monitoring.set_events(tool, 0)
                    monitoring.free_tool_id(tool)

            checks.append(Check(MONITORING, lambda: bool(new_tools()), free_new_tools))
        return checks

    def refuse_audit_hooks(self) -> None:
        """Add the kernel's first audit hook: it refuses each later one. CPython calls the
        existing hooks with ``sys.addaudithook`` before it adds a new hook and drops the new
        one when a hook raises a ``RuntimeError``; a hook once added can never be removed."""
        attempts = self.audit_attempts

        def refuse(event: str, _args: tuple) -> None:
            if event == "sys.addaudithook":
                attempts.append(event)
                raise RuntimeError("the grading kernel accepts no audit hooks")

        sys.addaudithook(refuse)

    # -- before and after a graded cell ---------------------------------------------------

    def before(self) -> str:
        """Put back every part that differs from the record; the parts, as JSON. Callbacks
        that would see the graded cell's source are set aside until :meth:`after`."""
        found: list[str] = []
        for check in self.checks:
            try:
                changed = check.changed()
            except Exception:  # a part broken beyond comparing is changed, too
                changed = True
            if changed:
                found.append(check.part)
                with contextlib.suppress(Exception):  # reported: the runner decides
                    check.restore()
        if self.audit_attempts:
            found.append(AUDIT_HOOK)
            self.audit_attempts.clear()
        self.set_aside_source_listeners()
        self.lines_before = set(linecache.cache)
        return json.dumps({"found": sorted(set(found), key=PARTS.index)})

    def after(self) -> str:
        """Forget what the graded cell left that quotes its source (hidden tests included):
        its line cache entries, the last traceback and the last execution's ``raw_cell``. Put
        the set-aside callbacks back."""
        shell = self.shell
        for name in set(linecache.cache) - self.lines_before:
            entry = linecache.cache.get(name)
            if isinstance(entry, tuple) and len(entry) == 4 and entry[1] is None:  # a cell's
                linecache.cache.pop(name, None)
                getattr(shell.compile, "_filename_map", {}).pop(name, None)
        for name in ("last_type", "last_value", "last_traceback", "last_exc"):
            if hasattr(sys, name):
                setattr(sys, name, None)
        shell._last_traceback = None
        if hasattr(shell.InteractiveTB, "tb"):
            shell.InteractiveTB.tb = None
        result = getattr(shell, "last_execution_result", None)
        info = getattr(result, "info", None)
        if info is not None:
            for name in ("raw_cell", "transformed_cell"):
                if isinstance(getattr(info, name, None), str):
                    setattr(info, name, "")
        self.put_back_source_listeners()
        return json.dumps({"found": []})

    def set_aside_source_listeners(self) -> None:
        callbacks = getattr(self.shell.events, "callbacks", {})
        for event in SOURCE_EVENTS:
            registered = callbacks.get(event, [])
            extra = [c for c in registered if c not in self.listeners[event]]
            for callback in extra:
                registered.remove(callback)
            self.set_aside.setdefault(event, []).extend(extra)

    def put_back_source_listeners(self) -> None:
        callbacks = getattr(self.shell.events, "callbacks", {})
        for event, extra in self.set_aside.items():
            registered = callbacks.setdefault(event, [])
            registered.extend(c for c in extra if c not in registered)
        self.set_aside = {}


_guard: Guard | None = None


def check(phase: str) -> str:
    """The runner's entry point (``user_expressions``): ``before`` or ``after`` a graded cell."""
    if _guard is None:
        raise RuntimeError("pls_grading.guard was not loaded when the kernel started")
    return _guard.before() if phase == "before" else _guard.after()


def load_ipython_extension(ipython: Any) -> None:
    """Record the machinery now, before any cell runs. The runner starts kernels with
    ``PYTHONSAFEPATH`` so that ``python -m ipykernel_launcher`` cannot run a learner's file of
    that name from the work folder; now that the kernel runs, the work folder is importable
    again, as in JupyterLab, and the kernel's own subprocesses do not inherit the setting."""
    global _guard
    if sys.flags.safe_path and "" not in sys.path:
        sys.path.insert(0, "")
    os.environ.pop("PYTHONSAFEPATH", None)
    if _guard is None:
        _guard = Guard(ipython)
