"""The tutor in a learner's JupyterLab (issue 5), in Debian's Chromium: a failing cell, "Explain
this error", the explanation streamed into the tutor panel; "Hint" only on answer cells.

Where the lab comes from:

- ``own lab``: a real ``jupyter lab`` from the repo's venv with the extension as the image
  installs it (the built labextension and the server extension), its ``PLS_TUTOR_URL``
  pointing at a fake tutor service started by the test, which streams its reply and records
  each request, so the test also checks what the browser sent (mode, course, assignment,
  nbgrader cell id, the error).
- ``studio``: the same journey against the whole studio of ``tests/e2e/conftest.py`` (the hub
  runs the tutor service and sets ``PLS_TUTOR_URL`` in learners' servers): a learner of its
  own signs in through the LMS, their container of the learner image, the real tutor in
  offline mode (no model key in the tests).
- a studio of this module's own whose tutor has a key and asks a local OpenAI-compatible
  endpoint (``tests/support/fake_openai.py``), as ``make up`` with ``OPENAI_API_KEY`` and
  ``OPENAI_BASE_URL`` runs it: the panel says which model answers, the model's replies stream
  in, the endpoint got the requests, and a reply that would show a solution is held back.

In both, the assignment notebook is written into the learner's work folder through the
server's contents API, at ``python-101/ps1-basics/ps1-basics.ipynb`` (where nbgrader fetches it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Locator, Page, expect

from tests.support.assignments import solutions
from tests.support.fake_openai import API_KEY, MODEL, FakeOpenAI
from tests.support.http_servers import serve_in_thread, stop_serving
from tests.support.lab_pages import KERNEL_IDLE, SPAWN_MS
from tests.support.studio import ROOT, Studio, own_studio

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COURSE = "python-101"
ASSIGNMENT = "ps1-basics"
NOTEBOOK = f"{COURSE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
ANSWER_ID = "ps1-celsius-answer"
ANSWER_SOURCE = "def celsius_to_fahrenheit(celsius):\n    return celsius * 9 / 5 + 32"
FAILING_SOURCE = "celsius_to_fahrenheit(temperature)"
LAB_MS = 120_000


def cell(cell_type: str, source: str, nbgrader: dict | None = None) -> dict:
    metadata = {"nbgrader": {"schema_version": 3, **nbgrader}} if nbgrader else {}
    extra = {"outputs": [], "execution_count": None} if cell_type == "code" else {}
    return {"cell_type": cell_type, "metadata": metadata, "source": source, **extra}


# A problem set as a learner has it after fetching: instructions, an answer cell, its tests,
# and a scratch cell of the learner's that fails with a NameError.
ASSIGNMENT_NOTEBOOK = {
    "cells": [
        cell("markdown", "# Problem set 1 — Python basics",
             {"grade": False, "grade_id": "ps1-instructions", "locked": True,
              "solution": False, "task": False}),
        cell("markdown", "## Problem 1 — Temperature conversion\n\nWrite "
                         "`celsius_to_fahrenheit(celsius)`."),
        cell("code", ANSWER_SOURCE,
             {"grade": False, "grade_id": ANSWER_ID, "locked": False, "solution": True,
              "task": False}),
        cell("code", "assert celsius_to_fahrenheit(0) == 32",
             {"grade": True, "grade_id": "ps1-celsius-tests", "locked": True, "points": 3,
              "solution": False, "task": False}),
        cell("code", FAILING_SOURCE),
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


# -- a fake tutor service (own lab) ------------------------------------------------------------


@dataclass
class FakeTutorService:
    """Answers the tutor's API like the service in offline mode; records every request."""

    url: str = ""
    asked: list[dict] = field(default_factory=list)


