"""Counting the queries of a board page or API answer, and growing a board for it: the board's
pages (test_community_pages.py) and API (test_api_board.py) cost the same queries for few or
many threads and replies."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from lms.community.models import PostKind
from tests.support.lms_factories import EnrollmentFactory, PostFactory, ThreadFactory, UserFactory


def queries_for(client, url) -> int:
    """The queries of a second GET of ``url`` (the first warms what is cached per process)."""
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def add_threads(course, n):
    """``n`` anonymous threads by new members of ``course``, each with an answer."""
    for _ in range(n):
        author = UserFactory()
        EnrollmentFactory(user=author, course=course)
        made = ThreadFactory(course=course, author=author, anonymous=True)
        PostFactory(thread=made, author=author, kind=PostKind.ANSWER)
