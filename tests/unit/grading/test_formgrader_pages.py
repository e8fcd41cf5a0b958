"""The formgrader's inert rendering, piece by piece, without a server (the running formgrader in
a real browser: tests/security/test_formgrader_inert.py)."""

from __future__ import annotations

import asyncio
import base64
import os
import re

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbgrader.server_extensions.formgrader import handlers as nbgrader_handlers
from tornado import httputil, web
from traitlets.config import Config

from grading import formgrader
from grading.formgrader_pages import (
    NOTHING_RUNS,
    InertExporter,
    InertHeaders,
    OwnScripts,
    event_handler_hashes,
    make_inert,
    page_templates,
)

HOSTILE = "window.__pwned=1"


def submission_page(nb: nbformat.NotebookNode, **resources) -> tuple[str, OwnScripts]:
    own = OwnScripts()
    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [nbgrader_handlers.template_path]
    exporter = InertExporter(own, config=config)
    defaults = {"assignment_id": "ps1", "notebook_id": "ps1", "submission_id": "abc", "index": 0,
                "total": 1, "base_url": "/services/formgrader-python-101", "student": "grace",
                "last_name": None, "first_name": None, "notebook_path": "autograded/grace/ps1"}
    page, _ = exporter.from_notebook_node(nb, {**defaults, **resources})
    return page, own


def hostile_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    drawing = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{HOSTILE}"/>'
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            f'<script>{HOSTILE}</script><img src="x" onerror="{HOSTILE}">'
            f'<a href="javascript:{HOSTILE}">a</a><svg onload="{HOSTILE}"></svg>'
            f'<iframe srcdoc="<script>{HOSTILE}</script>"></iframe><h1 id="statusmessage">t</h1>'
            "\n\n![d](attachment:d.svg)",
            attachments={"d.svg": {"image/svg+xml": base64.b64encode(drawing.encode()).decode()}}),
        nbformat.v4.new_code_cell("x", execution_count=1, outputs=[
            nbformat.v4.new_output("display_data", data={
                "text/html": f'<b>kept</b><script>{HOSTILE}</script>', "text/plain": "p"}),
            nbformat.v4.new_output("display_data", data={"application/javascript": HOSTILE}),
            nbformat.v4.new_output("display_data", data={"image/svg+xml": drawing}),
        ]),
        nbformat.v4.new_raw_cell(f"<i>raw</i><script>{HOSTILE}</script>"),
    ]
    return nb


def test_a_submission_page_keeps_no_learner_script_only_the_formgraders_own():
    page, own = submission_page(hostile_notebook())
    scripts = re.findall(r"<script\b[^>]*>.*?</script\s*>", page, re.DOTALL | re.IGNORECASE)
    assert not [s for s in scripts if HOSTILE in s]
    assert not re.search(r"\son(error|load)=", page.split('id="notebook-container"')[1])
    assert "javascript:" not in page and "<iframe" not in page
    assert "<b>kept</b>" in page and "<i>raw</i>" in page
    assert 'id="learner-statusmessage"' in page  # the page's own id stays its own
    assert "it needs JavaScript (application/javascript)" in page
    # SVG (output and attachment) only as images, where it runs nothing
    assert page.count('src="data:image/svg+xml;base64,') == 2 and "<svg onload" not in page
    assert sum(1 for s in scripts if s in own) >= 10  # nbgrader's own scripts are marked


def test_values_nbgrader_writes_unescaped_are_escaped():
    nb = hostile_notebook()
    nb.cells[1].metadata["nbgrader"] = {"grade_id": '"><img src=x onerror=alert(1)>',
                                        "grade": True, "solution": True, "points": 1}
    nb.cells[1].execution_count = "<img src=x onerror=alert(1)>"
    page, own = submission_page(nb, student='x"</script><script>alert(1)</script>',
                                notebook_id='n";alert(1);"')
    soup = BeautifulSoup(page, features="html.parser")
    handlers = {value for tag in soup.find_all(True) for name, value in tag.attrs.items()
                if name.lower().startswith("on")}
    assert handlers == {"toggle_name(true);", "toggle_name(false);"}  # nbgrader's own only
    assert not soup.find_all("img", src="x")
    assert "</script><script>alert" not in page
    own_inline = [s for s in re.findall(r"<script\b[^>]*>.*?</script>", page, re.DOTALL)
                  if s in own and "notebook_id" in s]
    assert own_inline and 'var notebook_id = "n&quot;;alert(1);&quot;";' in own_inline[0]


