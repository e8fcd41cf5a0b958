"""The formgrader's pages show learners' content inertly.

An instructor opens a learner's submission in nbgrader's formgrader, on a page that can grade
(its XSRF token, the instructor's hub session). Everything a learner wrote (markdown, the
outputs their code printed in the sandbox, files they uploaded) is hostile, so nothing of it
may run there. Four layers, each enough for what it covers, together whatever the page's
origin:

- **Sanitised rendering** (:class:`InertExporter`, the formgrader's nbconvert exporter): the
  notebook is rendered with nbgrader's ``formgrade`` template, but markdown (cells, markdown
  outputs, their attachments), HTML outputs and raw cells pass through the studio's one
  allow-list for notebook markup (``servicekit.notebook_markup``, the LMS's), SVG outputs are
  shown as images (``<img src="data:image/svg+xml;...">``, where SVG runs no script), and
  JavaScript and widget outputs are dropped with a note saying so (:func:`make_inert`). The
  fields of the notebook that nbgrader's template writes out unescaped (execution counts,
  nbgrader's grade ids, output metadata naming files) are reduced to what they may be.
- **A Content-Security-Policy on every response** (:class:`InertHeaders`, a tornado output
  transform, so it covers every handler: the formgrader's pages, its static files, the
  Jupyter server's API and error pages, the hub's OAuth redirects). A page's scripts run only
  if they carry the response's nonce, and only the formgrader's own ``<script>`` elements get
  it: :class:`OwnScripts` remembers each element nbgrader's templates wrote (the templates'
  sources are marked when they are loaded, :class:`OwnScriptsLoader`), and the transform gives
  the nonce to exactly those. nbgrader's three ``onclick`` attributes (hiding and showing
  learners' names) are allowed by their hashes (``'unsafe-hashes'``: those exact strings and
  nothing else). No ``'unsafe-inline'``, no other host, no ``'self'`` for scripts. Every other
  response gets a policy that runs nothing at all (``default-src 'none'; sandbox``), and every
  response ``X-Content-Type-Options: nosniff``.
- **Uploaded files are downloads** (:class:`SubmissionDownloads` for nbgrader's links into a
  submission, :class:`FileDownloads` for the Jupyter server's ``/files/``): served as
  ``application/octet-stream`` with ``Content-Disposition: attachment``, so an ``.html`` or
  ``.svg`` a learner uploaded is never rendered by the browser, and never from outside the
  submission (no ``..``, no symbolic link).
- **Escaped page templates** (:func:`page_templates`): nbgrader renders its own pages with a
  Jinja environment that escapes nothing, and some of its values come from the URL (an
  assignment's name in ``manage_submissions/<name>``), which a learner's link could choose.
  The formgrader's environment escapes them.

nbgrader's landing page (``/formgrader?path=<folder>``) would load and execute the
``nbgrader_config.py`` of any folder it is given, a learner's submission included, on a click
of a link: :class:`FormgraderLanding` refuses any folder (the formgrader grades its course).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import os
import re
import secrets
from collections import OrderedDict
from functools import partial
from pathlib import Path
from typing import Any

import nbformat
from bs4 import BeautifulSoup
from jinja2 import BaseLoader, Environment, FileSystemLoader, pass_context
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.files.handlers import FilesHandler
from markupsafe import Markup
from nbconvert.exporters import HTMLExporter
from nbgrader.api import MissingEntry
from nbgrader.server_extensions.formgrader import handlers as nbgrader_handlers
from nbgrader.server_extensions.formgrader.base import check_notebook_dir, check_xsrf
from tornado import escape, httputil, web

from servicekit.notebook_markup import SCRIPT_MIMETYPES, clean_notebook_html

LEARNER_ID_PREFIX = "learner-"
"""Put before every ``id`` in a learner's markup: it cannot take one of the page's own ids."""

DROPPED_SCRIPT = (
    "[The formgrader does not show this output: it needs JavaScript ({mimetypes}), and no "
    "learner's script runs in the formgrader. Its other representations, if any, are shown "
    "above.]"
)
UNKNOWN_CELL = "[A cell of an unknown type ({cell_type!r}) is not shown.]"
ONE_COURSE = (
    "The formgrader grades this course only: it opens no other folder (nbgrader would read "
    "that folder's nbgrader_config.py)."
)
NO_NBCONVERT = (
    "The formgrader does not convert notebooks: open a submission from \"Manual Grading\", "
    "where learners' notebooks are shown without their scripts."
)
CELL_TYPES = ("markdown", "code", "raw")
OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")
# nbgrader's template writes a graded cell's id unescaped into id="..." attributes.
GRADE_ID = re.compile(r"[A-Za-z0-9_.\-]+")


# -- the formgrader's own scripts ------------------------------------------------------------------

_SCRIPT_ELEMENT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=\s*\"([^\"{}]*)\"", re.IGNORECASE)
OWN_SCRIPT_FILTER = "formgrader_own_script"


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class OwnScripts:
    """The ``<script>`` elements the formgrader's own templates wrote, by digest: the only
    ones a page's nonce is given to.

    An element is remembered as its template rendered it (its values included), so a learner's
    markup can match one only by being the very same element, the formgrader's own code. The
    last ``size`` are kept; a page is rendered and sent in one go (nbgrader's handlers do not
    wait in between), so its own elements are always among them.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def remember(self, element: str) -> Markup:
        """The Jinja filter around the templates' ``<script>`` elements (see
        :class:`OwnScriptsLoader`); returns the element unchanged. It is remembered as written
        and as BeautifulSoup writes it out again (nbconvert's HTML exporter passes the whole
        page through BeautifulSoup, which orders attributes its own way)."""
        element = str(element)
        for form in (element, str(BeautifulSoup(element, features="html.parser"))):
            key = _digest(form)
            self._seen[key] = None
            self._seen.move_to_end(key)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return Markup(element)  # noqa: S704 - the template's own markup, already rendered

    def __contains__(self, element: str) -> bool:
        return _digest(element) in self._seen

    def give_nonce(self, page: str, nonce: str) -> tuple[str, int]:
        """``page`` with ``nonce`` on each of the formgrader's own ``<script>`` elements, and
        how many got it."""
        given = 0

        def sign(match: re.Match[str]) -> str:
            nonlocal given
            element = match.group(0)
            if element not in self:
                return element
            given += 1
            return f'<script nonce="{nonce}"{element[len("<script"):]}'

        return _SCRIPT_ELEMENT.sub(sign, page), given


