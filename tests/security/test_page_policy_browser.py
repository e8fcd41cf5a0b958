"""The page policy in a real browser (Debian's Chromium): no page of the LMS, site or admin, has
anything the browser refuses under its policy, the LMS's own scripts still run, and signing in
to the hub through the authorization endpoint still reaches the hub's callback (Chromium holds
the redirect after the sign-in form to ``form-action``)."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from authlib.common.security import generate_token
from playwright.sync_api import BrowserContext

from lms.courses.course_import import import_course
from lms.courses.models import EnrollmentRole
from lms.courses.services import enroll
from tests.support.lms_factories import (
    PASSWORD,
    InstructorFactory,
    StaffFactory,
    UserFactory,
)
from tests.support.lms_fixtures import HUB_CALLBACK_URL, HUB_CLIENT_ID

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("wagtail_initial_tree"),
]

# What the page's policy refused, as the browser reports it to the page.
RECORD_VIOLATIONS = """
window.__refused = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__refused.push(`${event.effectiveDirective} ${event.blockedURI} ${where}`);
});
"""


@pytest.fixture(scope="module", autouse=True)
def _orm_beside_the_browser():
    """Playwright's sync API keeps an event loop running in the test's thread while the browser
    is open, and Django refuses ORM calls in such a thread. These tests call the ORM only between
    browser steps, never from the loop."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def studio(live_server, python101_dir):
    """The demo course as ``make up`` imports it, a learner and an instructor in it, staff."""
    course = import_course(python101_dir).course
    people = {"learner": UserFactory(username="grace"),
              "instructor": InstructorFactory(username="ines"),
              "staff": StaffFactory(username="root-admin")}
    enroll(people["learner"], course)
    enroll(people["instructor"], course, EnrollmentRole.INSTRUCTOR)
    return live_server.url, course, people


class Visitor:
    """A browser tab whose policy refusals, and console errors about the policy, are recorded."""

    def __init__(self, context: BrowserContext, base: str) -> None:
        context.add_init_script(RECORD_VIOLATIONS)
        self.base = base
        self.page = context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(m.text)
                     if m.type == "error" and "Content Security Policy" in m.text else None)

    def sign_in(self, username: str) -> None:
        self.page.goto(f"{self.base}/login/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(f"{self.base}/dashboard/")

    def refused(self, *paths: str) -> dict[str, list[str]]:
        """Open each path; what the policy refused on each (none: an empty dict)."""
        refused = {}
        for path in paths:
            response = self.page.goto(f"{self.base}{path}")
            assert response is not None and response.status in {200, 404}, (path, response)
            self.page.wait_for_load_state("load")
            if found := self.page.evaluate("window.__refused") + self.console:
                refused[path] = found
            self.console.clear()
        return refused


def test_site_pages_break_nothing_under_the_strict_policy(context, studio):
    base, course, _ = studio
    visitor = Visitor(context, base)
    lesson = f"{course.url}basics/"
    assert visitor.refused("/", course.url, lesson, "/login/", "/no-such-page/") == {}

    visitor.sign_in("grace")
    assert visitor.refused("/dashboard/", course.url, lesson, f"{course.url}functions/") == {}
    assert visitor.page.evaluate("typeof bootstrap") == "object"  # the LMS's own script runs


def test_instructor_pages_break_nothing_under_the_strict_policy(context, studio):
    base, course, _ = studio
    visitor = Visitor(context, base)
    visitor.sign_in("ines")
    views = [f"/courses/{course.slug}/{view}/" for view in ("gradebook", "learners", "tutor")]
    assert visitor.refused("/dashboard/", *views, course.url) == {}


def test_the_admin_sites_sign_in_pages_and_the_django_admin_break_nothing_under_it(
    context, studio
):
    base, _, people = studio
    visitor = Visitor(context, base)
    assert visitor.refused("/admin/login/", "/django-admin/login/") == {}

    visitor.sign_in("root-admin")
    assert visitor.refused(
        "/django-admin/", "/django-admin/axes/accessattempt/",
        f"/django-admin/accounts/user/{people['learner'].pk}/change/",
        "/django-admin/courses/enrollment/add/", "/admin/account/",
    ) == {}


def test_the_wagtail_admin_works_under_its_own_policy(context, studio):
    base, course, _ = studio
    visitor = Visitor(context, base)
    visitor.sign_in("root-admin")
    editor = f"/admin/pages/{course.pk}/edit/"
    assert visitor.refused(
        "/admin/", editor, f"/admin/pages/{course.pk}/", "/admin/users/",
        course.url,  # a site page with Wagtail's user bar, under the strict policy
    ) == {}
    visitor.page.goto(f"{base}{editor}")
    # Wagtail's scripts ran: its sidebar is drawn by them, "Settings" and all.
    sidebar = visitor.page.locator("#wagtail-sidebar")
    sidebar.get_by_role("button", name="Settings").click()
    assert sidebar.get_by_role("link", name="Sign-in lockouts").is_visible()


def test_signing_in_to_the_hub_reaches_its_callback_under_the_policy(context, hub_client, studio):
    base, _, _ = studio
    page = context.new_page()
    page.route(f"{HUB_CALLBACK_URL}**", lambda route: route.fulfill(body="the hub's callback"))
    verifier, state = generate_token(48), generate_token(16)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    authorize = f"{base}/o/authorize/?" + urlencode({
        "response_type": "code", "client_id": HUB_CLIENT_ID, "redirect_uri": HUB_CALLBACK_URL,
        "scope": "openid profile", "state": state, "code_challenge": challenge,
        "code_challenge_method": "S256"})

    page.goto(authorize)
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{HUB_CALLBACK_URL}**")

    answer = parse_qs(urlsplit(page.url).query)
    assert answer["state"] == [state] and answer["code"]
