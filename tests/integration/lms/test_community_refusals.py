"""A refused new thread or reply (a ban, the posting rate, a refused text) shows its sentence
and keeps what the member typed: the form comes back with their text (400), nothing is lost."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from lms.community import selectors, services
from lms.community.models import Post, Thread

TYPED = "My <b>careful</b> question, typed for ten minutes"


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fast_enough(settings):
    settings.LMS_COMMUNITY_POST_RATE = "100/min"


def board_url(course, *rest) -> str:
    return "/".join([f"/courses/{course.slug}/board", *rest]) + "/"


def test_a_banned_members_new_thread_comes_back_with_their_text_and_the_sentence(
        course, learner, instructor):
    services.ban(selectors.viewer(instructor, course), learner, days=3, reason="spam")
    response = page_client(learner).post(board_url(course, "new"), {
        "kind": "discussion", "title": "Typed title", "body": TYPED, "cell": "cell-7",
    })
    assert response.status_code == 400
    page = response.content.decode()
    assert html.escape(TYPED) in page  # escaped: the member's text stays inert
    assert 'value="Typed title"' in page and 'value="cell-7"' in page
    assert '<option value="discussion" selected>' in page
    assert "may not post" in page
    assert not Thread.objects.filter(title="Typed title").exists()


def test_a_new_thread_refused_for_its_text_comes_back_with_the_title(course, learner):
    response = page_client(learner).post(board_url(course, "new"), {
        "kind": "question", "title": "Only a title", "body": "",
    })
    assert response.status_code == 400
    assert 'value="Only a title"' in response.content.decode()


def test_a_reply_refused_by_the_posting_rate_comes_back_with_its_text(course, learner,
                                                                     other_learner, settings):
    thread, _ = services.create_thread(selectors.viewer(learner, course), kind="question",
                                       title="Loops", body="How do loops work?")
    settings.LMS_COMMUNITY_POST_RATE = "1/min"
    client = page_client(other_learner)
    url = board_url(course, str(thread.pk), "act")
    assert client.post(url, {"action": "reply", "body": "First answer"}).status_code == 302
    response = client.post(url, {"action": "reply", "body": TYPED})
    assert response.status_code == 400
    page = response.content.decode()
    assert "posting too fast" in page
    assert f">{html.escape(TYPED)}</textarea>" in page
    assert Post.objects.filter(thread=thread).count() == 2


def test_a_refused_comment_comes_back_open_under_its_post(course, learner, other_learner,
                                                          instructor):
    thread, _ = services.create_thread(selectors.viewer(learner, course), kind="question",
                                       title="Loops", body="How do loops work?")
    services.ban(selectors.viewer(instructor, course), other_learner, days=3)
    opening = thread.opening_post
    response = page_client(other_learner).post(board_url(course, str(thread.pk), "act"), {
        "action": "reply", "post": opening.pk, "body": TYPED,
    })
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="comment-{opening.pk}" name="body" rows="2" required>{html.escape(TYPED)}' in page