class OwnScriptsLoader(BaseLoader):
    """A Jinja loader that marks the ``<script>`` elements of the templates under ``trusted``
    (nbgrader's formgrader templates) as the formgrader's own, by wrapping each in the
    :meth:`OwnScripts.remember` filter; templates from elsewhere (nbconvert's, which write
    learners' JavaScript outputs into ``<script>`` elements) are loaded as they are."""

    def __init__(self, loader: BaseLoader, trusted: list[str]) -> None:
        self.loader = loader
        self.trusted = [os.path.realpath(folder) for folder in trusted]

    def get_source(self, environment: Environment, template: str):
        source, filename, uptodate = self.loader.get_source(environment, template)
        if filename and self.is_trusted(filename):
            source = _SCRIPT_ELEMENT.sub(
                lambda m: f"{{% filter {OWN_SCRIPT_FILTER} %}}{m.group(0)}{{% endfilter %}}",
                source,
            )
        return source, filename, uptodate

    def is_trusted(self, filename: str) -> bool:
        real = os.path.realpath(filename)
        return any(os.path.commonpath([real, folder]) == folder for folder in self.trusted)

    def list_templates(self) -> list[str]:
        return self.loader.list_templates()


def event_handler_hashes(folder: str) -> frozenset[str]:
    """CSP hashes of the inline event handlers (``onclick="..."``) in the templates under
    ``folder``: constant strings of nbgrader's, allowed with ``'unsafe-hashes'``."""
    found = set()
    for path in Path(folder).rglob("*"):
        if path.is_file() and path.suffix in {".tpl", ".j2", ".html"}:
            for value in _EVENT_HANDLER.findall(path.read_text(encoding="utf-8")):
                found.add("'sha256-" + base64.b64encode(_digest(value)).decode() + "'")
    return frozenset(found)


