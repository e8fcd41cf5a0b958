"""Every LMS page carries a strict Content-Security-Policy (scripts and styles from the LMS's own
files only, never inline; no other origin; no framing), ``X-Content-Type-Options: nosniff`` and
a same-origin ``Referrer-Policy``. The Wagtail admin's pages (but its sign-in page) get their
own, documented policy (Wagtail's admin needs inline script), and nothing else does. The LMS's
templates hold no inline script, style or event handler, so the strict policy costs them nothing
(the browser check is test_page_policy_browser.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from lms.courses.models import CourseIndexPage
from tests.support.lms_factories import AssignmentFactory, LessonFactory

pytestmark = pytest.mark.django_db

LMS = Path(__file__).resolve().parents[2] / "lms"
SITE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self' http://localhost:8001",  # the LMS, and the hub's (STUDIO_HUB_URL)
    "frame-ancestors": "'none'",
}
WAGTAIL_ADMIN_POLICY = {
    **SITE_POLICY,
    "script-src": "'self' 'unsafe-inline'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "frame-ancestors": "'self'",
}


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    directives = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {name: value for name, value in directives}


@pytest.fixture
def pages(course, learner, instructor, staff):
    """A URL of each kind of page, with who may see it."""
    lesson = LessonFactory(parent=course, slug="intro", title="Intro", position=0)
    assignment = AssignmentFactory(parent=course, slug="ps2", nbgrader_name="ps2")
    return {
        "public": [(None, "/"), (None, CourseIndexPage.objects.get().url), (None, course.url),
                   (None, "/login/"), (None, "/no-such-page/")],
        "learner": [(learner, "/dashboard/"), (learner, course.url), (learner, lesson.url),
                    (learner, assignment.url)],
        "instructor": [(instructor, f"/courses/{course.slug}/gradebook/"),
                       (instructor, f"/courses/{course.slug}/learners/"),
                       (instructor, f"/courses/{course.slug}/tutor/"),
                       (instructor, assignment.url)],
        "admin": [(None, "/admin/login/"), (None, "/django-admin/login/"),
                  (staff, "/django-admin/"), (staff, "/django-admin/axes/accessattempt/")],
        "wagtail admin": [(staff, "/admin/"), (staff, f"/admin/pages/{course.pk}/edit/"),
                          (staff, "/admin/users/")],
    }


def get(user, url):
    client = Client()
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    assert response.status_code in {200, 404}, (url, response.status_code)
    return response


@pytest.mark.parametrize("kind", ["public", "learner", "instructor", "admin"])
def test_pages_carry_the_strict_policy(pages, kind):
    for user, url in pages[kind]:
        assert policy(get(user, url)) == SITE_POLICY, url


def test_the_wagtail_admins_pages_but_its_sign_in_carry_its_own_policy(pages):
    for user, url in pages["wagtail admin"]:
        assert policy(get(user, url)) == WAGTAIL_ADMIN_POLICY, url


@pytest.mark.parametrize("kind", ["public", "learner", "instructor", "admin", "wagtail admin"])
def test_every_page_forbids_sniffing_framing_and_cross_origin_referrers(pages, kind):
    for user, url in pages[kind]:
        response = get(user, url)
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["Referrer-Policy"] == "same-origin", url
        assert response["X-Frame-Options"] in {"DENY", "SAMEORIGIN"}, url
        assert "frame-ancestors" in policy(response), url


def test_api_answers_and_the_oidc_documents_carry_the_strict_policy(client):
    for url in ["/api/v1/", "/.well-known/openid-configuration", "/o/.well-known/jwks.json"]:
        assert policy(client.get(url)) == SITE_POLICY, url


def test_the_lockout_page_carries_the_strict_policy(settings, learner):
    settings.AXES_FAILURE_LIMIT = 1
    response = Client().post("/login/", {"username": "grace", "password": "wrong"})
    assert response.status_code == 429 and policy(response) == SITE_POLICY


INLINE = {
    "an inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "a style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "a style element": re.compile(r"<style\b", re.IGNORECASE),
    "an event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


# Email bodies are not pages: no browser applies the site's policy to them, mail clients ignore
# style sheets (so their HTML is styled inline), and scripts and handlers are still refused there.
EMAIL_TEMPLATES = "/templates/notifications/email/"
EMAIL_MAY_HOLD = {"a style attribute", "a style element"}


@pytest.mark.parametrize("what", INLINE)
def test_no_lms_template_holds_inline_script_or_style(what):
    templates = sorted(LMS.glob("**/templates/**/*.html"))
    assert templates
    if what in EMAIL_MAY_HOLD:
        templates = [t for t in templates if EMAIL_TEMPLATES not in t.as_posix()]
    offenders = [str(t.relative_to(LMS)) for t in templates if INLINE[what].search(t.read_text())]
    assert offenders == [], f"{what} in {offenders}: the page policy blocks it"
