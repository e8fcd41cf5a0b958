"""Notification email, end to end with real parts: posts written and committed in PostgreSQL,
the background worker (``python -m lms worker --batch``: django-tasks' database worker) sending
through SMTP to an aiosmtpd server in the test; the messages' parts, one-click unsubscribe
headers and links, hostile input inert in the HTML part, and the digest sent once."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.test import Client
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from lms.community import selectors as board
from lms.community import services as posting
from lms.notifications.models import Delivery, Kind, Notification, Preference
from lms.notifications.tasks import send_daily_digest

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("wagtail_initial_tree"),
]
PUBLIC = "https://lms.example.org"
HOSTILE_TITLE = '<script>alert("t")</script><img src=x onerror=alert(1)>'


class Inbox:
    """An aiosmtpd handler: every message it accepts, parsed."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox(settings):
    handler = Inbox()
    server = Controller(handler, hostname="127.0.0.1", port=free_port())
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.LMS_PUBLIC_URL = PUBLIC
    settings.LMS_COMMUNITY_POST_RATE = "1000/min"
    yield handler
    server.stop()


def run_worker() -> None:
    """The worker for real, until the queue holds nothing due."""
    call_command("worker", batch=True, interval=0.1, verbosity=0)


def parts(message) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.walk()
            if not part.is_multipart()}


def test_the_worker_sends_a_mention_by_smtp_with_text_and_html_parts_and_one_click_unsubscribe(
        inbox, course, learner, other_learner):
    thread, _ = posting.create_thread(board.viewer(learner, course), kind="question",
                                      title=HOSTILE_TITLE, body="How?")
    posting.reply(board.viewer(other_learner, course), thread,
                  body=f"@{learner.username} look at this")
    assert inbox.messages == []  # nothing is sent in the request
    run_worker()

    [message] = inbox.messages
    assert message["X-Envelope-To"] == learner.email
    assert message["Subject"].strip().startswith(f"{other_learner.display_name} mentioned you in")
    body = parts(message)
    assert set(body) == {"text/plain", "text/html"}
    assert HOSTILE_TITLE in body["text/plain"]  # plain text shows what was written, as text
    html = body["text/html"]
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in html
    assert f'href="{PUBLIC}/courses/{course.slug}/board/{thread.pk}/#post-' in html

    link = message["List-Unsubscribe"].strip().strip("<>")  # folded: a long header
    assert link.startswith(f"{PUBLIC}/notifications/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in body["text/plain"] and link in html
    mention = Notification.objects.get(recipient=learner, kind=Kind.MENTION)
    assert mention.emailed_at is not None

    run_worker()  # again: nothing is sent twice
    assert len(inbox.messages) == 1

    # the mail client's one-click POST, without a session or CSRF token
    response = Client(enforce_csrf_checks=True).post(link.removeprefix(PUBLIC),
                                                     {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Preference.objects.get(user=learner, kind=Kind.MENTION).delivery == Delivery.OFF
    posting.reply(board.viewer(other_learner, course), thread,
                  body=f"@{learner.username} once more")
    run_worker()
    assert len(inbox.messages) == 1  # unsubscribed: no more mention email


def test_the_daily_digest_sends_one_message_per_person_once(inbox, course, learner,
                                                            other_learner, instructor):
    thread, _ = posting.create_thread(board.viewer(learner, course), kind="question",
                                      title="Loops", body="How?")
    posting.reply(board.viewer(other_learner, course), thread, body="Use for.")
    posting.reply(board.viewer(instructor, course), thread, body="Or while.")
    run_worker()
    assert inbox.messages == []  # replies go in the digest by default
    assert DBTaskResult.objects.filter(
        task_path=send_daily_digest.module_path, status=TaskResultStatus.READY
    ).count() == 1  # the worker queued the next digest, due later

    send_daily_digest.enqueue()  # as the scheduled run does when it is due
    run_worker()
    to = {m["X-Envelope-To"]: m for m in inbox.messages}
    assert len(inbox.messages) == 2 and set(to) == {learner.email, other_learner.email}
    digest = to[learner.email]  # both answers, in one message; the classmate: the instructor's
    text = parts(digest)["text/plain"]
    assert "answered in “Loops”" in text and text.count("answered in") == 2
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not Notification.objects.filter(email=Delivery.DIGEST, emailed_at__isnull=True)

    call_command("send_digests", verbosity=0)
    send_daily_digest.enqueue()
    run_worker()
    assert len(inbox.messages) == 2  # each item is sent once
    waiting = DBTaskResult.objects.filter(
        task_path=send_daily_digest.module_path, status=TaskResultStatus.READY
    )
    assert waiting.count() == 1 and waiting.get().run_after > dt.datetime.now(dt.UTC)
