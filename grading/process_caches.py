"""What a grader process keeps from one submission to the next, so nbgrader does not redo it.

A worker grades submission after submission in one process, but nbgrader's steps are written
for one CLI run each and rebuild their machinery every time. Two of those rebuilds were a third
of the grader's own CPU time per submission (profiled with cProfile over a run of gradings):

- **Gradebook engines.** ``nbgrader.api.Gradebook`` calls SQLAlchemy's ``create_engine`` each
  time it is opened, and one autograde with its feedback opens a dozen (the converter, the
  save-grades, late-penalty and get-grades preprocessors, the result). An engine holds
  SQLAlchemy's compiled-statement cache, so every statement was compiled again each time.
  :func:`share_gradebook_engines` gives nbgrader one engine per database URL in this process.
  ``Gradebook.close()`` still disposes of it, which closes its idle connections (a PostgreSQL
  gradebook then holds no connection between gradings, as before) but keeps the cache.
- **Feedback templates.** nbgrader's ``GenerateFeedback`` makes a new ``HTMLExporter``, which
  makes a new Jinja environment that parses and compiles nbconvert's nine HTML templates again.
  :class:`FeedbackHTMLExporter` gives its environments one in-memory Jinja bytecode cache (Jinja's
  own extension point for this); a template whose source changed no longer matches its checksum
  and is compiled again.

- **Cell metadata schema.** nbgrader checks each graded cell's metadata against its schema with
  ``jsonschema.validate``, which first checks the schema itself against the JSON Schema
  meta-schema: nine tenths of the work, for a schema that never changes.
  :func:`check_cell_schemas_once` gives nbgrader's metadata validators
  :class:`CheckedSchemas`, whose ``validate`` keeps one checked validator per schema.

All are process-wide and safe to share between threads; the grader's worker processes are
started with ``spawn``, so nothing here crosses a ``fork``.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import jinja2
import jsonschema
import nbgrader.api
import nbgrader.nbgraderformat.common
import sqlalchemy
from nbconvert.exporters import HTMLExporter

_engines: dict[tuple[str, tuple[tuple[str, Any], ...]], sqlalchemy.Engine] = {}
_engines_lock = threading.Lock()


def shared_engine(url: Any, **kwargs: Any) -> sqlalchemy.Engine:
    """``sqlalchemy.create_engine``, but the same engine again for the same URL and options."""
    key = (str(url), tuple(sorted(kwargs.items())))
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = sqlalchemy.create_engine(url, **kwargs)
        return engine


def share_gradebook_engines() -> None:
    """Make nbgrader's ``Gradebook`` reuse one engine per database URL (idempotent)."""
    nbgrader.api.create_engine = shared_engine


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


class FeedbackHTMLExporter(HTMLExporter):
    """nbconvert's HTML exporter whose Jinja environments share :data:`TEMPLATE_BYTECODE`
    (configured as ``GenerateFeedback.exporter_class``)."""

    def _create_environment(self) -> jinja2.Environment:
        environment = super()._create_environment()
        environment.bytecode_cache = TEMPLATE_BYTECODE
        return environment
