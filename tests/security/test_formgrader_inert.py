"""A learner's submission opened by an instructor in the formgrader runs nothing (issue 14).

The formgrader (``python -m grading formgrader python-101``) runs as the hub's managed service
``formgrader-python-101``, as ``make up`` runs it, behind a real JupyterHub and its proxy
(:func:`tests.support.service_hub.service_hub`; no LMS and no Docker: the formgrader meets
neither). grace's submission of ps1-basics is autograded by nbgrader's real pipeline with a
sandbox that runs nothing but reports the outputs her code could have displayed
(:class:`tests.support.sandboxes.ChosenOutputs`). It carries script everywhere a learner can
put it: markdown cells (``<script>``, ``<img onerror>``, ``javascript:`` links, ``<svg onload>``,
``<iframe srcdoc>``, CSS ``expression()`` and ``url()``, an attachment), a raw cell, outputs
(``text/html``, ``application/javascript``, ``image/svg+xml``, ``text/markdown``, a widget, an
"isolated" HTML output, an image whose metadata names a URL), uploaded ``.html`` and ``.svg``
files, and an ``nbgrader_config.py``.

Each payload, if it ran, would add its number to ``window.__pwned`` (of the page, or of the
page that framed it) and ask :func:`recorder`, a local HTTP server, for ``/hit/<number>``; a
fetch of a stylesheet or image would ask it too. ada, the course's instructor, signs in to the
hub in Debian's Chromium and opens the submission, follows its links and its files: the flag
stays unset and the recorder gets nothing, while the formgrader's own scripts do their work
(the grades load, the names toggle).

The headers are checked on every kind of route (pages, static files, the API, downloads, 404s)
and the course directory's private files are asked for under every route that serves files,
with ``..``, URL-encoding, a symbolic link planted in the submission, and letter case.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import http.server
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from grading.settings import Settings
from hub.services import formgrader_role, formgrader_service
from tests.support.http_servers import serve_in_thread, stop_serving
from tests.support.service_hub import ROOT, ServiceHub, free_port, service_hub

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SLUG = "python-101"
ASSIGNMENT = "ps1-basics"
FORMGRADER = f"services/formgrader-{SLUG}"
GROUPS = {f"nbgrader-{SLUG}": ["grace"], f"formgrade-{SLUG}": ["ada"]}
START_SECONDS = 120
PAGE_SETTLE_MS = 1500  # after the grades loaded: time for a late onload or a timer to fire
PRIVATE = ("gradebook.db", "nbgrader_config.json", "studio_course.json",
           f"manifests/{ASSIGNMENT}.json")


# -- the recorder: what a payload that ran would have asked for -----------------------------------


class Recorder(http.server.ThreadingHTTPServer):
    hits: list[str]


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    def _record(self) -> None:
        self.server.hits.append(f"{self.command} {self.path}")
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()

    do_GET = do_POST = do_HEAD = do_OPTIONS = _record

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    server = Recorder(("127.0.0.1", 0), RecordingHandler)
    server.hits = []
    serve_in_thread(server)
    yield server
    stop_serving(server)


# -- the payloads ---------------------------------------------------------------------------------


def js(number: int, port: int, scope: str = "window") -> str:
    """What a payload runs: a page-level flag and a request to the recorder."""
    return (f"{scope}.__pwned=({scope}.__pwned||[]).concat({number});"
            f"fetch('http://127.0.0.1:{port}/hit/{number}',{{mode:'no-cors'}})")


def svg(number: int, port: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js(number, port)}">'
            f'<script>{js(number + 1, port)}</script><circle r="5"/></svg>')


def markdown_payloads(port: int) -> list[str]:
    hit = f"http://127.0.0.1:{port}/hit"
    return [
        f"## Script\n\n<script>{js(1, port)}</script>",
        f'<img src="x" onerror="{js(2, port)}"> and an image from elsewhere: '
        f'<img src="{hit}/3">',
        f'[a javascript: link](javascript:{js(4, port)}) and '
        f'<a href="javascript:{js(5, port)}">click me</a>',
        f'<svg onload="{js(6, port)}"><circle r="5"/></svg>',
        f'<iframe srcdoc="<script>{js(7, port, "parent")}</script>"></iframe>',
        f'<div style="width: expression({js(8, port)}); background: url({hit}/9)">css</div>'
        f"<style>@import url({hit}/10); body {{ background: url({hit}/11) }}</style>",
        f'<object data="{hit}/12"></object><embed src="{hit}/13">'
        f'<form action="{hit}/14"><button id="send">send</button></form>',
        "An attachment: ![drawing](attachment:drawing.svg)",
        '<a href="evil.html">my essay</a>, <a href="evil.svg">my drawing</a>',
        # nbgrader would open this folder as a course and run its nbgrader_config.py
        f'<a href="/{FORMGRADER}/formgrader?path=PLACEHOLDER">the other course</a>',
    ]


def output_payloads(port: int) -> list[dict]:
    hit = f"http://127.0.0.1:{port}/hit"
    display = {"output_type": "display_data", "metadata": {}}
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    return [
        {**display, "data": {"text/html": f"<b>bold</b><script>{js(20, port)}</script>"
                                          f'<img src="x" onerror="{js(21, port)}">',
                             "text/plain": "html"}},
        {**display, "data": {"application/javascript": js(22, port)}},
        {**display, "data": {"image/svg+xml": svg(23, port)}},
        {**display, "data": {"text/markdown": f'<img src="x" onerror="{js(25, port)}">'}},
        {**display, "data": {"application/vnd.jupyter.widget-view+json":
                             {"model_id": "abc", "version_major": 2, "version_minor": 0},
                             "text/plain": "a widget"}},
        {**display, "data": {"text/html": f"<script>{js(26, port)}</script>"},
         "metadata": {"text/html": {"isolated": True}}},
        {**display, "data": {"image/png": png},
         "metadata": {"filenames": {"image/png": f"{hit}/27"}}},
    ]


def raw_payload(port: int) -> str:
    return f"<i>raw</i><script>{js(30, port)}</script>"


# -- the hub, the formgrader and grace's submission --------------------------------------------


@dataclass
class Formgrader:
    hub: ServiceHub
    direct_url: str  # the formgrader's own port, behind the proxy
    course_dir: Path
    submission_id: str
    executed_marker: Path  # what grace's nbgrader_config.py would write if run

    def call(self, user: str, path: str, direct: bool = False, **kwargs) -> requests.Response:
        base = f"{self.direct_url}/{FORMGRADER}" if direct else f"{self.hub.url}/{FORMGRADER}"
        headers = {"Authorization": f"token {self.hub.token(user)}"}
        return requests.get(f"{base}/{path}", headers=headers, timeout=60,
                            allow_redirects=False, **kwargs)

    def raw(self, user: str, path: str, direct: bool = False) -> tuple[int, bytes]:
        """GET ``path`` exactly as written (no client normalises its ``..`` or escapes)."""
        url = urlsplit(self.direct_url if direct else self.hub.url)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        try:
            connection.request("GET", f"/{FORMGRADER}/{path}",
                               headers={"Authorization": f"token {self.hub.token(user)}"})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


def hostile_upload(folder: Path, released: Path, port: int, path_link: str) -> Path:
    """grace's assignment folder: the released notebook with her script-carrying markdown
    and raw cells, and her uploaded files."""
    upload = folder / "grace-upload"
    upload.mkdir()
    nb = json.loads((released / f"{ASSIGNMENT}.ipynb").read_text())
    drawing = base64.b64encode(svg(40, port).encode()).decode()
    extra = []
    for index, source in enumerate(markdown_payloads(port)):
        cell = {"cell_type": "markdown", "id": f"hostile-{index}", "metadata": {},
                "source": source.replace("PLACEHOLDER", path_link)}
        if "attachment:" in source:
            cell["attachments"] = {"drawing.svg": {"image/svg+xml": drawing}}
        extra.append(cell)
    extra.append({"cell_type": "raw", "id": "hostile-raw", "metadata": {},
                  "source": raw_payload(port)})
    nb["cells"] = extra + nb["cells"]
    (upload / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(nb))
    (upload / "evil.html").write_text(f"<html><body><script>{js(50, port)}</script></body></html>")
    (upload / "evil.svg").write_text(svg(51, port))
    return upload


@pytest.fixture(scope="module")
def formgrader(tmp_path_factory, recorder) -> Iterator[Formgrader]:
    from grading.autograde import autograde
    from grading.release import release
    from tests.support.sandboxes import ChosenOutputs

    folder = tmp_path_factory.mktemp("formgrader")
    var = folder / "var"
    settings = Settings.from_env({"STUDIO_VAR_DIR": str(var),
                                  "STUDIO_COURSES_DIR": str(ROOT / "courses")})
    port = free_port()
    service = formgrader_service(SLUG, f"http://127.0.0.1:{port}", {
        "STUDIO_VAR_DIR": str(var), "STUDIO_COURSES_DIR": str(ROOT / "courses"),
        "PYTHONPATH": str(ROOT),
    })
    service["cwd"] = str(ROOT)  # `python -m grading` from this checkout
    # The hub stops if a managed service does not answer in time (30 s by default), which a
    # formgrader starting on a loaded machine can miss.
    service["timeout"] = START_SECONDS
    with service_hub(folder, [], GROUPS, [formgrader_role(SLUG)],
                     managed_services=[service]) as hub:
        deadline = time.monotonic() + START_SECONDS
        direct = f"http://127.0.0.1:{port}"
        fg = Formgrader(hub, direct, settings.nbgrader_course_dir(SLUG), "",
                        folder / "nbgrader-config-ran")
        while fg.call("ada", "formgrader/api/status").status_code != 200:
            assert time.monotonic() < deadline, (folder / "hub.log").read_text()[-4000:]
            time.sleep(0.5)
        release(fg.course_dir, ASSIGNMENT)
        graded = fg.course_dir / "autograded" / "grace" / ASSIGNMENT
        upload = hostile_upload(folder, fg.course_dir / "release" / ASSIGNMENT,
                                recorder.server_address[1], str(graded))
        (upload / "nbgrader_config.py").write_text(
            f"open({str(fg.executed_marker)!r}, 'w').write('ran')\n")
        sandbox = ChosenOutputs(pool_size=0)
        sandbox.printed = {"ps1-celsius-answer": output_payloads(recorder.server_address[1])}
        result = autograde(fg.course_dir, ASSIGNMENT, "grace", upload,
                           submitted_at=dt.datetime.now(dt.UTC), sandbox=sandbox)
        assert result.status == "graded", result
        # Links a submission could hold (the grader copies none, nbgrader might): to the
        # gradebook, and out of the course.
        (graded / "leak.db").symlink_to(fg.course_dir / "gradebook.db")
        (graded / "passwd").symlink_to("/etc/passwd")
        notebooks = fg.call("ada", f"formgrader/api/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}")
        (submitted,) = [n for n in notebooks.json() if n["student"] == "grace"]
        fg.submission_id = submitted["id"]
        yield fg


@pytest.fixture
def nothing_ran(recorder, formgrader):
    """Checked after the test: no payload asked the recorder for anything, and grace's
    nbgrader_config.py never ran."""
    recorder.hits.clear()
    yield
    time.sleep(0.5)  # a request a payload made just before the page closed
    assert recorder.hits == []
    assert not formgrader.executed_marker.exists()


# -- in a real browser ----------------------------------------------------------------------------


def sign_in(context, hub: ServiceHub, username: str):
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login?next=%2Fhub%2Fhome")  # home: no server of her own starts
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "any")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(re.compile(r".*/hub/home$"))
    return page


def flags(page) -> list:
    """``__pwned`` of the page and of every frame in it."""
    found = []
    for frame in page.frames:
        try:
            value = frame.evaluate("() => window.__pwned || null")
        except Exception:  # a frame a policy made opaque has nothing to read: nothing ran there
            value = None
        if value:
            found.append((frame.url, value))
    return found


def test_an_instructor_opening_a_hostile_submission_runs_none_of_its_scripts(
    context, formgrader, nothing_ran
):
    page = sign_in(context, formgrader.hub, "ada")
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    with page.expect_response(re.compile(r".*/formgrader/api/grades\?.*")) as grades:
        page.goto(f"{formgrader.hub.url}/{FORMGRADER}/formgrader/submissions/"
                  f"{formgrader.submission_id}/")
    assert grades.value.status == 200
    page.wait_for_function("() => window.formgrader && window.formgrader.grades.loaded")
    page.wait_for_timeout(PAGE_SETTLE_MS)
    # The formgrader's own scripts ran: the grades loaded, its onclick handlers work.
    assert page.evaluate("() => typeof window.toggle_name") == "function"
    page.click("span.glyphicon-eye-open.name-hidden")
    assert page.is_visible("a.name-shown")
    # What grace wrote is shown, as markup only; her JavaScript output as a note.
    body = page.inner_text("#notebook-container")
    assert "css" in body and "bold" in body and "raw" in body
    assert "does not show this output: it needs JavaScript" in body
    # Her links go nowhere that runs: javascript: is gone, the others follow below.
    for text in ("click me", "send"):
        if page.locator(f"text={text}").count():
            page.locator(f"text={text}").first.click()
    page.wait_for_timeout(PAGE_SETTLE_MS)
    assert flags(page) == []
    # The policy blocked only her script and the template's CDN MathJax, never its own.
    assert not [v for v in violations if "/formgrader/static/" in v], violations


def test_a_learners_uploaded_files_are_downloads_in_the_browser(context, formgrader, nothing_ran):
    page = sign_in(context, formgrader.hub, "ada")
    base = f"{formgrader.hub.url}/{FORMGRADER}"
    for url in (f"{base}/formgrader/submissions/{formgrader.submission_id}/evil.html",
                f"{base}/formgrader/submissions/{formgrader.submission_id}/evil.svg",
                f"{base}/files/autograded/grace/{ASSIGNMENT}/evil.html",
                f"{base}/files/autograded/grace/{ASSIGNMENT}/evil.svg"):
        with page.expect_download() as download:
            page.evaluate("url => { window.location.href = url }", url)
        assert download.value.suggested_filename in {"evil.html", "evil.svg"}
    assert flags(page) == []


def test_nbgraders_landing_page_opens_no_other_folder(context, formgrader, nothing_ran):
    page = sign_in(context, formgrader.hub, "ada")
    graded = formgrader.course_dir / "autograded" / "grace" / ASSIGNMENT
    response = page.goto(f"{formgrader.hub.url}/{FORMGRADER}/formgrader?path={graded}")
    assert response.status == 403
    assert formgrader.call("ada", "formgrader/api/status").status_code == 200


# -- headers --------------------------------------------------------------------------------------


def script_sources(policy: str) -> list[str]:
    for directive in policy.split(";"):
        name, *values = directive.split()
        if name == "script-src":
            return values
    return []


@pytest.mark.parametrize("path", [
    "formgrader/manage_assignments",
    "formgrader/gradebook",
    f"formgrader/manage_submissions/{ASSIGNMENT}",
    f"formgrader/gradebook/{ASSIGNMENT}/{ASSIGNMENT}",
    "formgrader/manage_students",
    "SUBMISSION/",
    "formgrader/static/js/formgrade.js",
    "formgrader/static/node_modules/jquery/dist/jquery.min.js",
    "formgrader/static/css/nbgrader.css",
    "formgrader/static/no-such-file.js",
    "formgrader/api/status",
    "formgrader/api/assignments",
    "api/contents",
    "api/status",
    "formgrader/no-such-page",
    "no-such-page",
    "SUBMISSION/evil.html",
    f"files/autograded/grace/{ASSIGNMENT}/evil.svg",
    "nbconvert/html/source/ps1-basics/ps1-basics.ipynb",
])
def test_every_route_has_a_policy_that_runs_no_inline_or_foreign_script(formgrader, path):
    path = path.replace("SUBMISSION", f"formgrader/submissions/{formgrader.submission_id}")
    for direct in (False, True):
        response = formgrader.call("ada", path, direct=direct)
        assert response.status_code < 500, (path, response.status_code)
        policy = response.headers.get("Content-Security-Policy", "")
        assert response.headers.get("X-Content-Type-Options") == "nosniff", path
        assert "default-src 'none'" in policy, (path, policy)
        sources = script_sources(policy)
        assert "'unsafe-inline'" not in sources and "'self'" not in sources, (path, policy)
        assert not [s for s in sources if ":" in s.strip("'") and not s.startswith("'sha256-")
                    and not s.startswith("'nonce-")], (path, policy)
        if not response.headers.get("Content-Type", "").startswith("text/html"):
            assert "sandbox" in policy and not sources, (path, policy)


def test_only_the_formgraders_own_scripts_carry_the_pages_nonce(formgrader):
    page = formgrader.call("ada", f"formgrader/submissions/{formgrader.submission_id}/")
    assert page.status_code == 200
    (nonce,) = re.findall(r"'nonce-([^']+)'", page.headers["Content-Security-Policy"])
    signed = re.findall(rf'<script nonce="{re.escape(nonce)}"[^>]*>(.*?)</script>', page.text,
                        re.DOTALL)
    assert len(signed) >= 10  # nbgrader's libraries, its formgrade scripts and inline setup
    assert not [body for body in signed if "__pwned" in body]
    assert not re.search(r"<script[^>]*>[^<]*__pwned", page.text)  # none of hers is left
    assert page.headers.get("Cache-Control") == "no-store"  # a cached copy has an old nonce
    again = formgrader.call("ada", f"formgrader/submissions/{formgrader.submission_id}/")
    assert re.findall(r"'nonce-([^']+)'", again.headers["Content-Security-Policy"]) != [nonce]


@pytest.mark.parametrize("name", ["evil.html", "evil.svg"])
def test_uploaded_files_are_served_as_attachments(formgrader, name):
    for path in (f"formgrader/submissions/{formgrader.submission_id}/{name}",
                 f"files/autograded/grace/{ASSIGNMENT}/{name}"):
        response = formgrader.call("ada", path)
        assert response.status_code == 200, (path, response.text[:200])
        assert response.headers["Content-Disposition"].startswith("attachment"), path
        assert response.headers["Content-Type"] == "application/octet-stream", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert "__pwned" in response.text  # the file as uploaded, only not rendered


def test_the_formgrader_converts_no_notebook(formgrader):
    response = formgrader.call("ada", f"nbconvert/html/autograded/grace/{ASSIGNMENT}/"
                                      f"{ASSIGNMENT}.ipynb")
    assert response.status_code == 403
    assert "__pwned" not in response.text


# -- the course directory's private files ---------------------------------------------------------


def private_paths(submission_id: str) -> list[str]:
    """Every way asked for: each route that serves files, each trick."""
    names = []
    for private in PRIVATE:
        names += [
            private,
            f"source/../{private}",
            f"source/%2e%2e/{private}",
            f"source%2f..%2f{private}",
            f"./{private}",
            f"source/./../{private}",
            f"autograded/grace/{ASSIGNMENT}/../../../{private}",
            f"autograded/grace/{ASSIGNMENT}/%2E%2E/%2E%2E/%2E%2E/{private}",
            private.upper(),
            private.capitalize(),
        ]
    names += [f"autograded/grace/{ASSIGNMENT}/leak.db", f"autograded/grace/{ASSIGNMENT}/passwd"]
    paths = []
    for route in ("api/contents/", "files/", "view/", "nbconvert/html/", "nbconvert/script/",
                  "edit/", "tree/", "notebooks/", "formgrader/static/", "static/",
                  "api/contents/source/../", "formgrader/../files/"):
        paths += [route + name for name in names]
    within = f"formgrader/submissions/{submission_id}/"
    paths += [within + name for name in (
        "leak.db", "passwd", "../../../gradebook.db", "%2e%2e/%2e%2e/%2e%2e/gradebook.db",
        "..%2f..%2f..%2fgradebook.db", "../../../nbgrader_config.json", "//etc/passwd",
        f"../../../manifests/{ASSIGNMENT}.json", "./../../../studio_course.json",
    )]
    return paths


def test_the_course_directorys_private_files_are_served_under_no_route(formgrader):
    secrets = [(formgrader.course_dir / private).read_bytes()[:48] for private in PRIVATE]
    secrets += [Path("/etc/passwd").read_bytes()[:32], b'"db_url"', b"SQLite format 3"]
    served = []
    for path in private_paths(formgrader.submission_id):
        for direct in (False, True):
            status, body = formgrader.raw("ada", path, direct=direct)
            if 200 <= status < 300 or any(secret in body for secret in secrets):
                served.append((path, direct, status))
    assert served == []


def test_a_submissions_own_files_are_still_served(formgrader):
    listed = formgrader.call("ada", f"api/contents/autograded/grace/{ASSIGNMENT}")
    assert listed.status_code == 200
    names = {entry["name"] for entry in listed.json()["content"]}
    assert {f"{ASSIGNMENT}.ipynb", "evil.html", "evil.svg"} <= names
    assert not {"leak.db", "passwd"} & names  # links are neither listed nor followed
    root = formgrader.call("ada", "api/contents")
    assert {entry["name"] for entry in root.json()["content"]} <= {
        "source", "release", "submitted", "autograded", "feedback"}


def test_the_learners_nbgrader_config_is_never_executed(formgrader):
    graded = formgrader.course_dir / "autograded" / "grace" / ASSIGNMENT
    assert (graded / "nbgrader_config.py").is_file()  # she did upload one
    for path in (f"formgrader?path={graded}", f"formgrader/?path={graded}",
                 f"formgrader?path={graded}/"):
        assert formgrader.call("ada", path).status_code == 403
    assert formgrader.call("ada", "formgrader").status_code == 302
    assert not formgrader.executed_marker.exists()

