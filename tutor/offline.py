"""Offline mode: the tutor without a model (no ``OPENAI_API_KEY``).

It still helps in the two situations learners meet most:

- **Explain this error**: :func:`explain` turns a traceback and the cell into a plain-language
  explanation: what the exception means, the line it happened on (from the traceback's arrow or
  ``line N``), what usually causes it and what to check, with details read from the message
  (the undefined name and a similar name in the cell, the missing key, the types that do not
  mix, ...). :data:`EXPLAINERS` covers the common built-in exceptions; any other gets a guide to
  reading a traceback.
- **Hint**: :func:`hint` gives the instructors' hints (the cell's ``pls_tutor.hints``, then the
  assignment's, the ones closest to the cell first), one more each time the learner asks.

Everything here is written by people (this module's authors, the course's instructors): there
is nothing to guard. Replies are labelled offline by the caller.
"""

from __future__ import annotations

import difflib
import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from tutor.ask import ErrorOutput

ARROW_LINE = re.compile(r"^-+>\s*(\d+)\s?(.*)$")
FRAME_LINE = re.compile(r"line (\d+)")
MESSAGE_LINE = re.compile(r"\s*\((?:<[^>]*>|[^()]*\.py), line (\d+)\)\s*$")
QUOTED = re.compile(r"'([^']*)'")
NAME_IN_CELL = re.compile(r"[^\W\d]\w*")
WORD = re.compile(r"[a-z]{3,}")
COMMON_WORDS = frozenset({
    "the", "and", "for", "you", "your", "with", "that", "this", "then", "than", "from", "into",
    "each", "when", "what", "which", "first", "check", "function", "functions", "return",
    "returns", "value", "values", "make", "sure", "before", "after", "only",
})


@dataclass(frozen=True)
class ErrorContext:
    """An error output and the cell it came from, with what can be read off them."""

    ename: str
    evalue: str
    traceback: str = ""
    cell_source: str = ""

    @cached_property
    def quoted(self) -> list[str]:
        """The ``'...'`` parts of the message (a name, a key, a type, a module)."""
        return QUOTED.findall(self.evalue)

    @cached_property
    def message(self) -> str:
        """The message without the ``(<ipython-input-…>, line N)`` Python adds to syntax errors."""
        return MESSAGE_LINE.sub("", self.evalue).strip()

    @cached_property
    def line(self) -> tuple[int | None, str]:
        """The line of the learner's cell that failed and its code, as far as the traceback
        tells: the innermost frame in a cell (``Cell In[n], line N`` and its ``---->`` arrow);
        frames in library files (``File …``) are not the learner's code."""
        number, code = None, ""
        in_cell = True
        for text in self.traceback.splitlines():
            text = text.strip()
            if text.startswith(("Cell In", "File ")):
                in_cell = text.startswith(("Cell In", 'File "<'))
                found = FRAME_LINE.search(text)
                if in_cell and found:
                    number, code = int(found.group(1)), ""
                continue
            arrow = ARROW_LINE.match(text)
            if arrow and in_cell:
                number, code = int(arrow.group(1)), arrow.group(2).strip()
        if number is None:
            found = MESSAGE_LINE.search(self.evalue)
            number = int(found.group(1)) if found else None
        lines = self.cell_source.splitlines()
        if number is not None and not code and 0 < number <= len(lines):
            code = lines[number - 1].strip()
        return number, code

    @cached_property
    def names_in_cell(self) -> list[str]:
        seen: dict[str, None] = {}
        for name in NAME_IN_CELL.findall(self.cell_source):
            if not keyword.iskeyword(name):
                seen.setdefault(name, None)
        return list(seen)

    def similar_names(self, name: str) -> list[str]:
        others = [n for n in self.names_in_cell if n != name]
        return difflib.get_close_matches(name, others, n=2, cutoff=0.7)


@dataclass
class Explanation:
    meaning: str
    checks: list[str] = field(default_factory=list)


EXPLAINERS: dict[str, Callable[[ErrorContext], Explanation]] = {}


def explains(*names: str):
    def register(function: Callable[[ErrorContext], Explanation]):
        for name in names:
            EXPLAINERS[name] = function
        return function

    return register


def _code(text: str) -> str:
    return f"`{text.replace('`', '')}`"


# -- the explanations -----------------------------------------------------------------------


