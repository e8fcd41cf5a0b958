"""A post held for review (it may show a solution) reaches the course's instructors, in the LMS
and by email, linking to the review queue; nobody is shown what the held post says."""

from __future__ import annotations

import pytest

from lms.community import selectors as board
from lms.community import services as posting
from lms.notifications import services
from lms.notifications.models import DEFAULT_DELIVERY, Delivery, Kind, Notification
from lms.notifications.tasks import send_emails
from tests.support.lms_factories import StaffFactory

SOLUTION = """I did it like this:

```python
def to_f(c):
    return c*9/5+32   # my answer
```
"""
REVIEW_QUEUE = "/courses/python-101/board/review/"


@pytest.fixture(autouse=True)
def _fast_enough(settings):
    settings.LMS_COMMUNITY_POST_RATE = "1000/min"


@pytest.fixture
def held_thread(django_capture_on_commit_callbacks, course, learner):
    with django_capture_on_commit_callbacks(execute=True):
        thread, held = posting.create_thread(
            board.viewer(learner, course), kind="question", title="Temperatures",
            body=SOLUTION, anonymous=True,
        )
    assert held
    return thread


def test_a_held_post_notifies_the_course_instructors_with_a_link_to_the_review_queue(
        course, learner, instructor, held_thread):
    [told] = Notification.objects.filter(kind=Kind.HELD_FOR_REVIEW)
    assert told.recipient == instructor
    assert told.url == REVIEW_QUEUE
    assert told.actor == learner  # an anonymous post names its author to instructors
    assert "held for your review" in told.sentence
    assert told.email == DEFAULT_DELIVERY[Kind.HELD_FOR_REVIEW] == Delivery.IMMEDIATE


def test_nobody_but_the_course_instructors_is_told_of_a_held_post(
        course, learner, other_learner, other_course_instructor, instructor, held_thread):
    StaffFactory(username="root-admin")
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["ada"]


def test_the_held_post_notification_and_its_email_never_show_what_the_post_says(
        course, instructor, held_thread, mailoutbox):
    [told] = Notification.objects.filter(recipient=instructor)
    assert "to_f" not in told.sentence and "9/5" not in told.sentence
    send_emails.call([told.pk])
    [message] = mailoutbox
    bodies = [message.body, *(content for content, _ in message.alternatives)]
    assert all("to_f" not in body and "9/5" not in body for body in bodies)
    assert any(REVIEW_QUEUE in body for body in bodies)
    assert message.to == [instructor.email]


def test_held_posts_email_follows_the_instructors_preference(
        django_capture_on_commit_callbacks, course, learner, instructor):
    services.set_delivery(instructor, Kind.HELD_FOR_REVIEW, Delivery.OFF)
    with django_capture_on_commit_callbacks(execute=True):
        posting.create_thread(board.viewer(learner, course), kind="question", title="T",
                              body=SOLUTION)
    assert Notification.objects.get(recipient=instructor).email == Delivery.OFF
