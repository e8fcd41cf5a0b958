""""Discussion (N)" on lesson and assignment pages: the threads of each page are counted once per
process and version of the board (lms.community.selectors.discussion_count), and every change
that could change a count, a service's or not, shows at the next request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from lms.community import selectors, services
from lms.community.models import Thread
from lms.courses.models import LessonPage
from tests.support.lms_factories import ThreadFactory

pytestmark = pytest.mark.django_db

SOLUTION = """Here is my whole answer:

```python
def to_f(c):
    return c*9/5+32
```
"""


@pytest.fixture(autouse=True)
def _fast_enough(settings):
    settings.LMS_COMMUNITY_POST_RATE = "100/min"


@pytest.fixture
def lesson(course):
    return LessonPage.objects.get(slug="basics")


def count(user, lesson) -> int:
    return selectors.discussion_count(user, lesson)[0]


def shown(user, lesson) -> str:
    client = Client()
    client.force_login(user)
    page = client.get(lesson.url).content.decode()
    return page[page.index("Discussion ("):].split(")")[0] + ")"


def ask(user, course, lesson, **kwargs) -> Thread:
    thread, _ = services.create_thread(
        selectors.viewer(user, course), kind="question", title=kwargs.pop("title", "Loops"),
        body=kwargs.pop("body", "How do loops work?"), anchor_page=lesson, **kwargs
    )
    return thread


def test_another_learner_reads_the_count_without_counting_again(
    course, lesson, learner, other_learner
):
    ask(learner, course, lesson)
    assert shown(learner, lesson) == "Discussion (1)"
    client = Client()
    client.force_login(other_learner)
    client.get(lesson.url)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(lesson.url).content.decode()
    assert "Discussion (1)" in page
    assert not [q for q in captured if '"community_thread"' in q["sql"]]


def test_a_new_thread_counts_at_the_next_request(course, lesson, learner, other_learner):
    assert shown(other_learner, lesson) == "Discussion (0)"
    ask(learner, course, lesson)
    assert shown(other_learner, lesson) == "Discussion (1)"


def test_a_private_thread_counts_for_its_author_and_the_moderators_only(
    course, lesson, learner, other_learner, instructor
):
    ask(learner, course, lesson)
    ask(learner, course, lesson, title="Mine", private=True)
    assert count(other_learner, lesson) == 1
    assert count(learner, lesson) == 2
    assert count(instructor, lesson) == 2


def test_a_held_solution_counts_for_its_author_until_approved(
    course, lesson, learner, other_learner, instructor
):
    thread = ask(learner, course, lesson, body=SOLUTION)
    assert (count(learner, lesson), count(other_learner, lesson)) == (1, 0)
    services.review(selectors.viewer(instructor, course), thread.opening_post, approve=True)
    assert (count(learner, lesson), count(other_learner, lesson)) == (1, 1)


def test_hiding_and_moving_a_thread_change_the_counts(
    course, lesson, learner, other_learner, instructor
):
    thread = ask(learner, course, lesson)
    moderator = selectors.viewer(instructor, course)
    services.set_thread_flags(moderator, thread, hidden=True)  # an update in place
    assert (count(other_learner, lesson), count(learner, lesson)) == (0, 0)
    assert count(instructor, lesson) == 1
    services.set_thread_flags(moderator, thread, hidden=False)
    assert count(other_learner, lesson) == 1
    services.move_thread(moderator, thread, anchor_page=None)  # off the lesson
    assert (count(other_learner, lesson), count(instructor, lesson)) == (0, 0)


def test_a_thread_written_or_deleted_outside_the_services_changes_the_count(
    course, lesson, learner, other_learner
):
    assert count(other_learner, lesson) == 0
    thread = ThreadFactory(course=course, author=learner, anchor_page=lesson)
    assert count(other_learner, lesson) == 1
    thread.delete()
    assert count(other_learner, lesson) == 0