@explains("NameError")
def _name_error(e: ErrorContext) -> Explanation:
    name = e.quoted[0] if e.quoted else ""
    subject = f"the name {_code(name)}" if name else "a name"
    checks = [
        "Check the spelling, including upper- and lower-case letters: `Total` and `total` are "
        "different names.",
        "If the name is defined in another cell, run that cell first (*Run → Run All Above*): "
        "each cell only knows what the cells run before it created.",
        "A name defined inside a function exists only inside that function.",
    ]
    if name:
        similar = e.similar_names(name)
        if similar:
            checks.insert(0, f"Did you mean {' or '.join(_code(s) for s in similar)}? That name "
                          "appears in your cell.")
        checks.append(f"If you meant the text {name}, put it in quotes: {_code(repr(name))}.")
    return Explanation(f"Python does not know {subject}: nothing has been assigned to it yet "
                       "(or it is misspelled) at the moment this line runs.", checks)


@explains("TypeError")
def _type_error(e: ErrorContext) -> Explanation:
    message = e.evalue
    if "NoneType" in message:
        return Explanation(
            "A value you used is `None`, Python's \"nothing\", where something else was "
            "expected. Very often a function returned nothing.",
            ["A function without a `return` statement returns `None`; `print` shows a value but "
             "does not return it.", "Methods such as `list.sort()` or `list.append()` change "
             "the list and return `None`: do not assign their result."],
        )
    if "unsupported operand" in message or "can only concatenate" in message:
        types = [t for t in e.quoted if t] or re.findall(r"\"(\w+)\"", message)
        mixed = f" ({' and '.join(_code(t) for t in types)})" if types else ""
        return Explanation(
            f"An operator such as `+` or `*` got two kinds of value it cannot combine{mixed}: "
            "for example a number and a text.",
            ["Convert one side first: `str(42)` makes text of a number, `int('42')` or "
             "`float('4.2')` a number of text.", "An f-string combines text and numbers: "
             "`f\"{name} is {age}\"`.", "`input()` always returns text."],
        )
    if "positional argument" in message or "keyword argument" in message:
        return Explanation(
            "A function was called with a different number (or names) of arguments than its "
            "definition has parameters.",
            ["Compare the call with the `def` line: count the arguments and the parameters.",
             "Keep the parameter names the exercise gives: tests may call with keyword "
             "arguments such as `excited=True`.", "A method's first parameter, `self`, is "
             "passed for you."],
        )
    if "not callable" in message:
        return Explanation(
            "Something that is not a function was called with `()`: often a variable that "
            "has the same name as a function (e.g. `sum = 0` hides the built-in `sum`).",
            ["Look for a variable named like the function you call, and rename it.",
             "Multiplication needs `*`: `2(x + 1)` is read as a call; write `2 * (x + 1)`."],
        )
    if "not iterable" in message:
        return Explanation(
            "A `for` loop (or `list()`, `sum()`, unpacking) was given a single value, such as a "
            "number, where it needs a collection to go through.",
            ["To repeat something n times, loop over `range(n)`, not over `n`.",
             "Check that the variable holds the list you expect (print it)."],
        )
    if "subscriptable" in message:
        return Explanation(
            "Square brackets `[...]` were used on a value that has no items to pick from, such "
            "as a number or a function.",
            ["To call a function use round brackets: `f(x)`, not `f[x]`.",
             "Check which value the variable holds (print it and its `type()`)."],
        )
    if "has no len" in message:
        return Explanation("`len()` was given a value without a length, such as a number.",
                           ["`len()` counts the items of a text, list, tuple, set or dict."])
    if "indices must be" in message:
        return Explanation(
            "A list or text was indexed with something that is not a whole number, such as a "
            "float or a text.",
            ["Positions are whole numbers: use `int(...)` or integer division `//`.",
             "To look values up by a name, use a dictionary."],
        )
    return Explanation(
        "An operation or function got a value of a type it cannot work with.",
        ["Read the message: it names the operation and the types involved.",
         "Print the values and their `type()` just before the failing line."],
    )


