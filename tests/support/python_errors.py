"""Real error outputs of common mistakes, as a Jupyter notebook shows them.

:func:`error_output` runs a cell's source and turns the exception it raises into the
``{"ename", "evalue", "traceback"}`` of a Jupyter error output, with IPython's frame headers
(``Cell In[1], line N``), ``---->`` arrows and terminal colours, so the tutor is tested on what
JupyterLab really sends. :data:`MISTAKES` holds one cell per exception the offline tutor must
explain, with a phrase its explanation must contain.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass

RED, GREEN, CYAN, RESET = "\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[39m"
CELL = "<cell>"


@dataclass(frozen=True)
class Mistake:
    ename: str
    source: str
    says: str
    """A phrase the explanation must contain (read from the message or the cell)."""


def error_output(source: str) -> dict:
    """The error output of running ``source`` as a notebook cell."""
    lines = source.splitlines()
    try:
        exec(compile(source, CELL, "exec"), {"__name__": "__main__"})  # noqa: S102 - test code
    except BaseException as error:  # every exception is the point here
        ename = type(error).__name__
        evalue = str(error) if not isinstance(error, SyntaxError) else error.msg
        frames = [f"{RED}{'-' * 75}{RESET}",
                  f"{RED}{ename}{RESET}{' ' * max(1, 34 - len(ename))}Traceback (most recent "
                  "call last)"]
        if isinstance(error, SyntaxError):
            caret = " " * max(0, (error.offset or 1) - 1) + "^"
            frames = [f"  {CYAN}Cell In[1], line {error.lineno}{RESET}\n    "
                      f"{(error.text or '').rstrip()}\n    {caret}\n"]
        else:
            for frame in traceback.extract_tb(sys.exc_info()[2]):
                if frame.filename != CELL:
                    continue
                number = frame.lineno or 0
                code = lines[number - 1] if 0 < number <= len(lines) else ""
                frames.append(f"{CYAN}Cell In[1], line {number}{RESET}\n"
                              f"{GREEN}----> {RESET}{GREEN}{number}{RESET} {code}\n")
        frames.append(f"{RED}{ename}{RESET}: {evalue}")
        return {"ename": ename, "evalue": evalue, "traceback": frames}
    raise AssertionError(f"the cell raised nothing:\n{source}")


MISTAKES = [
    Mistake("NameError", "total = 0\nfor n in [1, 2]:\n    total = total + n\nprint(totl)",
            "Did you mean `total`"),
    Mistake("TypeError", "age = 7\nprint('I am ' + age)", "Convert one side first"),
    Mistake("ValueError", "int('forty two')", "`'forty two'`"),
    Mistake("IndexError", "letters = ['a', 'b', 'c']\nletters[3]", "Positions start at 0"),
    Mistake("KeyError", "ages = {'ada': 36}\nages['grace']", "`'grace'`"),
    Mistake("AttributeError", "words = ['a', 'b']\nwords.push('c')", "`list` has no `push`"),
    Mistake("ZeroDivisionError", "scores = []\naverage = sum(scores) / len(scores)",
            "divided by zero"),
    Mistake("ImportError", "from math import tau2", "nothing called `tau2`"),
    Mistake("ModuleNotFoundError", "import numpyy", "`numpyy`"),
    Mistake("SyntaxError", "def greet(name)\n    return name", "colon `:`"),
    Mistake("IndentationError", "if True:\nprint('yes')", "must be followed by at least one"),
    Mistake("TabError", "if True:\n        x = 1\n\ty = 2", "tab characters and spaces"),
    Mistake("RecursionError", "def countdown(n):\n    return countdown(n - 1)\ncountdown(3)",
            "base case"),
    Mistake("AssertionError", "def double(x):\n    return x + 2\nassert double(3) == 6",
            "`assert double(3) == 6`"),
    Mistake("FileNotFoundError", "open('data/scores.csv')", "`data/scores.csv`"),
    Mistake("UnboundLocalError",
            "count = 0\ndef add():\n    count += 1\n    return count\nadd()", "`count`"),
    Mistake("StopIteration", "numbers = iter([])\nnext(numbers)", "`next()`"),
    Mistake("OverflowError", "import math\nmath.exp(1000)", "too large"),
    Mistake("MemoryError", "raise MemoryError()", "ran out of memory"),
    Mistake("KeyboardInterrupt", "raise KeyboardInterrupt()", "`while` loop"),
    Mistake("NotImplementedError",
            "def initials(full_name):\n    raise NotImplementedError()\ninitials('Ada')",
            "Replace the line `raise NotImplementedError()`"),
    Mistake("UnicodeDecodeError", "b'caf\\xe9'.decode('utf-8')", 'encoding="utf-8"'),
    Mistake("UnicodeEncodeError", "'café'.encode('ascii')", "encoding"),
    Mistake("RuntimeError", "d = {'a': 1}\nfor k in d:\n    d[k + k] = 2",
            "changed (items added or removed)"),
    Mistake("PermissionError", "raise PermissionError(13, 'Permission denied', 'lessons/x.ipynb')",
            "read-only"),
    Mistake("JSONDecodeError", "import json\njson.loads('{nope}')", "valid JSON"),
    Mistake("ConnectionRefusedError", "raise ConnectionRefusedError(111, 'Connection refused')",
            "no internet"),
    Mistake("IsADirectoryError", "open('.')", "folder"),
]