def test_script_outputs_are_replaced_by_a_note_and_output_urls_dropped():
    nb = nbformat.v4.new_notebook()
    output = nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "m"}, "text/plain": "w"},
        metadata={"filenames": {"image/png": "/steal"}, "text/html": {"isolated": True}})
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[output]), {"cell_type": "weird",
                                                                   "type": "<script>"}]
    nb.metadata["widgets"] = {"state": {}}
    inert = make_inert(nb)
    (kept, note) = inert.cells[0].outputs
    assert kept.data == {"text/plain": "w"} and "filenames" not in kept.metadata
    assert kept.metadata["text/html"] == {}
    assert "needs JavaScript" in note.data["text/plain"]
    assert inert.cells[1].cell_type == "markdown" and "<script>" not in inert.cells[1].source
    assert "widgets" not in inert.metadata
    assert nb.cells[0].outputs[0].data.get("application/vnd.jupyter.widget-view+json")  # a copy


def transform(own: OwnScripts, body: bytes, content_type: str):
    request = httputil.HTTPServerRequest(
        start_line=httputil.RequestStartLine("GET", "/", "HTTP/1.1"),
        headers=httputil.HTTPHeaders({"Host": "formgrader"}))
    headers = httputil.HTTPHeaders({"Content-Type": content_type, "Etag": '"x"',
                                    "Content-Length": str(len(body))})
    return InertHeaders(request, own=own, handler_hashes=frozenset({"'sha256-abc'"})) \
        .transform_first_chunk(200, headers, body, True)


def test_only_the_formgraders_own_script_elements_get_the_pages_nonce():
    own = OwnScripts()
    mine = '<script src="/static/formgrade.js"></script>'
    own.remember(mine)
    body = f'{mine}<script src="/static/formgrade.js" ></script><script>{HOSTILE}</script>'
    _, headers, chunk = transform(own, body.encode(), "text/html; charset=UTF-8")
    (nonce,) = re.findall(r"'nonce-([^']+)'", headers["Content-Security-Policy"])
    assert chunk.decode().count(f'nonce="{nonce}"') == 1
    assert chunk.decode().startswith(f'<script nonce="{nonce}" src="/static/formgrade.js">')
    (scripts,) = [d for d in headers["Content-Security-Policy"].split("; ")
                  if d.startswith("script-src ")]
    assert scripts == f"script-src 'nonce-{nonce}' 'unsafe-hashes' 'sha256-abc'"
    assert headers["Content-Length"] == str(len(chunk)) and "Etag" not in headers
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("content_type", ["application/json", "application/octet-stream",
                                          "text/css", "application/javascript"])
def test_every_other_response_gets_a_policy_that_runs_nothing(content_type):
    _, headers, chunk = transform(OwnScripts(), b"<script>x</script>", content_type)
    assert headers["Content-Security-Policy"] == NOTHING_RUNS
    assert chunk == b"<script>x</script>"


def test_nbgraders_pages_are_escaped_and_their_scripts_marked():
    own = OwnScripts()
    page = page_templates(own).get_template("manage_submissions.tpl").render(
        base_url="/services/formgrader-python-101", assignment_id='x";alert(1);"')
    assert 'var assignment_id = "x&#34;;alert(1);&#34;";' in page
    scripts = re.findall(r"<script\b[^>]*>.*?</script>", page, re.DOTALL)
    assert scripts and all(script in own for script in scripts)


def test_nbgraders_onclick_handlers_are_the_only_hashed_ones():
    hashes = event_handler_hashes(nbgrader_handlers.template_path)
    # toggle_name(true), toggle_name(false), toggleAllNames(), createAssignmentModal(),
    # createStudentModal(): nbgrader's constant handlers, nothing a value could change
    assert len(hashes) == 5


def test_contents_refuse_dot_segments_private_names_and_links(tmp_path):
    for folder in ("source", "autograded/grace/ps1"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "gradebook.db").write_bytes(b"SQLite format 3")
    (tmp_path / "autograded/grace/ps1/answer.txt").write_text("42")
    os.symlink(tmp_path / "gradebook.db", tmp_path / "autograded/grace/ps1/leak.db")
    os.symlink("/etc", tmp_path / "autograded/grace/ps1/etc")
    contents = formgrader.ReadOnlyContents(root_dir=str(tmp_path))
    assert asyncio.run(contents.get("autograded/grace/ps1/answer.txt"))["content"] == "42"
    for path in ("source/../gradebook.db", "./gradebook.db", "GRADEBOOK.DB", "Gradebook.db",
                 "source//../gradebook.db", "autograded/grace/ps1/leak.db",
                 "autograded/grace/ps1/etc/passwd", "source/nbgrader_config.py",
                 "autograded/grace/ps1/manifests"):
        assert not contents.shown(path), path
        with pytest.raises(web.HTTPError) as refused:
            asyncio.run(contents.get(path))
        assert refused.value.status_code == 404, path
    listed = asyncio.run(contents.get("autograded/grace/ps1"))
    assert [entry["name"] for entry in listed["content"]] == ["answer.txt"]
    assert contents.files_handler_class.__name__ == "FileDownloads"
