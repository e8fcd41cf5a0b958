"""Notifications in the LMS (lms.notifications): who is told of what on the board and in the
gradebook, anonymity, the bell, the notifications page (own notifications only, mark read,
paginated, a fixed number of queries), email preferences and signed unsubscribe links."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from lms.community import selectors as board
from lms.community import services as posting
from lms.courses.models import AssignmentPage
from lms.gradebook.services import record_grade
from lms.notifications import services, unsubscribe
from lms.notifications.models import DEFAULT_DELIVERY, Delivery, Kind, Notification, Preference
from lms.notifications.services import ANONYMOUS, Event
from lms.notifications.tasks import send_emails
from tests.support.lms_factories import EnrollmentFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_enough(settings):
    settings.LMS_COMMUNITY_POST_RATE = "1000/min"


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what a write does once committed (the board's and gradebook's signals, and the
    tasks enqueued after them), as in a request."""
    def run(write, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return write(*args, **kwargs)
    return run


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ask(committed, user, course, **kwargs):
    thread, _ = committed(
        posting.create_thread, board.viewer(user, course), kind=kwargs.pop("kind", "question"),
        title=kwargs.pop("title", "Loops"), body=kwargs.pop("body", "How do loops work?"),
        **kwargs,
    )
    return thread


def answer(committed, user, course, thread, body="Use for.", **kwargs):
    post, _ = committed(posting.reply, board.viewer(user, course), thread, body=body, **kwargs)
    return post


def of(user, kind=None):
    found = Notification.objects.filter(recipient=user)
    return list(found.filter(kind=kind) if kind else found)


# --- Who is told of what --------------------------------------------------------------------


def test_followers_of_a_thread_are_told_of_a_reply_but_not_its_author(
        committed, course, learner, other_learner):
    thread = ask(committed, learner, course)
    answer(committed, other_learner, course, thread)
    [told] = of(learner, Kind.REPLY)
    assert told.sentence == f"{other_learner.display_name} answered in “Loops”"
    assert told.url.startswith(f"/courses/{course.slug}/board/{thread.pk}/#post-")
    assert of(other_learner) == []


def test_a_mentioned_member_gets_a_mention_not_also_a_reply(committed, course, learner,
                                                            other_learner):
    thread = ask(committed, learner, course)
    answer(committed, other_learner, course, thread, body=f"@{learner.username} try `for`.")
    assert [n.kind for n in of(learner)] == [Kind.MENTION]


def test_an_anonymous_reply_names_its_author_to_instructors_only(
        committed, course, learner, other_learner, instructor):
    thread = ask(committed, instructor, course)
    posting.follow(board.viewer(learner, course), thread)
    answer(committed, other_learner, course, thread, anonymous=True)
    [to_classmate] = of(learner, Kind.REPLY)
    [to_instructor] = of(instructor, Kind.REPLY)
    assert (to_classmate.actor, to_classmate.actor_name) == (None, ANONYMOUS)
    assert other_learner.display_name not in to_classmate.sentence
    assert to_instructor.actor == other_learner
    page = client_of(learner).get("/notifications/").content.decode()
    assert other_learner.display_name not in page and ANONYMOUS in page


def test_a_reply_in_a_private_thread_reaches_no_classmate(committed, course, learner,
                                                          other_learner, instructor):
    thread = ask(committed, learner, course, private=True)
    posting.follow(board.viewer(other_learner, course), thread)  # followed before: not a reader
    answer(committed, instructor, course, thread, body=f"@{other_learner.username} see this")
    assert of(other_learner) == []
    assert [n.kind for n in of(learner)] == [Kind.REPLY]


def test_an_announcement_reaches_every_learner_of_the_course(committed, course, learner,
                                                             other_learner, instructor,
                                                             other_course_instructor):
    outsider = UserFactory(username="outsider")
    ask(committed, instructor, course, kind="announcement", title="Exam on Friday")
    for member in (learner, other_learner):
        [told] = of(member, Kind.ANNOUNCEMENT)
        assert "Exam on Friday" in told.sentence
    assert of(outsider) == [] and of(other_course_instructor) == [] and of(instructor) == []


def test_the_author_of_an_endorsed_answer_is_told(committed, course, learner, other_learner,
                                                  instructor):
    thread = ask(committed, learner, course)
    post = answer(committed, other_learner, course, thread)
    committed(posting.endorse, board.viewer(instructor, course), post)
    [told] = of(other_learner, Kind.ENDORSEMENT)
    assert told.actor == instructor and "endorsed your answer" in told.sentence


def grade(committed, assignment, learner, submission="s1", feedback=""):
    return committed(
        record_grade, assignment=assignment, learner=learner, submission_id=submission,
        score=Decimal("8.5"), max_score=Decimal(10),
        submitted_at=timezone.now() - dt.timedelta(hours=1), feedback_html=feedback,
    )


def test_a_new_grade_and_later_released_feedback_are_told_to_the_learner(committed, course,
                                                                         learner):
    assignment = AssignmentPage.objects.get(slug="ps1-basics")
    grade(committed, assignment, learner)
    [told] = of(learner, Kind.GRADE)
    assert f"Your grade for {assignment.title}: 8.5/10" == told.sentence
    grade(committed, assignment, learner, feedback="<p>Well done</p>")  # the same submission
    assert len(of(learner, Kind.FEEDBACK)) == 1
    grade(committed, assignment, learner, feedback="<p>Well done</p>")  # pushed again
    assert len(of(learner, Kind.FEEDBACK)) == 1 and len(of(learner, Kind.GRADE)) == 1


# --- Email goes to the worker, per the recipient's preference -------------------------------


def test_an_immediate_email_is_queued_for_the_worker_after_commit_never_sent_in_the_request(
        committed, course, learner, other_learner, mailoutbox):
    thread = ask(committed, learner, course)
    answer(committed, other_learner, course, thread, body=f"@{learner.username} hello")
    [mention] = of(learner, Kind.MENTION)
    assert mention.email == Delivery.IMMEDIATE and mention.emailed_at is None
    queued = DBTaskResult.objects.filter(task_path=send_emails.module_path)
    assert [t.status for t in queued] == [TaskResultStatus.READY]
    assert queued[0].args_kwargs["args"] == [[mention.pk]]
    assert mailoutbox == []


def test_preferences_decide_how_each_kind_goes_out(committed, course, learner, other_learner):
    services.set_delivery(learner, Kind.MENTION, Delivery.OFF)
    thread = ask(committed, learner, course)
    answer(committed, other_learner, course, thread, body=f"@{learner.username} hello")
    answer(committed, instructor_like(course), course, thread)
    assert {n.kind: n.email for n in of(learner)} == {
        Kind.MENTION: Delivery.OFF, Kind.REPLY: Delivery.DIGEST,  # replies: digest by default
    }
    assert not DBTaskResult.objects.filter(task_path=send_emails.module_path).exists()


def instructor_like(course):
    user = UserFactory(username="third")
    EnrollmentFactory(user=user, course=course)
    return user


def test_the_preferences_page_saves_each_kind_and_refuses_a_made_up_value(learner):
    client = client_of(learner)
    page = client.get("/notifications/preferences/").content.decode()
    assert 'name="announcement" value="immediate" id="announcement-immediate"' in page
    chosen = {kind: Delivery.DIGEST for kind in Kind.values}
    assert client.post("/notifications/preferences/", chosen).status_code == 302
    assert set(Preference.objects.filter(user=learner).values_list("delivery", flat=True)) == {
        "digest"}
    refused = client.post("/notifications/preferences/", {**chosen, "grade": "hourly"},
                          follow=True)
    assert "Choose, for each kind" in refused.content.decode()
    assert Preference.objects.get(user=learner, kind="grade").delivery == "digest"


# --- The bell and the notifications page ----------------------------------------------------


def make(user, count, course=None, kind=Kind.GRADE):
    event = Event(kind=kind, text="graded “Loops”", url="/dashboard/", course=course)
    return [services.notify(event, [user])[0] for _ in range(count)]


def test_the_bell_shows_the_unread_count(learner):
    make(learner, 3)
    page = client_of(learner).get("/dashboard/").content.decode()
    assert 'data-unread="3"' in page
    services.mark_all_read(learner)
    assert "data-unread" not in client_of(learner).get("/dashboard/").content.decode()


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_notifications_page_costs_the_same_queries_however_many_there_are(learner):
    client = client_of(learner)
    make(learner, 2)
    client.get("/notifications/")  # the first request of a session does more once
    few = queries(client, "/notifications/")
    make(learner, 40)
    client.get("/notifications/")  # the bell's count is read again once after new ones
    assert queries(client, "/notifications/") == few
    assert few <= 9  # session, user, the bell's count, the page's count and rows, ...


def test_the_notifications_page_is_paginated_newest_first(learner):
    made = make(learner, 25)
    client = client_of(learner)
    first = client.get("/notifications/").context["page_obj"]
    second = client.get("/notifications/?page=2").context["page_obj"]
    assert [n.pk for n in first] == [n.pk for n in reversed(made[5:])]
    assert [n.pk for n in second] == [n.pk for n in reversed(made[:5])]
    assert client.get("/notifications/?page=junk").status_code == 200


def test_marking_one_read_and_all_read(learner):
    first, second, _third = make(learner, 3)
    client = client_of(learner)
    assert client.post(f"/notifications/{first.pk}/read/").status_code == 302
    assert Notification.objects.filter(recipient=learner, read_at__isnull=True).count() == 2
    opened = client.post(f"/notifications/{second.pk}/read/", {"open": "1"})
    assert opened["Location"] == "/dashboard/"
    client.post("/notifications/read-all/")
    assert not Notification.objects.filter(recipient=learner, read_at__isnull=True).exists()


def test_nobody_reads_or_marks_another_persons_notifications(learner, other_learner):
    [theirs] = make(other_learner, 1)
    client = client_of(learner)
    assert client.get("/notifications/").context["page_obj"].paginator.count == 0
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    client.post("/notifications/read-all/")
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_notifications_pages_need_a_sign_in(learner):
    [mine] = make(learner, 1)
    anonymous = Client()
    for method, url in (("get", "/notifications/"), ("post", f"/notifications/{mine.pk}/read/"),
                        ("post", "/notifications/read-all/"),
                        ("get", "/notifications/preferences/")):
        response = getattr(anonymous, method)(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    mine.refresh_from_db()
    assert mine.read_at is None


# --- Unsubscribe links ----------------------------------------------------------------------


def test_an_unsubscribe_link_shows_a_confirm_page_and_its_post_unsubscribes(learner):
    link = unsubscribe.url(learner.pk, Kind.MENTION)
    path = link.removeprefix("http://testserver").split("://", 1)[-1]
    path = path[path.index("/"):]
    anonymous = Client()
    page = anonymous.get(path)
    assert page.status_code == 200 and "Stop email for mentions of me?" in page.content.decode()
    assert not Preference.objects.filter(user=learner).exists()  # a GET changes nothing
    done = anonymous.post(path)
    assert done.status_code == 200
    assert Preference.objects.get(user=learner, kind=Kind.MENTION).delivery == Delivery.OFF


def test_a_tampered_unsubscribe_link_is_refused_with_a_sentence(learner, other_learner):
    token = unsubscribe.token(learner.pk, Kind.MENTION)
    forged = unsubscribe.token(learner.pk, Kind.MENTION).replace(
        token.split(":")[0], unsubscribe.token(other_learner.pk, Kind.MENTION).split(":")[0]
    )
    for bad in (token[:-2] + "xx", forged, "made-up", token + "a"):
        response = Client().post(f"/notifications/unsubscribe/{bad}/")
        assert response.status_code == 400
        assert "This unsubscribe link is not valid" in response.content.decode()
    assert not Preference.objects.exists()


def test_a_digest_link_stops_every_kind_that_goes_in_the_digest(learner):
    services.set_delivery(learner, Kind.GRADE, Delivery.DIGEST)
    services.unsubscribe_by_link(unsubscribe.token(learner.pk, unsubscribe.DIGEST))
    chosen = dict(Preference.objects.filter(user=learner).values_list("kind", "delivery"))
    in_the_digest = [kind for kind, how in DEFAULT_DELIVERY.items() if how == Delivery.DIGEST]
    assert Kind.REPLY in in_the_digest
    assert chosen == {Kind.GRADE: Delivery.OFF} | dict.fromkeys(in_the_digest, Delivery.OFF)


def test_opening_a_notification_never_leaves_the_lms(learner):
    event = Event(kind=Kind.GRADE, text="graded", url="//evil.example/")
    [stored] = services.notify(event, [learner])
    opened = client_of(learner).post(f"/notifications/{stored.pk}/read/", {"open": "1"})
    assert opened["Location"] == "/notifications/"
