"""Feedback: the hidden tests' lines blanked in every output (``ClearHiddenTracebacks``).

A learner may resubmit, so the feedback must not hand them the tests: nbgrader's
``ClearHiddenTests`` removes them from the source, and this step from what the outputs quote.
"""

from __future__ import annotations

import re

from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Unicode


class ClearHiddenTracebacks(NbGraderPreprocessor):
    """Blank the hidden tests' lines in every error's traceback, and in every text output,
    before ``ClearHiddenTests`` removes them from the source.

    IPython's traceback of a failing test cell quotes the lines around the failing one, hidden
    tests included (``----> 5 assert initials("Linus") == "L"``), and nbgrader's feedback shows
    tracebacks as they are: without this, a failed hidden test hands the learner its code.
    Frames of the learner's own code, the error's name and message are kept. A learner's code
    that got hold of the tests' source (e.g. from the calling frame, see docs/grading.md) and
    printed it finds the same lines blanked in its printed output and results; only the exact
    lines are recognised, not a copy that was changed on the way."""

    begin_delimiter = Unicode(
        ClearHiddenTests.begin_test_delimeter.default_value,
        help="Marks the start of hidden tests (as ClearHiddenTests.begin_test_delimeter).",
    ).tag(config=True)
    end_delimiter = Unicode(
        ClearHiddenTests.end_test_delimeter.default_value,
        help="Marks the end of hidden tests (as ClearHiddenTests.end_test_delimeter).",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        hidden = {line for cell in nb.cells for line in self.hidden_lines(cell.source)}
        if hidden:
            for cell in nb.cells:
                for output in cell.get("outputs", []):
                    redact_output(output, hidden)
        return nb, resources

    def hidden_lines(self, source: str) -> list[str]:
        """The stripped lines of source's hidden test regions, their delimiters included."""
        lines, inside = [], False
        for line in source.splitlines():
            if self.begin_delimiter in line:
                inside = True
            if inside and line.strip():
                lines.append(line.strip())
            if self.end_delimiter in line:
                inside = False
        return lines


ANSI_CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# A quoted source line in an IPython traceback, colours removed: "----> 5 code" or "      6 code".
TRACEBACK_LINE = re.compile(r"^\s*(?:-*>\s*)?\d+\s?(?P<code>.*)$")
REDACTED = "      [a line of the hidden tests]"


def redact(entry: str, hidden: set[str]) -> str:
    """A traceback entry with each quoted line that is one of ``hidden`` replaced."""
    kept = []
    for line in entry.split("\n"):
        quoted = TRACEBACK_LINE.match(ANSI_CODES.sub("", line))
        kept.append(REDACTED if quoted and quoted["code"].strip() in hidden else line)
    return "\n".join(kept)


def redact_text(text: str, hidden: set[str]) -> str:
    """``text`` with each line that is one of ``hidden`` (or quotes it as a traceback does)
    replaced."""
    kept = []
    for line in text.split("\n"):
        plain = ANSI_CODES.sub("", line).strip()
        quoted = TRACEBACK_LINE.match(plain)
        hit = plain in hidden or bool(quoted and quoted["code"].strip() in hidden)
        kept.append(REDACTED if hit else line)
    return "\n".join(kept)


def redact_output(output: NotebookNode, hidden: set[str]) -> None:
    """Blank the hidden tests' lines in an output: a traceback, printed text, or the text of
    a result or display."""
    if output.output_type == "error":
        output.traceback = [redact(entry, hidden) for entry in output.traceback]
    elif output.output_type == "stream":
        text = output.get("text", "")
        output.text = redact_text("".join(text) if isinstance(text, list) else text, hidden)
    elif output.output_type in {"execute_result", "display_data"}:
        for kind in ("text/plain", "text/markdown", "text/latex"):
            value = output.get("data", {}).get(kind)
            if isinstance(value, list):
                value = "".join(value)
            if isinstance(value, str):
                output.data[kind] = redact_text(value, hidden)
