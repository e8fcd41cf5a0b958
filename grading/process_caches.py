"""What a grader process keeps from one submission to the next, so nbgrader does not redo it.

A worker grades submission after submission in one process, but nbgrader's steps are written
for one CLI run each and rebuild their machinery every time. These rebuilds were most of the
grader's own CPU time per submission that is not nbgrader's own work (profiled with cProfile
over a run of gradings in one process):

- **Gradebook engines.** ``nbgrader.api.Gradebook`` calls SQLAlchemy's ``create_engine`` each
  time it is opened, and one autograde with its feedback opens a dozen (the converter, the
  save-grades, late-penalty and get-grades preprocessors, the result). An engine holds
  SQLAlchemy's compiled-statement cache, so every statement was compiled again each time.
  :func:`share_gradebook_engines` gives nbgrader one engine per database URL in this process.
  ``Gradebook.close()`` still disposes of a PostgreSQL engine, which closes its idle connections
  (a PostgreSQL gradebook then holds no connection between gradings, as before) but keeps the
  cache. A SQLite engine keeps its one idle connection instead: opening and closing a SQLite
  file a dozen times per grading was a sixth of the grader's own CPU time per submission (0.18
  against 0.15 CPU-seconds, measured over runs of eight gradings), and an idle SQLite connection
  holds no lock (the pool rolls back whatever a connection did before it takes it back).
- **Feedback templates.** nbgrader's ``GenerateFeedback`` makes a new ``HTMLExporter``, which
  makes a new Jinja environment that parses and compiles nbconvert's nine HTML templates again.
  :class:`FeedbackHTMLExporter` gives its environments one in-memory Jinja bytecode cache (Jinja's
  own extension point for this); a template whose source changed no longer matches its checksum
  and is compiled again.

- **Gradebook tables.** ``Gradebook`` also calls ``create_all`` each time it is opened, which
  asks the database about each of nbgrader's fourteen tables in a query of its own (a tenth of
  the grader's CPU time per submission, over its dozen opens).
  :func:`check_gradebook_tables_at_once` makes it ask for the table names in one query, and
  create the tables as before only when one is missing.
- **Cell metadata schema.** nbgrader checks each graded cell's metadata against its schema with
  ``jsonschema.validate``, which first checks the schema itself against the JSON Schema
  meta-schema: nine tenths of the work, for a schema that never changes.
  :func:`check_cell_schemas_once` gives nbgrader's metadata validators
  :class:`CheckedSchemas`, whose ``validate`` keeps one checked validator per schema.

- **Course files.** Each grading reads the course's image from ``course.yml`` with PyYAML's
  pure-Python parser, for a file that rarely changes. :data:`COURSE_FILES` keeps the parsed
  course per version of the file (its path, size, inode and change times): an edited file is
  read again.
- **Feedback fragments.** Every learner's feedback page of an assignment holds the same
  instructor cells, and nbconvert highlights each code cell with Pygments and renders each
  Markdown cell with mistune again for each page. :class:`FeedbackHTMLExporter` keeps the HTML
  of each (keyed by everything it is made from) in :data:`FEEDBACK_FRAGMENTS`, a bounded LRU,
  so only a learner's own cells are rendered.

All are process-wide and safe to share between threads; the grader's worker processes are
started with ``spawn``, so nothing here crosses a ``fork``.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import jinja2
import jsonschema
import nbgrader.api
import nbgrader.nbgraderformat.common
import sqlalchemy
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.highlight import Highlight2HTML

from courses.course_file import COURSE_FILE_NAME, CourseSpec, load_course

_engines: dict[tuple[str, tuple[tuple[str, Any], ...]], sqlalchemy.Engine] = {}
_engines_lock = threading.Lock()


def shared_engine(url: Any, **kwargs: Any) -> sqlalchemy.Engine:
    """``sqlalchemy.create_engine``, but the same engine again for the same URL and options.
    A SQLite engine's ``dispose()`` keeps its pooled connection (see the module's docstring)."""
    key = (str(url), tuple(sorted(kwargs.items())))
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = sqlalchemy.create_engine(url, **kwargs)
            if engine.dialect.name == "sqlite":
                engine.dispose = _keep_connections  # type: ignore[method-assign]
        return engine


def _keep_connections(close: bool = True) -> None:
    """``Engine.dispose`` for a shared SQLite engine: nothing to release between gradings."""


def share_gradebook_engines() -> None:
    """Make nbgrader's ``Gradebook`` reuse one engine per database URL (idempotent)."""
    nbgrader.api.create_engine = shared_engine


def create_missing_tables(metadata: sqlalchemy.MetaData) -> Callable[..., None]:
    """``metadata.create_all`` that first asks for the database's table names in one query and
    does nothing more when every table of ``metadata`` is there (``create_all`` itself asks
    about each table in turn, and creates none of them then either)."""
    create_all = metadata.create_all

    def create_all_missing(
        bind: Any, tables: Any = None, checkfirst: bool = True, **kwargs: Any
    ) -> None:
        if checkfirst and tables is None and not kwargs:
            wanted = metadata.tables.values()
            if all(table.schema is None for table in wanted):
                present = set(sqlalchemy.inspect(bind).get_table_names())
                if all(table.name in present for table in wanted):
                    return
        create_all(bind=bind, tables=tables, checkfirst=checkfirst, **kwargs)

    create_all_missing.checks_tables_at_once = True  # type: ignore[attr-defined]
    return create_all_missing


def check_gradebook_tables_at_once() -> None:
    """Make ``Gradebook`` check its tables in one query when it is opened (idempotent)."""
    metadata = nbgrader.api.Base.metadata
    if not getattr(metadata.create_all, "checks_tables_at_once", False):
        metadata.create_all = create_missing_tables(metadata)  # type: ignore[method-assign]