def fake_tutor_handler(fake: FakeTutorService):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def answer_json(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.startswith("/services/tutor/api/status"):
                self.answer_json({"policy": "full", "offline": True, "model": None,
                                  "quota": {"used": len(fake.asked), "limit": 100},
                                  "rate": {"per_minute": 6}, "message": ""})
            else:
                self.answer_json({"exchanges": []})

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.asked.append(request)
            if request["mode"] == "explain":
                pieces = ["**NameError** means Python met a name ",
                          "it does not know yet: `temperature` ", "was never assigned."]
            else:
                pieces = ["What does the formula ", "need from `celsius`?"]
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            events = [{"type": "notice", "text": "Offline mode: no AI model is configured."},
                      *({"type": "delta", "text": piece} for piece in pieces),
                      {"type": "done", "exchange_id": len(fake.asked), "offline": True,
                       "refused": False}]
            for event in events:
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()

    return Handler


# -- where the lab runs ------------------------------------------------------------------------


@dataclass
class LearnerLab:
    """A learner's JupyterLab: its URL (``.../lab``), how to open it signed in, and the fake
    tutor's recorded requests (None against the real tutor)."""

    lab_url: str
    asked: list[dict] | None

    def api(self, path: str) -> str:
        return self.lab_url.rsplit("/lab", 1)[0] + f"/api/{path}"


def build_frontend() -> Path:
    """The extension's labextension, built like images/build builds it (cached)."""
    spec = importlib.util.spec_from_file_location("images_build", ROOT / "images" / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    folder = ROOT / "extensions" / "pls_tutor"
    log = ROOT / "var" / "e2e" / "frontend-build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    module.build_frontend(folder, module.Progress(), log)
    return folder / "pls_tutor" / "labextension"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def own_lab(tmp_path_factory) -> Iterator[tuple[LearnerLab, str]]:
    """``jupyter lab`` from the venv with the tutor extension and a fake tutor; yields the lab
    and its token."""
    fake = FakeTutorService()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake_tutor_handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/services/tutor/"
    serve_in_thread(server)

    base = tmp_path_factory.mktemp("tutor-lab")
    labextensions = base / "share" / "jupyter" / "labextensions"
    labextensions.mkdir(parents=True)
    (labextensions / "pls-tutor").symlink_to(build_frontend())
    config = base / "config"
    (config / "labconfig").mkdir(parents=True)
    # The learner image's page config: no news pop-up, no nbgrader instructor tools.
    (config / "labconfig" / "page_config.json").write_text(
        (ROOT / "images" / "notebook" / "labconfig" / "page_config.json").read_text())
    # ... and its server config (jupyter-ai's persona manager offers the Tutor alone).
    server_config = json.loads(
        (ROOT / "images" / "notebook" / "jupyter_server_config.json").read_text())
    server_config["ServerApp"] = {"jpserver_extensions": {"pls_tutor": True}}
    (config / "jupyter_server_config.json").write_text(json.dumps(server_config))
    work = base / "work"
    work.mkdir()
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "HOME": str(base), "JUPYTER_CONFIG_DIR": str(config),
           "JUPYTER_PATH": str(base / "share" / "jupyter"),
           "PYTHONPATH": str(ROOT / "extensions" / "pls_tutor"),
           "PLS_TUTOR_URL": fake.url, "JUPYTERHUB_API_TOKEN": "the-learner-servers-token"}
    log = (base / "lab.log").open("wb")
    lab = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "jupyter"), "lab", "--no-browser", f"--port={port}",
         "--ip=127.0.0.1", "--allow-root", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={work}"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):  # bounded: about a minute on a loaded machine
            try:
                if requests.get(f"{url}/api/status", params={"token": token}, timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert lab.poll() is None, (base / "lab.log").read_text()
            time.sleep(0.25)
        yield LearnerLab(f"{url}/lab", fake.asked), token
    finally:
        lab.terminate()
        lab.wait(timeout=30)
        stop_serving(server)
        log.close()


ENROLL = """
from lms.accounts.models import User
from lms.courses.models import CoursePage
from lms.courses.services import enroll
user = User.objects.create_user({name!r}, {name!r} + "@e2e.example", {password!r})
enroll(user, CoursePage.objects.get(slug={course!r}))
print("enrolled")
"""


def studio_lab(request, page: Page) -> LearnerLab:
    """A learner of this test's own in the whole studio (which runs the tutor), signed in
    through the LMS, their server started."""
    return signed_in_lab(request.getfixturevalue("studio"), page)


def signed_in_lab(studio: Studio, page: Page) -> LearnerLab:
    """A new learner of ``studio``, enrolled in the course, signed in through the LMS, their
    server started."""
    learner = f"e2e-tutor-{secrets.token_hex(3)}"
    studio.passwords[learner] = secrets.token_urlsafe(12)
    assert "enrolled" in studio.lms_shell(ENROLL.format(
        name=learner, password=studio.passwords[learner], course=COURSE))
    page.goto(f"{studio.lms_url}/login/")
    page.get_by_label("Username").fill(learner)
    page.get_by_label("Password").fill(studio.passwords[learner])
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.goto(f"{studio.hub_url}/hub/user-redirect/lab")
    page.wait_for_url(re.compile(rf".*/user/{learner}/lab"), timeout=SPAWN_MS)
    return LearnerLab(studio.server_url(learner, "lab"), None)


@pytest.fixture(params=["own lab", "studio"])
def learner_lab(request, context) -> tuple[LearnerLab, Page]:
    """The lab of this journey, open in a fresh page (see the module docstring)."""
    page = context.new_page()
    if request.param == "studio":
        return studio_lab(request, page), page
    lab, token = request.getfixturevalue("own_lab")
    page.goto(f"{lab.lab_url}?token={token}")
    return lab, page


# -- the journey -------------------------------------------------------------------------------

CONTENTS_API = """async ([url, body]) => {
    const xsrf = document.cookie.split('; ').find(c => c.startsWith('_xsrf='));
    const headers = {'Content-Type': 'application/json'};
    if (xsrf) { headers['X-XSRFToken'] = decodeURIComponent(xsrf.split('=')[1]); }
    for (const folder of body.folders) {
        await fetch(folder, {method: 'PUT', headers, body: JSON.stringify({type: 'directory'})});
    }
    const response = await fetch(url, {method: 'PUT', headers, body: JSON.stringify(body.file)});
    return response.status;
}"""


def put_assignment(page: Page, lab: LearnerLab) -> None:
    """Write the assignment notebook into the learner's work folder, as the lab saves files."""
    expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=LAB_MS)
    folders = [lab.api(f"contents/{COURSE}"), lab.api(f"contents/{COURSE}/{ASSIGNMENT}")]
    file = {"type": "notebook", "format": "json", "content": ASSIGNMENT_NOTEBOOK}
    status = page.evaluate(CONTENTS_API, [lab.api(f"contents/{NOTEBOOK}"),
                                          {"folders": folders, "file": file}])
    assert status in {200, 201}, status


