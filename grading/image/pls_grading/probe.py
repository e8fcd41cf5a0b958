"""IPython extension for the grading kernel: answer the judge's questions about the learner's
names, as plain data.

In the judge's grading (:mod:`pls_grading.judge`), the tests never run in this kernel. The judge
asks the kernel two kinds of questions, through the runner, in the reply to the runner's own
request (``user_expressions``, never printed output):

- ``lookup``: what a name of the learner's namespace (or an attribute of a learner module or
  function) holds: plain data (:mod:`pls_grading.wire`), a function the judge may call (a
  handle), a module (by name), nothing (``absent``), or something that cannot cross (its type);
- ``call``: call a learner function (by name or handle) with plain-data arguments; the answer is
  its result as plain data, what it printed, the arguments as they are afterwards (a function may
  change a list it was given), or the exception it raised with its traceback.

Trust: this code runs in the learner's process, so it decides nothing and is trusted with
nothing. The learner's code may replace it, and then its answers are the learner's: plain data
at most, which the judge checks against the tests it alone holds. Nothing here ever sees a test.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import sys
import traceback
from typing import Any

from pls_grading import wire

OUTPUT_LIMIT = 200_000  # characters of a call's stdout (and of its stderr) kept for the judge


class _Capped(io.StringIO):
    """A stream that keeps at most :data:`OUTPUT_LIMIT` characters and counts the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0

    def write(self, text: str) -> int:
        text = str(text)
        room = OUTPUT_LIMIT - self.tell()
        if len(text) > room:
            self.dropped += len(text) - max(room, 0)
            text = text[: max(room, 0)]
        return super().write(text)

    def text(self) -> str:
        notice = f"\n[{self.dropped} more characters were not kept]\n" if self.dropped else ""
        return self.getvalue() + notice


class Probe:
    """The answers, for one kernel: the learner's namespace and the callables handed out."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self.handles: dict[str, Any] = {}
        self.counter = itertools.count(1)

    # -- the wire --------------------------------------------------------------------------

    def handle(self, value: Any) -> str:
        for key, known in self.handles.items():
            if known is value:
                return key
        key = f"h{next(self.counter)}"
        self.handles[key] = value
        return key

    @staticmethod
    def module(value: Any) -> wire.ModuleRef:
        return wire.ModuleRef(str(getattr(value, "__name__", "")))

    def encode(self, value: Any) -> Any:
        return wire.encode(value, handle=self.handle, module=self.module)

    def decode(self, data: Any) -> Any:
        def handle(key: str) -> Any:
            if key not in self.handles:
                raise wire.WireError("an unknown function")
            return self.handles[key]

        return wire.Decoder(handle=handle).decode(data)

    # -- questions --------------------------------------------------------------------------

    def resolve(self, target: dict[str, Any]) -> tuple[bool, Any]:
        """``(found, value)`` for ``{"name": ...}``, ``{"handle": ...}`` or
        ``{"module": ...}``, then ``{"attrs": [...]}``, each looked up on the one before."""
        if "handle" in target:
            if target["handle"] not in self.handles:
                return False, None
            value = self.handles[target["handle"]]
        elif "module" in target:
            if target["module"] not in sys.modules:
                return False, None
            value = sys.modules[target["module"]]
        else:
            if target.get("name") not in self.namespace:
                return False, None
            value = self.namespace[target["name"]]
        for attribute in target.get("attrs", []):
            missing = object()
            value = getattr(value, attribute, missing)
            if value is missing:
                return False, None
        return True, value

    def lookup(self, request: dict[str, Any]) -> dict[str, Any]:
        found, value = self.resolve(request["target"])
        if not found:
            return {"absent": True}
        try:
            return {"value": self.encode(value)}
        except wire.Unsupported as exc:
            return {"unsupported": exc.type_name}
        except wire.WireError as exc:
            return {"unusable": str(exc)}

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        found, function = self.resolve(request["target"])
        if not found:
            return {"absent": True}
        args = self.decode(request["args"])
        kwargs = self.decode(request["kwargs"])
        stdout, stderr = _Capped(), _Capped()
        answer: dict[str, Any] = {}
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                result = function(*args, **kwargs)
        except BaseException as exc:  # the learner's code may raise anything, SystemExit too
            answer["error"] = {
                "ename": type(exc).__name__,
                "evalue": str(exc)[:4000],
                "traceback": traceback.format_exception(exc)[-40:],
            }
        else:
            try:
                answer["value"] = self.encode(result)
            except wire.Unsupported as exc:
                answer["unsupported"] = exc.type_name
            except wire.WireError as exc:
                answer["unusable"] = str(exc)
        try:
            answer["args"] = self.encode(args)
            answer["kwargs"] = self.encode(kwargs)
        except wire.WireError:
            pass
        answer["stdout"] = stdout.text()
        answer["stderr"] = stderr.text()
        return answer

    def answer(self, request_text: str) -> str:
        request = json.loads(request_text)
        kind = request.get("op")
        if kind == "lookup":
            answer = self.lookup(request)
        elif kind == "call":
            answer = self.call(request)
        else:
            answer = {"unusable": f"unknown question {kind!r}"}
        return json.dumps(answer, separators=(",", ":"), allow_nan=False)


probe: Probe | None = None


def answer(request_text: str) -> str:
    """The runner's entry point, evaluated through ``user_expressions``."""
    if probe is None:
        return json.dumps({"unusable": "the probe is not loaded"})
    return probe.answer(request_text)


def load_ipython_extension(ipython: Any) -> None:
    global probe
    probe = Probe(ipython.user_ns)
