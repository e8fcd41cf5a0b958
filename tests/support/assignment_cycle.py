"""What a test does with an assignment on a real studio (:mod:`tests.support.studio`), through
the same HTTP endpoints as people: the instructor releases through the grader's API with their
own hub token (what the LMS's buttons do for them), the learner fetches, writes and submits
through their JupyterLab server's nbgrader handlers (``/user/<name>/assignments``, what the
Assignments panel calls), and the grades are read from the LMS's API as the learner sees them.

Used by the assignment cycle's tests (``tests/integration/grading/test_cycle.py``) and the
backup's (``tests/integration/test_backup_restore.py``) and the Swarm studio's
(``tests/integration/hub/test_swarm_studio.py``).
"""

from __future__ import annotations

import io
import json
import tarfile

import requests

from tests.support.studio import Studio

COURSE = "python-101"
ASSIGNMENT = "ps1-basics"
NOTEBOOK = f"{COURSE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
GRADED_SECONDS = 180  # a bound for a grading on two busy cores, not a measurement


def grader_api(studio: Studio, username: str, method: str, path: str, **kwargs):
    """The grader's API through the hub's proxy with ``username``'s hub token."""
    headers = {"Authorization": f"token {studio.tokens[username]}"}
    return requests.request(method, f"{studio.hub_url}/services/grader/api/{path}",
                            headers=headers, timeout=60, **kwargs)


def release(studio: Studio) -> None:
    studio.login("instructor", spawn=False)
    released = grader_api(studio, "instructor", "POST",
                          f"courses/{COURSE}/assignments/{ASSIGNMENT}/release", json={})
    assert released.status_code in {200, 201}, released.text


def packed(notebooks: dict[str, dict]) -> bytes:
    """A learner's assignment folder as the Assignments panel uploads it to the grader: a
    gzipped tar of the notebooks (file name -> nbformat JSON) at its top."""
    folder = io.BytesIO()
    with tarfile.open(fileobj=folder, mode="w:gz") as archive:
        for name, notebook in notebooks.items():
            data = json.dumps(notebook).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return folder.getvalue()


def lab(studio: Studio, username: str, method: str, path: str, **kwargs) -> requests.Response:
    """The learner's own JupyterLab server (through the proxy), with their hub token: the
    endpoints nbgrader's Assignments panel and the file browser call."""
    headers = {"Authorization": f"token {studio.tokens[username]}"}
    return requests.request(method, studio.server_url(username, path), headers=headers,
                            timeout=120, **kwargs)


def panel(studio: Studio, username: str, action: str | None = None) -> list[dict]:
    """The Assignments panel's list, after ``action`` (fetch, submit, fetch_feedback)."""
    if action is None:
        response = lab(studio, username, "GET", f"assignments?course_id={COURSE}")
    else:
        response = lab(studio, username, "POST", f"assignments/{action}",
                       data={"course_id": COURSE, "assignment_id": ASSIGNMENT})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("success", True), body
    return body["value"] if isinstance(body, dict) else body


def write_notebook(studio: Studio, username: str, notebook: dict) -> None:
    saved = lab(studio, username, "PUT", f"api/contents/{NOTEBOOK}",
                json={"type": "notebook", "format": "json", "content": notebook})
    assert saved.status_code in {200, 201}, saved.text


def read_notebook(studio: Studio, username: str) -> dict:
    response = lab(studio, username, "GET", f"api/contents/{NOTEBOOK}")
    assert response.status_code == 200, response.text
    return response.json()["content"]


def lms_grades(studio: Studio, username: str) -> list[dict]:
    """The learner's grades in the course as the LMS's API shows them to the learner."""
    return studio.lms_grades(username, COURSE)


def wait_for_grades(studio: Studio, username: str, count: int) -> list[dict]:
    return studio.wait_for_grades(username, COURSE, count, GRADED_SECONDS)