@explains("ValueError")
def _value_error(e: ErrorContext) -> Explanation:
    message = e.evalue
    if "invalid literal" in message or "could not convert" in message:
        text = e.quoted[-1] if e.quoted else ""
        shown = f" ({_code(repr(text))})" if text else ""
        return Explanation(
            f"A text could not be turned into a number{shown}: `int()` and `float()` accept only "
            "texts that look like a number.",
            ["Remove spaces and other characters first, e.g. with `.strip()`.",
             "`int('4.5')` fails: use `float()` for decimals."],
        )
    if "unpack" in message:
        return Explanation(
            "Unpacking (`a, b = ...`) got a different number of values than there are names on "
            "the left.", ["Count the names on the left and the items on the right.",
                          "To loop over a dictionary's keys and values use `.items()`."],
        )
    if "math domain" in message:
        return Explanation("A math function got a value outside the values it accepts, such "
                           "as `math.sqrt(-1)` or `math.log(0)`.",
                           ["Check the value before calling (print it)."])
    if "not in list" in message:
        return Explanation("`list.index()` or `list.remove()` looked for a value the list does "
                           "not hold.", ["Check with `value in my_list` first."])
    return Explanation(
        "A function got a value of the right type but an unsuitable content"
        + (f" (the message says: {_code(message)})" if message else "") + ".",
        ["If your own code raises it on purpose (`raise ValueError(...)`), check the "
         "condition that leads there.", "Print the value that was passed in."],
    )


@explains("IndexError")
def _index_error(e: ErrorContext) -> Explanation:
    kind = "text" if "string" in e.evalue else "tuple" if "tuple" in e.evalue else "list"
    return Explanation(
        f"A position was asked for that the {kind} does not have. Positions start at 0, so a "
        f"{kind} of length 3 has positions 0, 1 and 2 (and -1 for the last).",
        ["A loop over `range(len(items) + 1)` goes one too far: `range(len(items))` is enough, "
         "or loop over the items themselves.", "An empty list has no position 0: check "
         "`if items:` first.", "Print `len(...)` and the position just before the line."],
    )


@explains("KeyError")
def _key_error(e: ErrorContext) -> Explanation:
    key = e.evalue.strip() or "the key"
    return Explanation(
        f"A dictionary was asked for the key {_code(key)}, which it does not hold.",
        ["Check the spelling and the type of the key: `'1'` and `1` are different keys.",
         "Ask first with `key in my_dict`, or use `my_dict.get(key, default)`.",
         "When counting, give a new key a start value: `counts[word] = counts.get(word, 0) + 1`."],
    )


@explains("AttributeError")
def _attribute_error(e: ErrorContext) -> Explanation:
    owner, attribute = e.quoted[:2] if len(e.quoted) >= 2 else ("", "")
    if "NoneType" in e.evalue:
        return Explanation(
            "A `.something` was used on `None`: the value is \"nothing\", often because a "
            "function returned nothing.",
            ["A function without `return` returns `None`.", "`my_list.sort()` returns `None`; "
             "`sorted(my_list)` returns the sorted list."],
        )
    if not (owner and attribute):
        subject = "the value has no such attribute or method"
    elif e.evalue.startswith("module"):
        subject = f"the module {_code(owner)} has nothing called {_code(attribute)}"
    else:
        subject = f"a value of type {_code(owner)} has no {_code(attribute)}"
    return Explanation(
        f"A `.name` was looked up that does not exist: {subject}.",
        ["Check the spelling (methods are lower-case: `.upper()`, `.split()`, `.append()`).",
         "Check the value's type with `type(...)`: text, list and dict methods differ "
         "(`.append` is for lists, `.add` for sets).",
         "`help(value)` or `dir(value)` lists what a value has."],
    )


@explains("ZeroDivisionError")
def _zero_division(e: ErrorContext) -> Explanation:
    return Explanation(
        "A number was divided by zero (with `/`, `//` or `%`), which has no result.",
        ["Find which value is 0 (print it): often a count or a length of an empty list.",
         "Handle the case first: `if count == 0: ...`."],
    )


@explains("ModuleNotFoundError", "ImportError")
def _import_error(e: ErrorContext) -> Explanation:
    if e.evalue.startswith("cannot import name") and len(e.quoted) >= 2:
        name, module = e.quoted[:2]
        return Explanation(
            f"The module {_code(module)} was found, but it has nothing called {_code(name)} to "
            "import.",
            ["Check the spelling of the name (upper- and lower-case count).",
             f"`import {module}` and then `dir({module})` lists what it has."],
        )
    module = e.quoted[0] if e.quoted else ""
    named = f" {_code(module)}" if module else ""
    return Explanation(
        f"Python could not import{named}: no module of that name is installed here, or the "
        "name it imports from it does not exist.",
        ["Check the spelling (`import math`, `from collections import Counter`).",
         "Your notebook server has no internet access: you cannot install packages yourself. "
         "The course's notebook image has what the course needs; ask your instructors if "
         "something is missing.",
         "A file of your own with the same name as a module (e.g. `random.py`) hides it."],
    )