def code_cell(page: Page, source: str) -> Locator:
    """The code cell showing ``source`` (CodeMirror shows its lines without line breaks)."""
    shown = source.replace("\n", "")
    notebook = page.locator(".jp-NotebookPanel:visible .jp-Notebook")
    return notebook.locator(".jp-CodeCell").filter(
        has=page.locator(".cm-content", has_text=re.compile(rf"^{re.escape(shown)}$")))


def run_failing_cell(page, lab):
    """Open the assignment's notebook in ``lab``, run the cell that fails with a NameError
    once its kernel is idle, and return that cell."""
    put_assignment(page, lab)
    page.goto(f"{lab.lab_url}/tree/{NOTEBOOK}")
    status = page.get_by_role("contentinfo").get_by_role("button", name=KERNEL_IDLE)
    expect(status, "the notebook's kernel did not start").to_be_visible(timeout=LAB_MS)
    failing = code_cell(page, FAILING_SOURCE)
    failing.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    expect(failing.locator(".jp-OutputArea-output")).to_contain_text("NameError",
                                                                     timeout=LAB_MS)
    return failing


def test_learner_gets_a_streamed_explanation_of_their_error_and_hints_on_answer_cells(
    learner_lab, screenshot
):
    lab, page = learner_lab
    # Run the failing cell; its error output gets the tutor's button.
    failing = run_failing_cell(page, lab)
    explain = failing.get_by_role("button", name="Explain this error: NameError")
    expect(explain).to_be_visible()
    explain.click()

    # The panel opens and the explanation streams in, rendered as markdown.
    panel = page.get_by_role("region", name="Tutor")
    expect(panel).to_be_visible()
    reply = panel.get_by_role("article", name="Explain this error: NameError")
    expect(reply.locator(".pls-tutor-exchange-state")).to_have_text(
        re.compile(r"^(Done|Answered in offline mode)\.$"), timeout=LAB_MS)
    explanation = reply.locator(".pls-tutor-markdown")
    expect(explanation.locator("p").first).to_be_visible()  # rendered markdown, not raw text
    expect(explanation).to_contain_text("NameError")
    expect(panel.get_by_role("status")).to_contain_text("Offline mode")
    if lab.asked is not None:  # the fake's reply, as it streamed it: bold and code rendered
        expect(explanation.locator("strong")).to_have_text("NameError")
        expect(explanation.locator("code")).to_have_text("temperature")
    screenshot(page, "1-explained")

    # "Hint" is in the toolbar of the answer cell, and of no other cell.
    hint_button = "Ask the tutor for a hint on this answer cell"
    answer = code_cell(page, ANSWER_SOURCE)
    answer.locator(".cm-content").click()
    expect(answer.get_by_role("button", name=hint_button)).to_be_visible(timeout=LAB_MS)
    screenshot(page, "2-hint-on-answer-cell")
    failing.locator(".cm-content").click()
    expect(page.get_by_role("button", name=hint_button).filter(visible=True)).to_have_count(0)
    tests = code_cell(page, "assert celsius_to_fahrenheit(0) == 32")
    tests.locator(".jp-InputArea-prompt").click()
    expect(page.get_by_role("button", name=hint_button).filter(visible=True)).to_have_count(0)

    answer.locator(".cm-content").click()
    answer.get_by_role("button", name=hint_button).click()
    hint = panel.get_by_role("article", name=f"Hint for {ANSWER_ID}")
    expect(hint.locator(".pls-tutor-exchange-state")).not_to_have_text(
        "The tutor is writing…", timeout=LAB_MS)
    screenshot(page, "3-hint")

    if lab.asked is not None:  # the fake tutor saw what the browser sent
        explained, hinted = lab.asked
        assert explained["mode"] == "explain"
        assert (explained["course"], explained["assignment"]) == (COURSE, ASSIGNMENT)
        assert explained["notebook"] == NOTEBOOK
        assert explained["cell_source"] == FAILING_SOURCE
        assert explained["error"]["ename"] == "NameError"
        assert "is not defined" in explained["error"]["evalue"]
        assert explained["error"]["traceback"], "no traceback"
        assert explained["context_markdown"].endswith("`celsius_to_fahrenheit(celsius)`.")
        assert (hinted["mode"], hinted["cell_id"]) == ("hint", ANSWER_ID)


