"""The board's permission matrix: every endpoint of the board, its pages and API v1, for the five
kinds of caller (a learner of the course, a learner of another course, an instructor of the
course, staff, anonymous). Pages: what the write did (a refusal leaves a message, not a change).
API: the status (401 anonymous, 403 beyond the caller, the success code otherwise)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from lms.community import selectors, services
from lms.community.models import Ban, Follow, Post, PostStatus, Report, Thread, Vote
from tests.support.lms_factories import (
    CourseFactory,
    EnrollmentFactory,
    PostFactory,
    ThreadFactory,
    UserFactory,
)

ROLES = ["course_learner", "other_course_learner", "instructor", "staff", "anonymous"]
MEMBERS = {"course_learner", "instructor", "staff"}
MODERATORS = {"instructor", "staff"}


@pytest.fixture(autouse=True)
def _fast_enough(settings):
    settings.LMS_COMMUNITY_POST_RATE = "100/min"


@pytest.fixture
def world(course, learner, other_learner, instructor, staff):
    """A thread by another learner, its answer, a post held for review and a ban on a third
    member; the callers by role."""
    stranger = UserFactory(username="eve")
    EnrollmentFactory(user=stranger, course=CourseFactory(slug="data-201", title="Data 201"))
    thread = ThreadFactory(course=course, author=other_learner)
    answer = PostFactory(thread=thread, author=other_learner, body="An answer", html="<p>x</p>")
    held = PostFactory(thread=thread, author=other_learner, status=PostStatus.HELD,
                       held_for="ps1-basics", body="held", html="<p>held</p>")
    banned = UserFactory(username="mallory")
    EnrollmentFactory(user=banned, course=course)
    ban = services.ban(selectors.viewer(instructor, course), banned, days=3)
    return {
        "course": course, "thread": thread, "answer": answer, "held": held, "ban": ban,
        "callers": {"course_learner": learner, "other_course_learner": stranger,
                    "instructor": instructor, "staff": staff, "anonymous": None},
    }


def _fresh(model, pk):
    return model.objects.get(pk=pk)


# name: (who may, page path and form, what the page's write did, API method, path, body, code)
ENDPOINTS = {
    "new thread": (
        MEMBERS, "new/", {"kind": "question", "title": "Mine", "body": "Why?"},
        lambda w, u: Thread.objects.filter(title="Mine").exists(),
        "post", "threads/", {"kind": "question", "title": "Mine", "body": "Why?"}, 201,
    ),
    "reply": (
        MEMBERS, "{thread}/act/", {"action": "reply", "body": "Because."},
        lambda w, u: Post.objects.filter(body="Because.").exists(),
        "post", "threads/{thread}/replies/", {"body": "Because."}, 201,
    ),
    "edit": (
        MODERATORS, "{thread}/act/", {"action": "edit", "post": "{answer}", "body": "Changed"},
        lambda w, u: _fresh(Post, w["answer"].pk).body == "Changed",
        "patch", "posts/{answer}/", {"body": "Changed"}, 200,
    ),
    "delete": (
        MODERATORS, "{thread}/act/", {"action": "delete", "post": "{answer}"},
        lambda w, u: _fresh(Post, w["answer"].pk).is_deleted,
        "delete", "posts/{answer}/", None, 204,
    ),
    "vote": (
        MEMBERS, "{thread}/act/", {"action": "vote", "post": "{answer}", "on": "1"},
        lambda w, u: Vote.objects.filter(post=w["answer"], user=u).exists(),
        "post", "posts/{answer}/vote/", None, 204,
    ),
    "report": (
        MEMBERS, "{thread}/act/", {"action": "report", "post": "{answer}", "reason": "Rude"},
        lambda w, u: Report.objects.filter(post=w["answer"], reporter=u).exists(),
        "post", "posts/{answer}/report/", {"reason": "Rude"}, 201,
    ),
    "follow": (
        MEMBERS, "{thread}/act/", {"action": "follow", "on": "1"},
        lambda w, u: Follow.objects.filter(thread=w["thread"], user=u).exists(),
        "post", "threads/{thread}/follow/", None, 204,
    ),
    "mark answered": (
        MODERATORS, "{thread}/act/", {"action": "answered", "on": "1"},
        lambda w, u: _fresh(Thread, w["thread"].pk).answered,
        "post", "threads/{thread}/answered/", None, 204,
    ),
    "endorse": (
        MODERATORS, "{thread}/act/", {"action": "endorse", "post": "{answer}", "on": "1"},
        lambda w, u: _fresh(Post, w["answer"].pk).endorsed,
        "post", "posts/{answer}/endorse/", None, 204,
    ),
    "pin": (
        MODERATORS, "{thread}/act/", {"action": "pin", "on": "1"},
        lambda w, u: _fresh(Thread, w["thread"].pk).pinned,
        "post", "threads/{thread}/pin/", None, 204,
    ),
    "lock": (
        MODERATORS, "{thread}/act/", {"action": "lock", "on": "1"},
        lambda w, u: _fresh(Thread, w["thread"].pk).locked,
        "post", "threads/{thread}/lock/", None, 204,
    ),
    "hide thread": (
        MODERATORS, "{thread}/act/", {"action": "hide-thread", "on": "1"},
        lambda w, u: _fresh(Thread, w["thread"].pk).hidden,
        "post", "threads/{thread}/hide/", None, 204,
    ),
    "hide post": (
        MODERATORS, "{thread}/act/", {"action": "hide-post", "post": "{answer}", "on": "1"},
        lambda w, u: _fresh(Post, w["answer"].pk).hidden,
        "post", "posts/{answer}/hide/", None, 204,
    ),
    "move": (
        MODERATORS, "{thread}/act/", {"action": "move", "anchor": "basics"},
        lambda w, u: _fresh(Thread, w["thread"].pk).anchor_page is not None,
        "post", "threads/{thread}/move/", {"anchor": "basics"}, 204,
    ),
    "review a held post": (
        MODERATORS, "review/{held}/", {"decision": "approve"},
        lambda w, u: _fresh(Post, w["held"].pk).status == PostStatus.PUBLISHED,
        "post", "posts/{held}/review/", {"decision": "approve"}, 204,
    ),
    "ban": (
        MODERATORS, "bans/", {"username": "linus", "days": "2"},
        lambda w, u: Ban.objects.filter(user__username="linus").exists(),
        "post", "bans/", {"username": "linus", "days": 2}, 201,
    ),
    "lift a ban": (
        MODERATORS, "bans/{ban}/lift/", {},
        lambda w, u: _fresh(Ban, w["ban"].pk).until <= timezone.now(),
        "delete", "bans/{ban}/", None, 204,
    ),
}

# name: (who may, page path, API path)
READS = {
    "the board": (MEMBERS, "", "threads/"),
    "a search": (MEMBERS, "?q=start", "threads/?q=start"),
    "a thread": (MEMBERS, "{thread}/", "threads/{thread}/"),
    "the review queue": (MODERATORS, "review/", "held-posts/"),
    "the reports": (MODERATORS, "review/", "reports/"),
    "the audit log and bans": (MODERATORS, "audit/", "audit/"),
    "the bans": (MODERATORS, "audit/", "bans/"),
}


def _ids(world) -> dict:
    return {name: world[name].pk for name in ("thread", "answer", "held", "ban")}


def _fill(value, world):
    if isinstance(value, str):
        return value.format(**_ids(world))
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


# The pages only instructors open refuse everybody else before reading the form.
MODERATOR_PAGES = {"review a held post", "ban", "lift a ban"}


def _each_endpoint(names):
    """Each endpoint in a savepoint rolled back after it: every one starts from the world."""
    for name in names:
        with transaction.atomic():
            yield name
            transaction.set_rollback(True)


def _client(client_class, user):
    client = client_class()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("role", ROLES)
def test_who_may_write_through_the_pages(world, role):
    user = world["callers"][role]
    client = _client(Client, user)
    outcomes, expected = {}, {}
    for name in _each_endpoint(ENDPOINTS):
        allowed, path, form, done, *_ = ENDPOINTS[name]
        url = f"/courses/{world['course'].slug}/board/" + _fill(path, world)
        response = client.post(url, _fill(form, world))
        refused = role == "other_course_learner" or (
            name in MODERATOR_PAGES and role == "course_learner"
        )
        outcomes[name] = (response.status_code, done(world, user))
        expected[name] = (403 if refused else 302, role in allowed)
        if role == "anonymous":
            assert "login" in response["Location"]
    assert outcomes == expected


# A learner does not see a classmate's held post at all: not found, rather than forbidden.
UNSEEN = {("review a held post", "course_learner")}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_write_through_the_api(world, role):
    user = world["callers"][role]
    client = _client(APIClient, user)
    outcomes, expected = {}, {}
    for name in _each_endpoint(ENDPOINTS):
        allowed, _, _, done, method, path, body, code = ENDPOINTS[name]
        url = f"/api/v1/courses/{world['course'].slug}/" + _fill(path, world)
        response = getattr(client, method)(url, _fill(body, world), format="json")
        outcomes[name] = (response.status_code, user is not None and done(world, user))
        if role == "anonymous":
            expected[name] = (401, False)
        else:
            refusal = 404 if (name, role) in UNSEEN else 403
            expected[name] = (code if role in allowed else refusal, role in allowed)
    assert outcomes == expected


@pytest.mark.parametrize("role", ROLES)
def test_who_may_read_pages_and_api(world, role):
    user = world["callers"][role]
    client = _client(APIClient, user)
    base = f"/courses/{world['course'].slug}/"
    outcomes, expected = {}, {}
    for name, (allowed, page, api) in READS.items():
        outcomes[name] = (
            client.get(base + "board/" + _fill(page, world)).status_code,
            client.get("/api/v1" + base + _fill(api, world)).status_code,
        )
        if role == "anonymous":
            expected[name] = (302, 401)
        else:
            expected[name] = (200, 200) if role in allowed else (403, 403)
    assert outcomes == expected