class CourseFiles:
    """``load_course``, parsing each version of a course's ``course.yml`` once per process.

    A version is the file's path, size, inode, and modification and change times in
    nanoseconds: writing the file (or replacing it) makes another. Errors are not kept: a
    broken file raises ``load_course``'s error on every call."""

    def __init__(self) -> None:
        self._courses: dict[str, tuple[tuple[int, ...], CourseSpec]] = {}
        self._lock = threading.Lock()

    def load(self, folder: Path | str) -> CourseSpec:
        path = Path(folder).resolve() / COURSE_FILE_NAME
        try:
            stat = os.stat(path)
        except OSError:
            return load_course(folder)  # raises the error that says what is wrong
        version = (stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns)
        with self._lock:
            known = self._courses.get(str(path))
        if known is not None and known[0] == version:
            return known[1]
        course = load_course(folder)
        with self._lock:
            self._courses[str(path)] = (version, course)
        return course

    def clear(self) -> None:
        with self._lock:
            self._courses.clear()


COURSE_FILES = CourseFiles()


class CheckedSchemas:
    """Stands in for the ``jsonschema`` module where nbgrader validates cell metadata: the same
    ``validate(instance, schema)`` and errors (the best match, a ``ValidationError``), with each
    schema checked against its meta-schema once per process instead of on every call."""

    def __init__(self) -> None:
        self._validators: dict[str, Any] = {}
        self._lock = threading.Lock()

    def validate(self, instance: Any, schema: dict[str, Any]) -> None:
        key = json.dumps(schema, sort_keys=True)
        with self._lock:
            validator = self._validators.get(key)
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = cls(schema)
            with self._lock:
                self._validators[key] = validator
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error


def check_cell_schemas_once() -> None:
    """Make nbgrader's cell metadata validation check its schema once (idempotent)."""
    nbgrader.nbgraderformat.common.jsonschema = CheckedSchemas()


class MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates kept in this process's memory, keyed and checksummed by Jinja."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with self._lock:
            code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = bucket.bytecode_to_string()
        with self._lock:
            self._code[bucket.key] = code

    def clear(self) -> None:
        with self._lock:
            self._code.clear()


TEMPLATE_BYTECODE = MemoryBytecodeCache()


class FragmentCache:
    """A bounded, thread-safe LRU of rendered HTML fragments (strings), by a hashable key."""

    def __init__(self, max_entries: int = 2048) -> None:
        self.max_entries = max_entries
        self._fragments: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> str:
        with self._lock:
            fragment = self._fragments.get(key)
            if fragment is not None:
                self._fragments.move_to_end(key)
                return fragment
        fragment = render()
        with self._lock:
            self._fragments[key] = fragment
            while len(self._fragments) > self.max_entries:
                self._fragments.popitem(last=False)
        return fragment

    def __len__(self) -> int:
        return len(self._fragments)

    def clear(self) -> None:
        with self._lock:
            self._fragments.clear()


FEEDBACK_FRAGMENTS = FragmentCache()


def as_key(value: Any) -> str:
    """A JSON text that is the same for equal metadata, attachments or options."""
    return json.dumps(value, sort_keys=True, default=str)


class CachedHighlight:
    """nbconvert's ``highlight_code`` filter (a ``Highlight2HTML``), its HTML kept in
    :data:`FEEDBACK_FRAGMENTS`. Pygments' output depends on the source, the language (the
    cell's, or the notebook's lexer), the cell's ``magics_language`` and the formatter's
    options; nothing else of the metadata is read."""

    def __init__(self, highlight: Highlight2HTML) -> None:
        self.highlight = highlight

    def __call__(self, source: str, language: str | None = None, metadata: Any = None) -> str:
        magics = as_key(metadata.get("magics_language")) if metadata else None
        key = (
            "highlight", source, language or self.highlight.pygments_lexer, magics,
            as_key(self.highlight.extra_formatter_options),
        )  # fmt: skip
        return FEEDBACK_FRAGMENTS.get_or_render(
            key, lambda: self.highlight(source, language=language, metadata=metadata)
        )


class FeedbackHTMLExporter(HTMLExporter):
    """nbconvert's HTML exporter (configured as ``GenerateFeedback.exporter_class``) whose
    Jinja environments share :data:`TEMPLATE_BYTECODE`, and whose code highlighting and
    Markdown rendering are kept in :data:`FEEDBACK_FRAGMENTS`: the page is the same."""

    def _create_environment(self) -> jinja2.Environment:
        environment = super()._create_environment()
        environment.bytecode_cache = TEMPLATE_BYTECODE
        return environment

    def register_filter(self, name: str, jinja_filter: Any) -> Any:
        if name == "highlight_code" and type(jinja_filter) is Highlight2HTML:
            jinja_filter = CachedHighlight(jinja_filter)
        return super().register_filter(name, jinja_filter)

    @jinja2.pass_context
    def markdown2html(self, context: jinja2.runtime.Context, source: str) -> str:
        """nbconvert's filter, keyed by all it reads: the source, the cell's attachments,
        the exporter's options, and the notebook's folder when images are embedded."""
        cell = context.get("cell", {})
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        key = (
            "markdown", source, as_key(cell.get("attachments", {})), self.embed_images,
            path if self.embed_images else None, self.anchor_link_text,
            self.exclude_anchor_links, as_key(self.lexer_options),
        )  # fmt: skip
        return FEEDBACK_FRAGMENTS.get_or_render(
            key, lambda: HTMLExporter.markdown2html(self, context, source)
        )