@explains("SyntaxError")
def _syntax_error(e: ErrorContext) -> Explanation:
    message = e.evalue.lower()
    checks = []
    if "never closed" in message or "unexpected eof" in message or "incomplete input" in message:
        checks.append("A bracket or quote is opened but not closed: count `(` and `)`, `[` and "
                      "`]`, and the quotes around texts.")
    if "expected ':'" in message:
        checks.append("Lines starting with `if`, `elif`, `else`, `for`, `while`, `def` or "
                      "`class` end with a colon `:`.")
    if "'=='" in message or "maybe you meant" in message or "cannot assign" in message:
        checks.append("To compare, use `==`; a single `=` assigns.")
    if "unterminated string" in message or "eol" in message:
        checks.append("A text is missing its closing quote.")
    if "invalid character" in message:
        checks.append("A character Python does not accept is in the code, often curly quotes "
                      "(“ ”) copied from a document: type the quotes again.")
    checks += ["Python shows a `^` under the place where it gave up: the mistake is there or "
               "just before it (often on the line above).",
               "Look for a missing comma, colon or bracket, or a misspelled keyword."]
    return Explanation("Python could not read the code: it is not written the way Python's "
                       "grammar requires, so nothing in the cell ran.", checks)


@explains("IndentationError")
def _indentation_error(e: ErrorContext) -> Explanation:
    message = e.evalue.lower()
    if "expected an indented block" in message:
        meaning = ("A line ending with `:` (an `if`, `for`, `def`, ...) must be followed by at "
                   "least one indented line.")
    elif "unexpected indent" in message:
        meaning = "A line is indented although nothing before it opens a block."
    else:
        meaning = "The indentation (spaces at the start of lines) does not line up."
    return Explanation(
        meaning + " In Python, indentation says which lines belong together.",
        ["Indent each block by 4 spaces, and lines of one block by exactly the same amount.",
         "An empty block needs at least `pass`.",
         "In Jupyter, select the lines and press Tab or Shift+Tab to indent or dedent them."],
    )


@explains("TabError")
def _tab_error(e: ErrorContext) -> Explanation:
    return Explanation(
        "The cell mixes tab characters and spaces to indent, so Python cannot tell how far a "
        "line is indented.",
        ["Indent with spaces only: delete the indentation of the lines around the error and "
         "indent them again with the Tab key (Jupyter inserts 4 spaces)."],
    )


@explains("RecursionError")
def _recursion_error(e: ErrorContext) -> Explanation:
    return Explanation(
        "A function kept calling itself (directly or through other functions) without "
        "stopping, until Python's limit of nested calls was reached.",
        ["A recursive function needs a base case that returns without calling itself, and "
         "every call must come closer to it.", "Check that the argument changes on each call "
         "(e.g. `n - 1`, not `n`).", "A method that sets an attribute of the same name as a "
         "property can also call itself."],
    )


@explains("AssertionError")
def _assertion_error(e: ErrorContext) -> Explanation:
    _number, code = e.line
    failed = f" The check that failed: {_code(code)}." if code.startswith("assert") else ""
    return Explanation(
        "An `assert` statement found its condition false. In an assignment's test cell this "
        f"means a test failed: your function gave a different result than expected.{failed}",
        ["Call your function yourself with the values from the failing test and print the "
         "result: compare it with what the test expects.",
         "Did you `return` the result (not only `print` it)?",
         "After changing your answer cell, run it again before running the test cell."],
    )


@explains("FileNotFoundError")
def _file_not_found(e: ErrorContext) -> Explanation:
    path = e.quoted[0] if e.quoted else ""
    named = f" {_code(path)}" if path else ""
    return Explanation(
        f"The file{named} does not exist where Python looked for it.",
        ["A relative path is looked up from the notebook's folder: check where the file is "
         "in the file browser on the left.", "Check the spelling and the extension "
         "(`data.csv` vs `data.CSV`)."],
    )


@explains("PermissionError")
def _permission_error(e: ErrorContext) -> Explanation:
    return Explanation(
        "The file or folder may not be written (or read) by you.",
        ["Course materials may be read-only: save your own files in your work folder, under "
         "another name."],
    )


