"""The learner journey of issue 3 in Debian's Chromium: from a lesson in the LMS, through one
sign-on and the hub's progress page, to JupyterLab in the learner's own container with the
lesson's notebook open and a live kernel.

Each test starts in a fresh browser context (signed in nowhere) on the studio of
conftest.py, and each uses a learner of its own whose server is not running yet, so "Open in
JupyterLab" spawns it. What the tests check is what the learner sees: the DOM of the LMS and of
JupyterLab, and the route the browser took (every page load, redirects included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Response, expect

from tests.support.lab_pages import KERNEL_IDLE, SPAWN_MS
from tests.support.studio import OwnStudio, Studio
from tests.support.studio import inspect as docker_inspect

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.slow]

COURSE = "python-101"
COURSE_TITLE = "Python 101"
# Bounds, not measurements: a first spawn on 2 busy cores (the hub gives a start 180 s), then
# JupyterLab's page loading the notebook and starting its kernel.
LAB_MS = 120_000
NEWS_QUESTION = "official Jupyter news"  # JupyterLab's announcements plugin asks for consent


@dataclass(frozen=True)
class Lesson:
    """A lesson of the demo course: its LMS page title, its notebook (relative to the course
    folder, as in course.yml) and the heading of the notebook's first cell."""

    title: str
    notebook: str
    heading: str

    @property
    def path(self) -> str:
        """The notebook in the learner's work folder (hub/materials.py: ``<course>/<notebook>``)."""
        return f"{COURSE}/{self.notebook}"

    @property
    def file_name(self) -> str:
        return PurePosixPath(self.notebook).name


BASICS = Lesson("Python basics", "lessons/01-basics.ipynb", "Lesson 1 — Python basics")
CONTROL_FLOW = Lesson("Control flow", "lessons/02-control-flow.ipynb", "Lesson 2 — Control flow")


class Route:
    """Every document load of a browser context, redirects included, in order:
    ``(method, url, status)``; pages opened in new tabs too. (The pages of this journey have no
    frames, so these are the pages the browser went through.)"""

    def __init__(self, context: BrowserContext):
        self.loads: list[tuple[str, str, int]] = []
        context.on("response", self._record)

    def _record(self, response: Response) -> None:
        request = response.request
        # Not request.frame: a new tab's first requests come before its frame exists.
        if request.is_navigation_request():
            self.loads.append((request.method, response.url, response.status))

    def since(self, start: int) -> list[tuple[str, str, int]]:
        return self.loads[start:]

    @staticmethod
    def gets(loads: list[tuple[str, str, int]], prefix: str) -> list[tuple[str, int]]:
        """The GETs under ``prefix`` among ``loads``: ``(url, status)``."""
        return [(url, status) for method, url, status in loads
                if method == "GET" and url.startswith(prefix)]


# -- the LMS ----------------------------------------------------------------------------------


def deep_link(studio: Studio, lesson: Lesson) -> str:
    """The "Open in JupyterLab" link of a lesson (docs/architecture.md, "How a request flows")."""
    return f"{studio.hub_url}/hub/user-redirect/lab/tree/{lesson.path}"


def sign_in_on_lms_form(page: Page, studio: Studio, username: str) -> None:
    """Fill in and submit the LMS's login form, which ``page`` shows."""
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    form = page.locator("form").filter(has=page.get_by_label("Password"))
    form.get_by_label("Username").fill(username)
    form.get_by_label("Password").fill(studio.passwords[username])
    form.get_by_role("button", name="Sign in", exact=True).click()


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


# -- the hub and JupyterLab -------------------------------------------------------------------


def lab_url(studio: Studio, username: str, lesson: Lesson) -> str:
    return studio.server_url(username, f"lab/tree/{lesson.path}")


def catch_progress_page(page: Page, studio: Studio, username: str, screenshot) -> None:
    """Wait (bounded) until the hub shows its spawn progress page or the lab, and screenshot
    the progress page if it is still up. (A fast spawn may leave it before the browser can
    look: that it was served is checked on the route.)"""
    pending = f"{studio.hub_url}/hub/spawn-pending/{username}"
    page.wait_for_url(
        lambda url: url.startswith((pending, studio.server_url(username))),
        timeout=SPAWN_MS,
    )
    if page.url.startswith(pending):
        screenshot(page, "2-progress")


def expect_spawned_with_progress_page(loads, studio: Studio, username: str) -> None:
    """The hub started the server (``/hub/spawn/``) and showed its progress page on the way
    (200; once the server is ready the page reloads and is redirected to it)."""
    hub = f"{studio.hub_url}/hub"
    assert Route.gets(loads, f"{hub}/spawn/{username}"), "the hub did not spawn the server"
    progress = Route.gets(loads, f"{hub}/spawn-pending/{username}")
    assert 200 in {status for _, status in progress}, f"no spawn progress page: {progress}"


def expect_own_container_runs(e2e_studio: OwnStudio, username: str) -> None:
    """The learner's server is their own container of the learner image, running."""
    container = docker_inspect(e2e_studio.container_name(username))
    assert container["State"]["Running"], container["State"]
    assert container["Config"]["Image"] == "pls-notebook:latest", container["Config"]["Image"]