def page_templates(own: OwnScripts) -> Environment:
    """The Jinja environment of nbgrader's formgrader pages (``nbgrader_jinja2_env``), with
    autoescaping (nbgrader's has none) and its scripts marked as the formgrader's own."""
    folder = nbgrader_handlers.template_path
    environment = Environment(
        loader=OwnScriptsLoader(FileSystemLoader([folder]), [folder]), autoescape=True
    )
    environment.filters[OWN_SCRIPT_FILTER] = own.remember
    return environment


# -- the Content-Security-Policy -------------------------------------------------------------------

NOTHING_RUNS = "; ".join([
    "default-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    "sandbox",
])


def page_policy(nonce: str, handler_hashes: frozenset[str]) -> str:
    """The policy of a formgrader page: its own scripts (by nonce) and nbgrader's
    ``onclick`` handlers (by hash), styles and images from itself or inline, requests only
    to itself, no frames, objects, fonts or forms elsewhere."""
    scripts = [f"'nonce-{nonce}'"]
    if handler_hashes:
        scripts += ["'unsafe-hashes'", *sorted(handler_hashes)]
    return "; ".join([
        "default-src 'none'",
        "script-src " + " ".join(scripts),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-src 'none'",
        "frame-ancestors 'self'",
    ])


class InertHeaders:
    """A tornado output transform (``Application.transforms``): every response of the
    formgrader's server gets ``X-Content-Type-Options: nosniff`` and a
    Content-Security-Policy, whichever handler wrote it (nbgrader's, the Jupyter server's,
    tornado's static files and errors, JupyterHub's). An HTML page sent whole gets
    :func:`page_policy` with a fresh nonce, given to the formgrader's own scripts only (and it
    is not cached: a cached copy would carry an older nonce); any other response gets
    :data:`NOTHING_RUNS`."""

    def __init__(self, request: httputil.HTTPServerRequest, *, own: OwnScripts,
                 handler_hashes: frozenset[str]) -> None:
        self.own = own
        self.handler_hashes = handler_hashes

    def transform_first_chunk(self, status_code: int, headers: httputil.HTTPHeaders,
                              chunk: bytes, finishing: bool):
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Content-Security-Policy"] = NOTHING_RUNS
        if not (finishing and headers.get("Content-Type", "").startswith("text/html")):
            return status_code, headers, chunk
        try:
            page = chunk.decode("utf-8")
        except UnicodeDecodeError:
            return status_code, headers, chunk
        nonce = secrets.token_urlsafe(18)
        page, given = self.own.give_nonce(page, nonce)
        headers["Content-Security-Policy"] = page_policy(nonce, self.handler_hashes)
        if given:
            chunk = page.encode("utf-8")
            headers["Content-Length"] = str(len(chunk))
            headers["Cache-Control"] = "no-store"
            headers.pop("Etag", None)
        return status_code, headers, chunk

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        return chunk


def inert_headers(own: OwnScripts, handler_hashes: frozenset[str]):
    """The transform as tornado builds one per request (``transform(request)``)."""
    return partial(InertHeaders, own=own, handler_hashes=handler_hashes)


# -- rendering a submission ------------------------------------------------------------------------


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _note(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={"text/plain": text})


