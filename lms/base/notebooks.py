"""Notebooks from a course folder, rendered read-only into a page.

``render_course_notebook`` turns ``STUDIO_COURSES_DIR/<course_slug>/<path>`` into an HTML fragment
with nbconvert's ``basic`` template: no page chrome, no embedded CSS, no JavaScript and nothing
loaded from another host (the page's own stylesheet styles it, Pygments classes included).
Stored outputs are course content, but they may still carry scripts (widgets, JavaScript
outputs, raw HTML): the fragment is cleaned with the studio's one allow-list for notebook markup
(``servicekit.notebook_markup``, which the formgrader uses too), so what reaches the browser is
markup only, and images only as inline ``data:`` URIs.

Rendering costs most of a second (the first one in a process, importing nbconvert, a few), so
results are cached by (file, modification time): editing the notebook on disk shows up at the
next request, an unchanged one is rendered once per machine. Each process keeps the fragments
it showed in memory; a fragment one process rendered is shared with the others, and kept across
restarts, in the ``notebooks`` cache (``CACHES``: files under ``<var>/cache/notebooks``), whose
key also names this renderer (a digest of this module, the markup allow-list it cleans with and
nbconvert's version), so an upgrade that renders or cleans differently renders again.

A path that leaves the course folder, a missing file or a file that is not a notebook renders a
short "notebook not available" message instead of failing the page.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import re
import sys
import threading
from functools import cache, lru_cache
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.cache import caches
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from courses.naming import is_course_slug
from servicekit import notebook_markup
from servicekit.notebook_markup import SCRIPT_MIMETYPES, clean_notebook_html

logger = logging.getLogger(__name__)

NOT_AVAILABLE = "This notebook is not available."
NOT_RENDERABLE = "This notebook could not be displayed: the file is not a valid Jupyter notebook."

_HEADING_TAG = re.compile(r"<(/?)h([1-5])\b", re.IGNORECASE)
SHARED_CACHE = "notebooks"  # the rendered fragments every LMS process on the machine shares


def course_file(course_slug: str, path: str) -> Path | None:
    """The file ``path`` inside the course folder of ``course_slug``, or None if ``path`` is
    absolute, climbs out with ``..``, or resolves (through links) outside the course folder."""
    if not is_course_slug(course_slug) or not path:
        return None
    relative = PurePosixPath(path.replace("\\", "/"))
    if relative.is_absolute() or any(part in {"..", ""} for part in relative.parts):
        return None
    course_dir = (Path(settings.STUDIO_COURSES_DIR) / course_slug).resolve()
    candidate = (course_dir / relative).resolve()
    if not candidate.is_relative_to(course_dir):
        return None
    return candidate


def render_course_notebook(course_slug: str, path: str) -> SafeString:
    """The notebook at ``path`` in the course folder as an HTML fragment safe to put in a page,
    or a short message saying why it cannot be shown."""
    notebook = course_file(course_slug, path)
    if notebook is None or notebook.suffix != ".ipynb":
        logger.warning("Refused notebook path %r in course %r", path, course_slug)
        return _message(NOT_AVAILABLE)
    try:
        mtime_ns = notebook.stat().st_mtime_ns
    except OSError:
        logger.warning("Notebook %s of course %r does not exist", path, course_slug)
        return _message(NOT_AVAILABLE)
    try:
        return _render(str(notebook), mtime_ns)
    except Exception:  # nbformat raises several kinds; a broken file must not break the page
        logger.warning("Could not render notebook %s", notebook, exc_info=True)
        return _message(NOT_RENDERABLE)


def _message(text: str) -> SafeString:
    return format_html(
        '<div class="alert alert-warning notebook-unavailable" role="status">{}</div>', text
    )


_exporter_lock = threading.Lock()


@cache
def _exporter():
    from nbconvert import HTMLExporter  # deferred: nbconvert takes a second to import

    return HTMLExporter(template_name="basic", exclude_anchor_links=True)


@lru_cache(maxsize=64)
def _render(filename: str, mtime_ns: int) -> SafeString:
    """One version of one notebook (the modification time is part of the cache key), from the
    machine's shared cache or rendered now and put there."""
    shared = caches[SHARED_CACHE]
    key = hashlib.sha256(f"{_renderer()}\0{filename}\0{mtime_ns}".encode()).hexdigest()
    html = shared.get(key)
    if html is None:
        html = _render_now(filename)
        try:
            shared.set(key, html)
        except OSError:  # a read-only var folder: every process renders for itself
            logger.warning("Could not keep the rendered notebook %s to share", filename,
                           exc_info=True)
    return mark_safe(html)  # noqa: S308 - cleaned by servicekit's allow-list when rendered


def _render_now(filename: str) -> str:
    import nbformat  # deferred: nbformat (with jsonschema) takes a second to import

    notebook = nbformat.read(filename, as_version=4)
    nbformat.validate(notebook)
    _drop_script_outputs(notebook)
    with _exporter_lock:
        body, _resources = _exporter().from_notebook_node(notebook)
    return _clean(body)


@cache
def _renderer() -> str:
    """What renders and cleans a notebook, as a digest: this module's and the markup allow-list's
    sources and nbconvert's version (a fragment from another renderer is rendered again)."""
    digest = hashlib.sha256(importlib.metadata.version("nbconvert").encode())
    for module in (sys.modules[__name__], notebook_markup):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def _drop_script_outputs(notebook) -> None:
    """Outputs that only a browser running their script could show fall back to their other
    representations (HTML, an image, plain text); widget state goes."""
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for mimetype in [m for m in data if m in SCRIPT_MIMETYPES]:
                del data[mimetype]


def _clean(body: str) -> str:
    body = clean_notebook_html(body)
    # The page title is the page's only <h1>: a notebook's headings move one level down.
    return _HEADING_TAG.sub(lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}", body)


def render_notebook_cells(notebook: dict) -> list[SafeString]:
    """Each cell of ``notebook`` (nbformat's JSON, e.g. a learner's submission from the grader)
    as its own HTML fragment, rendered and cleaned as course notebooks are, so a page can put
    comments beside a cell. A notebook nbformat refuses gives one "could not be displayed"
    message."""
    import json

    try:
        return list(_render_cells(json.dumps(notebook, sort_keys=True)))
    except Exception:  # nbformat raises several kinds; a broken notebook must not break the page
        logger.warning("Could not render a submitted notebook", exc_info=True)
        return [_message(NOT_RENDERABLE)]


@lru_cache(maxsize=32)
def _render_cells(text: str) -> tuple[SafeString, ...]:
    import json

    import nbformat

    data = json.loads(text)
    if data.get("nbformat_minor", 0) >= 5:  # cells have ids since 4.5: a learner's may lack one
        for index, cell in enumerate(data.get("cells") or []):
            if isinstance(cell, dict) and not cell.get("id"):
                cell["id"] = f"cell-{index}"
    # As nbformat reads a file: sources and outputs saved as lists of lines are joined.
    notebook = nbformat.v4.to_notebook(data)
    nbformat.validate(notebook)
    _drop_script_outputs(notebook)
    fragments = []
    for cell in notebook.cells:
        one = nbformat.v4.new_notebook(cells=[cell], metadata=notebook.metadata)
        with _exporter_lock:
            body, _resources = _exporter().from_notebook_node(one)
        fragments.append(mark_safe(_clean(body)))  # noqa: S308 - cleaned by servicekit's allow-list
    return tuple(fragments)