def expect_notebook_open(page: Page, studio: Studio, username: str, lesson: Lesson) -> None:
    """JupyterLab of ``username`` shows ``lesson``'s notebook as the active tab, its cells
    rendered."""
    page.wait_for_url(lab_url(studio, username, lesson), timeout=SPAWN_MS)
    tab = page.get_by_role("main").get_by_role("tab", name=lesson.file_name, exact=True)
    expect(tab).to_have_attribute("aria-selected", "true", timeout=LAB_MS)
    # The tab's tooltip names the document: "Name: ...\nPath: <path>\n...".
    expect(tab).to_have_attribute("title", re.compile(rf"^Path: {re.escape(lesson.path)}$", re.M))
    first_heading = notebook(page).locator(".jp-MarkdownOutput h1").first
    expect(first_heading).to_contain_text(lesson.heading, timeout=LAB_MS)


def notebook(page: Page) -> Locator:
    """The notebook in the lab's active (visible) main-area tab."""
    return page.locator(".jp-NotebookPanel:visible .jp-Notebook")


def run_cell(page: Page, source: str) -> Locator:
    """Run the code cell whose whole source is ``source`` (Shift+Enter, as a learner does)
    once the kernel is idle; the cell's output area."""
    status = page.get_by_role("contentinfo").get_by_role("button", name=KERNEL_IDLE)
    expect(status, "the notebook's kernel did not start").to_be_visible(timeout=LAB_MS)
    cell = notebook(page).locator(".jp-CodeCell").filter(
        has=page.locator(".cm-content", has_text=re.compile(rf"^{re.escape(source)}$"))
    )
    expect(cell).to_have_count(1)
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    expect(cell.locator(".jp-InputPrompt")).to_have_text("[1]:", timeout=LAB_MS)
    return cell.locator(".jp-OutputArea-output")


def expect_nothing_in_the_way(page: Page) -> None:
    """No dialog covers the lab and JupyterLab does not ask about its news feed (the learner
    image turns the announcements off)."""
    expect(page.locator(".jp-Dialog"), "a JupyterLab dialog covers the page").to_have_count(0)
    expect(
        page.get_by_text(NEWS_QUESTION),
        "JupyterLab asks about Jupyter news: the learner image should disable "
        "@jupyterlab/apputils-extension:announcements",
    ).to_have_count(0)


# -- the journeys -----------------------------------------------------------------------------


def test_learner_opens_a_lesson_in_their_own_jupyterlab_signing_in_once(
    studio, e2e_studio, context, screenshot
):
    route = Route(context)
    page = context.new_page()

    page.goto(f"{studio.lms_url}/")
    main_nav(page).get_by_role("link", name="Sign in", exact=True).click()
    sign_in_on_lms_form(page, studio, "learner1")
    expect(main_nav(page)).to_contain_text("Signed in as")

    main_nav(page).get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.get_by_role("heading", name="Your dashboard")).to_be_visible()
    page.get_by_role("link", name=COURSE_TITLE, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=COURSE_TITLE, exact=True)).to_be_visible()
    page.get_by_role("link", name=BASICS.title, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=BASICS.title, exact=True)).to_be_visible()
    open_in_lab = page.get_by_role("link", name=re.compile(r"^Open in JupyterLab"))
    expect(open_in_lab).to_have_attribute("href", deep_link(studio, BASICS))
    screenshot(page, "1-lesson")

    signed_in_to_lms = len(route.loads)
    with context.expect_page() as new_tab:  # the button opens the lab in a new tab
        open_in_lab.click()
    lab = new_tab.value
    catch_progress_page(lab, studio, "learner1", screenshot)
    expect_notebook_open(lab, studio, "learner1", BASICS)

    to_lab = route.since(signed_in_to_lms)
    assert not Route.gets(to_lab, f"{studio.lms_url}/login/"), "a second password prompt"
    assert Route.gets(to_lab, f"{studio.lms_url}/o/authorize/"), "the hub did not ask the LMS"
    assert Route.gets(to_lab, f"{studio.hub_url}/hub/oauth_callback"), "no hub sign-in"
    expect_spawned_with_progress_page(to_lab, studio, "learner1")
    expect_own_container_runs(e2e_studio, "learner1")

    output = run_cell(lab, "2 + 3 * 4")
    expect(output).to_have_text("14")
    expect_nothing_in_the_way(lab)
    screenshot(lab, "3-lab")


def test_deep_link_signs_a_learner_in_on_the_lms_once_and_opens_the_lesson(
    studio, e2e_studio, context, screenshot
):
    route = Route(context)
    page = context.new_page()

    page.goto(deep_link(studio, CONTROL_FLOW))
    expect(page).to_have_url(re.compile(rf"^{re.escape(studio.lms_url)}/login/\?next=/o/authorize/"))
    sign_in_on_lms_form(page, studio, "learner2")
    expect_notebook_open(page, studio, "learner2", CONTROL_FLOW)

    assert len(Route.gets(route.loads, f"{studio.lms_url}/login/")) == 1, route.loads
    expect_spawned_with_progress_page(route.loads, studio, "learner2")
    expect_own_container_runs(e2e_studio, "learner2")
    screenshot(page, "lab")
