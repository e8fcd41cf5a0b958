"""The solution-leak guard: no reply shows a learner the solution of a graded cell.

The course's nbgrader source notebooks mark each solution region (``### BEGIN SOLUTION`` …
``### END SOLUTION``). Every reply is checked against every region of the course before the
learner sees it, while it streams:

- **Lines, normalised.** Text is cut into tokens (names, numbers, string literals, operators);
  a solution line matches a reply when its tokens appear in a row anywhere in the reply, in a
  code block, inline code or prose alike, whatever the spacing. A code line also matches with
  its names replaced (``ID``), so renaming the variables does not get the solution through;
  names after a dot, keywords and built-ins are kept, and only lines with something besides
  names (a literal, a keyword, an attribute) are compared that way. Lines too short to give
  anything away (``else:``, ``return result``) are never compared.
- **A region leaks** when a reply holds at least half of its comparable lines (at least one).
  Lines the learner wrote themselves (the cell they sent) do not count: showing them their own
  code reveals nothing.
- **Streaming.** Text is released as it arrives except a hold-back: the shortest tail of two
  or more tokens (or a string literal) that could still grow into a solution line (its tokens
  are the start of one, the last perhaps cut short by the chunk). So a line split over several
  chunks is never shown beyond its first name or keyword, and prose passes at once: a lone
  last word is not held, which would delay every reply's first token by a chunk. When a region
  leaks the reply is cut there: what was held back is never released, and the caller replaces
  the rest with a refusal.

This is a check of what is shown, not a proof: a reply can still describe a solution in words.
The system prompt (``tutor.prompts``) asks the model not to; this guard is the backstop.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

KEEP_OPEN = 2  # the last tokens of a streaming text that what follows may still change
LEAK_FRACTION = 0.5  # of a region's comparable lines: that many shown is a leak
MIN_EXACT_TOKENS = 4
MIN_EXACT_CHARS = 24  # or fewer tokens, one a long literal
MIN_ABSTRACT_TOKENS = 5
MIN_PROSE_TOKENS = 6
NAME = "ID"

TOKEN = re.compile(
    r"""
      (?P<string>
        (?<!\w)[rRbBuUfF]{0,2}"(?:[^"\\\n]|\\.)*"?    # "text" (perhaps cut off by the chunk)
      | (?<!\w)[rRbBuUfF]{0,2}'(?:[^'\\\n]|\\.)*'?    # 'text' (an apostrophe in a word is not)
      )
    | [^\W\d]\w*                       # a name or keyword
    | \d+(?:\.\d+)?                    # a number
    | \*\*=?|//=?|==|!=|<=|>=|->|:=|<<=?|>>=?|[-+*/%&|^@]=   # operators of two characters
    | [^\w\s`]                         # any other symbol (backticks are markdown, not code)
    """,
    re.VERBOSE,
)
KEPT_NAMES = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    exact: str
    """The token, lower-cased."""
    abstract: str
    """``ID`` for a name the code chose; the token itself otherwise."""
    is_name: bool
    is_string: bool = False


def _string(raw: str) -> str:
    """A string literal with its quotes made the same (``'a'`` and ``"a"`` are one token)."""
    quote = len(raw) - len(raw.lstrip("rRbBuUfF"))
    prefix, body = raw[:quote].lower(), raw[quote + 1 :]
    if body.endswith(raw[quote]):
        return f'{prefix}"{body[:-1]}"'
    return f'{prefix}"{body}'  # cut off by the chunk: no closing quote yet


def tokenize(text: str, start: int = 0, previous: str = "") -> list[Token]:
    """The tokens of ``text`` from ``start`` on (offsets into ``text``; what comes before
    ``start`` still counts for the look-behinds); ``previous``: the token before ``start``."""
    tokens: list[Token] = []
    for match in TOKEN.finditer(text, start):
        raw = match.group()
        if match.group("string") is not None:
            exact = _string(raw).lower()
            tokens.append(Token(match.start(), match.end(), exact, exact, False, True))
            previous = raw
            continue
        is_name = raw[0].isalpha() or raw[0] == "_"
        chosen = is_name and raw not in KEPT_NAMES and previous != "."
        tokens.append(Token(match.start(), match.end(), raw.lower(),
                            NAME if chosen else raw.lower(), is_name))
        previous = raw
    return tokens


def _anchors(token: str) -> bool:
    """A literal, a built-in or an attribute: something a line with its names replaced still
    says (``if ID > ID :`` says nothing; ``for ID in ID . split ( ) :`` does)."""
    if token[0].isdigit() or token[-1:] in "\"'" or '"' in token:
        return True
    return token.isidentifier() and token != NAME and not keyword.iskeyword(token)


def _strip_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (a ``#`` inside a string is kept)."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:index]
    return line


@dataclass(frozen=True)
class SolutionLine:
    text: str
    exact: tuple[str, ...] | None
    abstract: tuple[str, ...] | None


def solution_line(line: str, code: bool) -> SolutionLine | None:
    """The comparable forms of one solution line; None when it is too short to matter."""
    tokens = tokenize(_strip_comment(line) if code else line)
    exact = tuple(t.exact for t in tokens)
    if not code:
        return SolutionLine(line.strip(), exact, None) if len(exact) >= MIN_PROSE_TOKENS else None
    abstract = tuple(t.abstract for t in tokens)
    anchored = any(_anchors(a) for a in abstract)
    telling = len(exact) >= MIN_EXACT_TOKENS or (len(exact) >= 2 and len("".join(exact)) >=
                                                 MIN_EXACT_CHARS)
    exact_form = exact if telling else None
    abstract_form = abstract if anchored and len(abstract) >= MIN_ABSTRACT_TOKENS else None
    if exact_form is None and abstract_form is None:
        return None
    return SolutionLine(line.strip(), exact_form, abstract_form)


@dataclass(frozen=True)
class SolutionRegion:
    """One ``BEGIN SOLUTION`` … ``END SOLUTION`` block of a source notebook's cell."""

    assignment: str
    cell_id: str
    lines: tuple[SolutionLine, ...]

    @property
    def needed(self) -> int:
        """How many of its lines a reply must show to leak the region."""
        return max(1, math.ceil(len(self.lines) * LEAK_FRACTION))


def region(assignment: str, cell_id: str, lines: Iterable[str], code: bool) -> SolutionRegion:
    forms = [form for line in lines if (form := solution_line(line, code)) is not None]
    return SolutionRegion(assignment, cell_id, tuple(forms))


@dataclass(frozen=True)
class Leak:
    region: SolutionRegion
    lines_shown: int


class SolutionIndex:
    """Every solution region of a course, indexed by the first token of each line's forms."""

    def __init__(self, regions: Iterable[SolutionRegion]) -> None:
        self.regions = tuple(r for r in regions if r.lines)
        self._forms: dict[str, list[tuple[tuple[str, ...], bool, SolutionRegion, int]]] = {}
        self._pairs: set[tuple[str, str]] = set()
        """The first two tokens of every form: most places in a reply start none of them."""
        self.longest = 0
        for r in self.regions:
            for number, line in enumerate(r.lines):
                for form, abstract in ((line.exact, False), (line.abstract, True)):
                    if form:
                        self._forms.setdefault(form[0], []).append((form, abstract, r, number))
                        self._pairs.add(form[:2])
                        self.longest = max(self.longest, len(form))

    def __bool__(self) -> bool:
        return bool(self.regions)

    def forms_starting(self, token: Token):
        """The forms whose first token is ``token`` (as it is, or with its name replaced)."""
        yield from self._forms.get(token.exact, ())
        if token.abstract != token.exact:
            yield from (f for f in self._forms.get(token.abstract, ()) if f[1])

    def may_start_here(self, first: Token, second: Token) -> bool:
        """Whether some form starts with these two (complete) tokens."""
        pairs = self._pairs
        return (first.exact, second.exact) in pairs or (first.abstract, second.abstract) in pairs

    def forms_continuing(self, partial: Token):
        """The forms whose first token may still become ``partial`` once its chunk goes on."""
        for first, forms in self._forms.items():
            if first.startswith(partial.exact):
                yield from forms
        if partial.is_name:
            yield from (f for f in self._forms.get(NAME, ()) if f[1])

    def guard(self, learner_code: str = "") -> ReplyGuard:
        return ReplyGuard(self, learner_code)

    def leak_in(self, text: str, learner_code: str = "") -> Leak | None:
        """The region ``text`` leaks, if any (the whole text at once)."""
        guard = self.guard(learner_code)
        guard.feed(text)
        guard.finish()
        return guard.leak


def _matches(tokens: list[Token], start: int, form: tuple[str, ...], abstract: bool) -> bool:
    """Whether ``tokens`` from ``start`` on are ``form`` (the caller checked the length)."""
    for offset, want in enumerate(form):
        token = tokens[start + offset]
        if (token.abstract if abstract else token.exact) != want:
            return False
    return True


def _prefix(tail: list[Token], form: tuple[str, ...], abstract: bool, open_end: bool) -> bool:
    """Whether ``tail`` could still grow into ``form``: its tokens are the start of ``form``,
    the last one perhaps only the start of a token (``open_end``: the text may continue it)."""
    if len(tail) > len(form):
        return False
    for position, token in enumerate(tail):
        want = form[position]
        have = token.abstract if abstract else token.exact
        if have == want:
            continue
        last = position == len(tail) - 1
        if not (last and open_end):
            return False
        if abstract and want == NAME:
            if not token.is_name:
                return False
        elif not want.startswith(token.exact):
            return False
    return True


@dataclass
class ReplyGuard:
    """Checks one streaming reply: :meth:`feed` each piece, show what it returns; :meth:`finish`
    at the end. Once :attr:`leak` is set nothing more is released."""

    index: SolutionIndex
    learner_code: str = ""
    text: str = ""
    released: int = 0
    leak: Leak | None = None
    _tokens_so_far: list[Token] = field(default_factory=list)
    _settled: int = 0
    """How many of :attr:`_tokens_so_far` no text to come can change."""
    _shown: dict[SolutionRegion, set[int]] = field(default_factory=dict)
    _own: frozenset[tuple[str, ...]] = frozenset()
    _scanned: int = 0

    def __post_init__(self) -> None:
        own: set[tuple[str, ...]] = set()
        for line in self.learner_code.splitlines():
            form = solution_line(line, code=True)
            if form:
                own.update(f for f in (form.exact, form.abstract) if f)
        self._own = frozenset(own)

    @property
    def released_text(self) -> str:
        return self.text[: self.released]

    def feed(self, piece: str) -> str:
        """Add ``piece`` of the reply; the text that may be shown now ('' if none)."""
        if self.leak is not None or not piece:
            return ""
        self.text += piece
        if not self.index:
            return self._release(len(self.text))
        tokens = self._tokens()
        self._look_for_leaks(tokens)
        if self.leak is not None:
            return ""
        return self._release(self._hold_back_from(tokens))

    def finish(self) -> str:
        """The reply is complete: the rest, unless it leaks."""
        if self.leak is not None:
            return ""
        if self.index:
            self._look_for_leaks(self._tokens())
            if self.leak is not None:
                return ""
        return self._release(len(self.text))

    # -- internals --------------------------------------------------------------------------

    def _learners_own(self, line: SolutionLine) -> bool:
        """The learner sent this line (perhaps with other names): it reveals nothing."""
        return line.exact in self._own or line.abstract in self._own

    def _release(self, upto: int) -> str:
        if upto <= self.released:
            return ""
        out = self.text[self.released : upto]
        self.released = upto
        return out

    def _tokens(self) -> list[Token]:
        """All tokens of the text so far. More text can only change the last token or two
        (a name, number or string cut by the chunk; an escape at the end of a string), so the
        text is cut up again from there only: each piece costs its own length, not the
        reply's."""
        tokens = self._tokens_so_far
        last = tokens[self._settled - 1] if self._settled else None
        start = last.end if last else 0
        previous = self.text[last.start : last.end] if last else ""
        fresh = tokenize(self.text, start, previous)
        del tokens[self._settled :]
        tokens.extend(fresh)
        self._settled = max(self._settled, len(tokens) - KEEP_OPEN)
        return tokens

    def _look_for_leaks(self, tokens: list[Token]) -> None:
        # Matches ending within the tokens settled at the last look were found then.
        checked = self._scanned
        count = len(tokens)
        for i in range(max(0, checked - self.index.longest + 1), count - 1):
            if not self.index.may_start_here(tokens[i], tokens[i + 1]):
                continue
            for form, abstract, region, number in self.index.forms_starting(tokens[i]):
                end = i + len(form)
                if end <= checked or end > count or not _matches(tokens, i, form, abstract):
                    continue
                if self._learners_own(region.lines[number]):
                    continue
                shown = self._shown.setdefault(region, set())
                shown.add(number)
                if len(shown) >= region.needed:
                    self.leak = Leak(region, len(shown))
                    return
        self._scanned = self._settled

    def _hold_back_from(self, tokens: list[Token]) -> int:
        """Where the held-back tail begins (the end of the text when nothing is held)."""
        if not tokens:
            return len(self.text)
        open_end = not self.text[-1].isspace() and tokens[-1].end == len(self.text)
        count = len(tokens)
        for i in range(max(0, count - self.index.longest), count):
            if i == count - 1 and not tokens[i].is_string:
                break  # one name, keyword or number alone gives nothing away: show it now
            second_complete = i + 1 < count - 1 or (i + 1 == count - 1 and not open_end)
            if second_complete and not self.index.may_start_here(tokens[i], tokens[i + 1]):
                continue
            tail = tokens[i:]
            partial = open_end and i == count - 1
            candidates = (
                self.index.forms_continuing(tail[0]) if partial
                else self.index.forms_starting(tail[0])
            )
            for form, abstract, region, number in candidates:
                if self._learners_own(region.lines[number]):
                    continue
                if _prefix(tail, form, abstract, open_end):
                    return tokens[i].start
        return len(self.text)