@explains("IsADirectoryError", "NotADirectoryError")
def _directory_error(e: ErrorContext) -> Explanation:
    return Explanation("A folder was used where a file was expected, or the other way round.",
                       ["Check the path: does it end with the file's name?"])


@explains("UnboundLocalError")
def _unbound_local(e: ErrorContext) -> Explanation:
    name = e.quoted[0] if e.quoted else ""
    named = f" {_code(name)}" if name else ""
    return Explanation(
        f"Inside a function, the variable{named} is used before it got a value. Because the "
        "function assigns to it somewhere, Python treats it as the function's own (local) "
        "variable everywhere in the function, even before that assignment.",
        ["Give it a value at the start of the function.",
         "If you meant a variable from outside the function, pass it in as a parameter and "
         "return the new value instead of changing it."],
    )


@explains("StopIteration")
def _stop_iteration(e: ErrorContext) -> Explanation:
    return Explanation("`next()` was called on an iterator that had no items left.",
                       ["Give `next()` a default: `next(iterator, None)`, or loop with `for`."])


@explains("OverflowError")
def _overflow_error(e: ErrorContext) -> Explanation:
    return Explanation(
        "A number became too large to hold as a decimal number (a `float`), e.g. from "
        "`math.exp` of a big value or `2.0 ** 10000`.",
        ["Check the values going in (print them); whole numbers (`int`) do not overflow: "
         "`2 ** 10000` works."],
    )


@explains("MemoryError")
def _memory_error(e: ErrorContext) -> Explanation:
    return Explanation(
        "Python ran out of memory: your notebook server has a fixed amount, and the code "
        "tried to build something too big (often a list that keeps growing in a loop).",
        ["Check loops that add to a list: do they stop?", "Work on a smaller piece of the data "
         "first.", "*Kernel → Restart Kernel* frees the memory of the old variables."],
    )


@explains("KeyboardInterrupt")
def _keyboard_interrupt(e: ErrorContext) -> Explanation:
    return Explanation(
        "The cell was stopped from outside (the ■ button or *Kernel → Interrupt*) while it "
        "was still running.",
        ["If it ran for a long time, check your loops: a `while` loop needs its condition to "
         "become false at some point (is the variable in the condition changed inside?)."],
    )


@explains("NotImplementedError")
def _not_implemented(e: ErrorContext) -> Explanation:
    placeholder = "raise NotImplementedError" in e.cell_source
    where = ("This cell still contains `raise NotImplementedError()`" if placeholder
             else "The function still contains the placeholder `raise NotImplementedError()`")
    return Explanation(
        f"{where}: the exercise's marker for \"your code goes here\". It raises this error on "
        "purpose until it is replaced.",
        ["Replace the line `raise NotImplementedError()` with your own code, keeping the "
         "function's name and parameters.", "Run the answer cell, then its test cell."],
    )


@explains("UnicodeDecodeError", "UnicodeEncodeError", "UnicodeError")
def _unicode_error(e: ErrorContext) -> Explanation:
    return Explanation(
        "Text could not be converted between characters and bytes: the file (or data) is not "
        "in the encoding Python assumed.",
        ["Say the encoding when opening text files: `open(path, encoding=\"utf-8\")`.",
         "If the file is not text (an image, a zip), open it in binary mode: `open(path, "
         "\"rb\")`."],
    )


@explains("RuntimeError")
def _runtime_error(e: ErrorContext) -> Explanation:
    if "changed size during iteration" in e.evalue:
        return Explanation(
            "A dictionary or set was changed (items added or removed) while a `for` loop went "
            "through it.",
            ["Loop over a copy: `for key in list(my_dict):`, or build a new dictionary."],
        )
    return Explanation("Python stopped with a general run-time error; the message says what "
                       "went wrong.", ["Read the message and the traceback's last lines."])


@explains("JSONDecodeError")
def _json_decode_error(e: ErrorContext) -> Explanation:
    return Explanation("A text given to `json.loads` (or a file to `json.load`) is not valid "
                       "JSON.", ["Print the text: is it empty, or HTML, or cut off?",
                                 "JSON needs double quotes around names and texts."])


@explains("TimeoutError", "ConnectionError", "ConnectionRefusedError", "URLError", "gaierror")
def _network_error(e: ErrorContext) -> Explanation:
    return Explanation(
        "A network connection failed. Notebook servers in this course have no internet "
        "access, so downloads and web requests do not work here.",
        ["Use the data files that come with the course, or ask your instructors."],
    )