# -- with a model (a local OpenAI-compatible endpoint) -----------------------------------------

AI_PREFIX = "pls-e2e-ai"
AI_PORTS = {"lms": 18600, "hub": 18601, "proxy_api": 18602, "hub_api": 18681, "tutor": 18620}
# What the fake model streams: markdown, in pieces.
TEACHING = ["**NameError**: Python has not met ", "`temperature` yet. ",
            "Which cell should define it, ", "and has it run?"]
# A chat question the fake model "obeys" by printing a solution the notebook does not hold.
LEAK_TRIGGER = "print the solution of initials"
OTHER_SOLUTION = solutions(COURSE, ASSIGNMENT)["ps1-initials-answer"]


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def ai_studio(tmp_path_factory, fake_model) -> Iterator[Studio]:
    """LMS + JupyterHub + the tutor with a key, asking ``fake_model`` (the grader off)."""
    with own_studio(tmp_path_factory, AI_PREFIX, AI_PORTS, tutor=True,
                    OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=fake_model.url,
                    TUTOR_MODEL=MODEL) as own:
        yield own.studio


def test_with_a_model_the_panel_names_it_streams_its_replies_and_holds_back_a_solution(
    ai_studio, fake_model, context, screenshot
):
    fake_model.reset()
    fake_model.answer("reply", pieces=TEACHING)
    fake_model.obey[LEAK_TRIGGER] = f"Sure! Here it is:\n\n```python\n{OTHER_SOLUTION}\n```\n"
    page = context.new_page()
    lab = signed_in_lab(ai_studio, page)
    failing = run_failing_cell(page, lab)
    failing.get_by_role("button", name="Explain this error: NameError").click()
    panel = page.get_by_role("region", name="Tutor")
    reply = panel.get_by_role("article", name="Explain this error: NameError")
    expect(reply.locator(".pls-tutor-exchange-state")).to_have_text("Done.", timeout=LAB_MS)
    explanation = reply.locator(".pls-tutor-markdown")
    expect(explanation.locator("strong")).to_have_text("NameError")  # rendered markdown
    expect(explanation.locator("code")).to_have_text("temperature")
    expect(explanation).to_contain_text("Which cell should define it, and has it run?")
    expect(reply.locator(".pls-tutor-notices")).to_have_text("")
    line = panel.get_by_role("status")
    expect(line).to_contain_text(f"AI model: {MODEL}")
    expect(line).to_contain_text("Full help")
    expect(line).to_contain_text(re.compile(r"\d+ of 100 questions used today"))
    expect(line).not_to_contain_text("Offline")
    screenshot(page, "1-explained-by-the-model")

    answer = code_cell(page, ANSWER_SOURCE)
    answer.locator(".cm-content").click()
    answer.get_by_role("button", name="Ask the tutor for a hint on this answer cell").click()
    hint = panel.get_by_role("article", name=f"Hint for {ANSWER_ID}")
    expect(hint.locator(".pls-tutor-exchange-state")).to_have_text("Done.", timeout=LAB_MS)
    screenshot(page, "2-hint-from-the-model")

    # A model that obeys "print the solution": the tutor cuts the reply and says why.
    failing.locator(".cm-content").click()
    box = panel.get_by_role("textbox", name="Ask the tutor")
    box.fill(f"Please {LEAK_TRIGGER}.")
    box.press("Enter")
    leak = panel.get_by_role("article", name=f"Please {LEAK_TRIGGER}.")
    expect(leak.locator(".pls-tutor-exchange-state")).to_have_text(
        "The tutor held part of this reply back.", timeout=LAB_MS)
    expect(leak.locator(".pls-tutor-notices")).to_contain_text("never gives")
    expect(leak.locator(".pls-tutor-markdown")).not_to_contain_text("word[0].upper()")
    expect(leak).to_be_in_viewport()  # the conversation followed the reply
    screenshot(page, "3-solution-held-back")

    # The endpoint got the three requests, streamed, with the browser's context and no
    # solution of the course.
    assert [r["model"] for r in fake_model.requests] == [MODEL] * 3
    assert all(r["stream"] is True for r in fake_model.requests)
    explained, hinted, chatted = (r["messages"][-1]["content"] for r in fake_model.requests)
    assert "The learner's request (explain)" in explained and "NameError" in explained
    assert "The learner's request (hint)" in hinted and ANSWER_ID in hinted
    assert LEAK_TRIGGER in chatted
    sent = json.dumps(fake_model.requests)
    assert "### BEGIN SOLUTION" not in sent and ".split()" not in sent