def _inert_outputs(outputs: list) -> list:
    kept = []
    for output in outputs:
        if output.get("output_type") not in OUTPUT_TYPES:
            continue
        if "execution_count" in output:
            output["execution_count"] = _count(output.get("execution_count"))
        output.pop("svg_filename", None)  # nbconvert would use it as an image's URL
        metadata = output.get("metadata")
        if isinstance(metadata, dict):
            metadata.pop("filenames", None)  # the same, for PNG and JPEG
            for value in metadata.values():
                if isinstance(value, dict):
                    value.pop("isolated", None)  # an iframe of the output: shown inline instead
        data = output.get("data")
        dropped = sorted(m for m in (data or {}) if m in SCRIPT_MIMETYPES)
        for mimetype in dropped:
            del data[mimetype]
        if data or not dropped:
            kept.append(output)
        if dropped:
            kept.append(_note(DROPPED_SCRIPT.format(mimetypes=", ".join(dropped))))
    return kept


def make_inert(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of a learner's notebook with nothing that could run in a browser, and none of
    the values nbgrader's template writes unescaped but what they may be. The markup itself
    is cleaned while rendering (:class:`InertExporter`)."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    cells = []
    for cell in nb.cells:
        cell_type = cell.get("cell_type")
        if cell_type not in CELL_TYPES:
            cells.append(nbformat.v4.new_markdown_cell(
                html.escape(UNKNOWN_CELL.format(cell_type=str(cell_type)[:40]))))
            continue
        nbgrader = cell.get("metadata", {}).get("nbgrader")
        if isinstance(nbgrader, dict) and "grade_id" in nbgrader:
            grade_id = nbgrader["grade_id"]
            if not (isinstance(grade_id, str) and GRADE_ID.fullmatch(grade_id)):
                nbgrader["grade_id"] = html.escape(str(grade_id), quote=True)
        if cell_type == "code":
            cell["execution_count"] = _count(cell.get("execution_count"))
            cell["outputs"] = _inert_outputs(list(cell.get("outputs", [])))
        cells.append(cell)
    nb.cells = cells
    return nb


# The values nbgrader's submission page puts into its template (unescaped) from the gradebook.
_RESOURCE_TEXTS = ("assignment_id", "notebook_id", "submission_id", "student", "last_name",
                   "first_name", "notebook_path", "base_url")


class InertExporter(HTMLExporter):
    """nbgrader's exporter for the submission page (``nbgrader_exporter``), rendering
    inertly: :func:`make_inert` first, then nbgrader's ``formgrade`` template with every
    piece of learner markup cleaned by the notebook allow-list (nbconvert's ``clean_html``
    filter is that cleaning here, and ``sanitize_html`` has the template use it for HTML and
    markdown outputs and show no JavaScript or widget), markdown cells included, and the
    template's own scripts marked for the page's nonce."""

    def __init__(self, own: OwnScripts, **kwargs: Any) -> None:
        self.own = own
        super().__init__(**kwargs)
        self.sanitize_html = True
        self.exclude_anchor_links = True  # anchors would point at ids that are prefixed
        self.skip_svg_encoding = False  # SVG only as an <img>, where it runs no script

    def clean(self, markup: Any) -> str:
        text = markup.decode() if isinstance(markup, bytes) else str(markup)
        return clean_notebook_html(text, id_prefix=LEARNER_ID_PREFIX)

    def default_filters(self):
        for name, function in super().default_filters():
            if name == "clean_html":
                yield name, self.clean
            elif name == "markdown2html":
                yield name, self.inert_markdown2html
            else:
                yield name, function

    @pass_context
    def inert_markdown2html(self, context, source):
        """nbconvert's markdown filter (attachments become ``data:`` URIs), then cleaned."""
        return self.clean(self.markdown2html(context, source))

    def _create_environment(self):
        environment = super()._create_environment()
        environment.loader = OwnScriptsLoader(environment.loader,
                                              [nbgrader_handlers.template_path])
        environment.filters[OWN_SCRIPT_FILTER] = self.own.remember
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        resources = dict(resources or {})
        for key in _RESOURCE_TEXTS:
            if isinstance(resources.get(key), str):
                resources[key] = html.escape(resources[key], quote=True)
        return super().from_notebook_node(make_inert(nb), resources, **kw)


# -- handlers --------------------------------------------------------------------------------------


class FormgraderLanding(nbgrader_handlers.FormgraderHandler):
    """nbgrader's landing page without ``?path=``: nbgrader would open another folder as the
    course, executing its ``nbgrader_config.py`` (a learner's upload could be one), and turn
    on reading the working directory's configuration for every later request."""

    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    def get(self) -> None:
        if self.get_argument("path", ""):
            raise web.HTTPError(403, ONE_COURSE)
        self.redirect(f"{self.base_url}/formgrader/manage_assignments")


def _as_download(handler: web.RequestHandler, name: str) -> None:
    handler.set_header("Content-Type", "application/octet-stream")
    handler.set_header("Content-Disposition",
                       f"attachment; filename*=utf-8''{escape.url_escape(name, plus=False)}")
    handler.set_header("X-Content-Type-Options", "nosniff")


class SubmissionDownloads(nbgrader_handlers.SubmissionFilesHandler):
    """nbgrader's links into a submission's folder (``submissions/<id>/<file>``: a learner's
    uploaded files, relative links of their notebook), as downloads only, and only of a
    regular file inside that submission's autograded folder, reached without ``..`` or a
    symbolic link."""

    submission_dir: str | None = None

    def parse_url_path(self, url_path: str) -> str:
        submission_id, _, path = url_path.lstrip("/").partition("/")
        parts = path.split("/")
        if not path or any(part in {"", ".", ".."} or "\\" in part for part in parts):
            raise web.HTTPError(404)
        try:
            submission = self.gradebook.find_submission_notebook_by_id(submission_id)
        except MissingEntry:
            raise web.HTTPError(404, "No such submission.") from None
        self.submission_dir = os.path.abspath(self.coursedir.format_path(
            self.coursedir.autograded_directory, submission.student.id,
            submission.assignment.assignment.name))
        return os.path.join(self.submission_dir, *parts)

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        folder = self.submission_dir
        real = os.path.realpath(absolute_path)
        if (folder is None or real != os.path.abspath(absolute_path)
                or os.path.commonpath([real, os.path.realpath(folder)]) != os.path.realpath(folder)
                or not os.path.isfile(real)):
            raise web.HTTPError(404)
        return super().validate_absolute_path(root, absolute_path)

    def get_content_type(self) -> str:
        return "application/octet-stream"

    def set_extra_headers(self, path: str) -> None:
        _as_download(self, os.path.basename(path))


class FileDownloads(FilesHandler):
    """The Jupyter server's ``/files/<path>``, through the contents manager (so only what it
    shows: ``ReadOnlyContents``), every file as a download."""

    @web.authenticated
    @authorized
    async def get(self, path: str, include_body: bool = True) -> None:
        self.check_xsrf_cookie()
        contents = self.contents_manager
        path = path.strip("/")
        if await ensure_async(contents.is_hidden(path)):
            raise web.HTTPError(404)
        model = await ensure_async(contents.get(path, type="file", content=include_body))
        _as_download(self, path.rsplit("/", 1)[-1])
        if include_body:
            content = model["content"]
            self.write(base64.b64decode(content) if model["format"] == "base64"
                       else content.encode("utf-8"))

    def compute_etag(self) -> None:
        """No Etag (tornado's static one reads a file path this handler never sets)."""
        return None


class NoNbconvert(JupyterHandler):
    """The Jupyter server's nbconvert pages would render a learner's notebook with its
    scripts: refused."""

    @web.authenticated
    def get(self, *_args: Any) -> None:
        raise web.HTTPError(403, NO_NBCONVERT)

    post = get