@explains("OSError")
def _os_error(e: ErrorContext) -> Explanation:
    return Explanation("The operating system refused a file or system operation.",
                       ["Read the message: it names the file and the reason."])


def _generic(e: ErrorContext) -> Explanation:
    return Explanation(
        f"`{e.ename}` is an error this offline tutor has no explanation for, but every "
        "traceback is read the same way.",
        ["The last line of the traceback names the error and gives a message.",
         "The arrow (`---->`) points at the line that was running; the last frame in your "
         "own code is usually where to look.", "Search the error's name in the Python "
         "documentation, or ask your instructors."],
    )


def explain(error: ErrorOutput, cell_source: str) -> str:
    """The offline explanation of ``error`` (Markdown)."""
    context = ErrorContext(error.ename, error.evalue, error.traceback, cell_source)
    explanation = EXPLAINERS.get(error.ename, _generic)(context)
    number, code = context.line
    heading = f"**{error.ename}**" + (f": {_code(context.message[:200])}"
                                      if context.message else "")
    parts = [heading, f"**What it means.** {explanation.meaning}"]
    if code:
        where = f"line {number} of the cell" if number else "this line"
        parts.append(f"**Where.** It happened on {where}:\n\n```python\n{code}\n```")
    if explanation.checks:
        parts.append("**What to check**\n\n" + "\n".join(f"- {c}" for c in explanation.checks))
    return "\n\n".join(parts)


# -- hints ------------------------------------------------------------------------------------


def _words(text: str) -> set[str]:
    found = set()
    for word in WORD.findall(text.lower().replace("_", " ")):
        if word not in COMMON_WORDS:
            found.add(word[:6])  # a crude stem: "convert", "conversion" meet as "conver"
    return found


# What every released answer cell says, whatever its exercise.
ANSWER_CELL_BOILERPLATE = re.compile(r"#\s*YOUR CODE HERE|raise\s+NotImplementedError\(\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s")


def exercise_text(context: str, limit: int = 1500) -> str:
    """The markdown of the exercise a cell answers: from the last heading before the cell on
    (``## Problem 2 — Initials``; headings inside fenced code do not count), at most its last
    ``limit`` characters. The markdown before an answer cell also holds the problem set's
    introduction and the earlier problems, whose words say nothing about this cell."""
    lines = context.splitlines()
    start, fenced = 0, False
    for number, line in enumerate(lines):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and HEADING.match(line):
            start = number
    return "\n".join(lines[start:])[-limit:]


def ranked_hints(cell_hints: tuple[str, ...], assignment_hints: tuple[str, ...],
                 cell_source: str, context: str) -> list[str]:
    """The cell's own hints first, then the assignment's: those sharing most words with the
    cell itself first (its function's name, docstring, parameters), then most words with its
    exercise's text (:func:`exercise_text`), in course.yml's order otherwise."""
    in_cell = _words(ANSWER_CELL_BOILERPLATE.sub(" ", cell_source))
    in_exercise = _words(exercise_text(context))
    ranked = sorted(enumerate(assignment_hints),
                    key=lambda pair: (-len(_words(pair[1]) & in_cell),
                                      -len(_words(pair[1]) & in_exercise), pair[0]))
    return [*cell_hints, *(hint for _index, hint in ranked if hint not in cell_hints)]


def hint(hints: list[str], already_given: int) -> str:
    """The next of ``hints`` for a learner who already got ``already_given`` of them."""
    if not hints:
        return ("Your instructors have not written hints for this exercise. Re-read the "
                "exercise's text, try your function on a small example of your own and print "
                "what it returns, and run the test cell: its `assert` lines show what is "
                "expected.")
    number = already_given % len(hints)
    more = (" Ask for a hint again to see the next one." if len(hints) > 1 else "")
    return f"**Hint {number + 1} of {len(hints)}** (from your instructors)\n\n{hints[number]}\n\n" \
           f"_{more.strip() or 'That is the only hint for this exercise.'}_"


OFFLINE_CHAT = (
    "The tutor is in offline mode: no AI model is configured for this studio, so it cannot "
    "answer free questions. It can still explain an error (use **Explain this error** on an "
    "error output) and give your instructors' hints (use **Hint** on an answer cell)."
)
