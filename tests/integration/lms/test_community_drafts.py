"""The tutor panel's "Ask the class" draft page (``/courses/<slug>/board/ask/``,
lms.community.drafts): members only, the query treated as hostile (anchors checked against the
course, lengths capped, everything escaped), and nothing posted until the learner sends the
form; once posted, the thread counts in "Discussion (N)" on the page it is anchored to."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.urls import reverse

from courses.naming import board_draft_path
from lms.community import drafts
from lms.community.models import Thread
from lms.courses.models import AssignmentPage
from tests.support.lms_factories import CourseFactory, EnrollmentFactory, LessonFactory, UserFactory
from tests.support.lms_fixtures import client_for

TRACEBACK = (
    "---------------------------------------------------------------------------\n"
    "NameError                                 Traceback (most recent call last)\n"
    "Cell In[3], line 2\n"
    "NameError: name 'fahrenheit' is not defined"
)
DRAFT = {
    "title": "Why is fahrenheit not defined?",
    "about": "ps1-basics",
    "cell": "ps1-celsius-answer",
    "n": "3",
    "notebook": "ps1-basics.ipynb",
    "error": "NameError: name 'fahrenheit' is not defined",
    "traceback": TRACEBACK,
}


def draft_url(course, **query) -> str:
    return board_draft_path(course.slug) + "?" + urlencode(query)


def open_draft(user, course, **query):
    return client_for(user).get(draft_url(course, **query))


def test_the_draft_page_is_where_the_tutor_sends_it(course):
    assert reverse("community-draft-thread", args=[course.slug]) == board_draft_path(course.slug)


@pytest.mark.parametrize(
    ("role", "expected"),
    [("course_learner", 200), ("other_course_learner", 403), ("instructor", 200),
     ("staff", 200), ("anonymous", 302)],
)
def test_only_the_courses_members_open_a_draft(course, learner, instructor, staff, role,
                                               expected):
    stranger = UserFactory(username="eve")
    EnrollmentFactory(user=stranger)
    users = {"course_learner": learner, "other_course_learner": stranger,
             "instructor": instructor, "staff": staff, "anonymous": None}
    page = open_draft(users[role], course, **DRAFT)
    assert page.status_code == expected
    if role == "anonymous":  # signed in, they come back to the same draft
        where = urlsplit(page["Location"])
        assert where.path == reverse("login")
        assert parse_qs(where.query)["next"] == [draft_url(course, **DRAFT)]


def test_the_draft_is_prefilled_with_the_question_the_anchor_and_the_error(course, learner):
    page = open_draft(learner, course, **DRAFT)
    html = page.content.decode()
    draft = page.context["draft"]
    assert draft.title == DRAFT["title"]
    assert draft.anchor == AssignmentPage.objects.get(slug="ps1-basics")
    assert (draft.cell, draft.cell_number) == ("ps1-celsius-answer", 3)
    assert f"About:</strong> {draft.anchor.title} · ps1-basics.ipynb · cell 3" in html
    assert 'value="question"' in html
    assert f'<option value="ps1-basics" selected>{draft.anchor.title}</option>' in html
    assert "Traceback (most recent call last)" in draft.body
    assert "NameError: name &#x27;fahrenheit&#x27; is not defined" in html
    assert 'class="pls-draft-preview"' in html and "<pre" in html.split("pls-draft-preview")[1]


def test_the_error_line_shows_once_when_the_traceback_ends_with_it(course, learner):
    draft = open_draft(learner, course, **DRAFT).context["draft"]
    assert draft.body.count(DRAFT["error"]) == 1
    other = open_draft(learner, course, **{**DRAFT, "traceback": "Cell In[3], line 2"})
    assert other.context["draft"].body.count(DRAFT["error"]) == 1  # not in it: added after
    assert "Cell In[3], line 2\n" + DRAFT["error"] in other.context["draft"].body


def test_an_anchor_to_another_courses_page_is_dropped_with_a_sentence(course, learner):
    other = CourseFactory(slug="data-201", title="Data 201")
    LessonFactory(parent=other, slug="pandas", title="Pandas")
    for about in ("pandas", "data-201", "python-101", "../data-201/pandas"):
        page = open_draft(learner, course, **{**DRAFT, "about": about})
        assert page.context["draft"].anchor is None
        assert "not a lesson or assignment of this course" in page.content.decode()
        assert " selected>" not in page.content.decode().split('id="draft-anchor"')[1]


def test_a_bad_cell_id_or_number_is_dropped_with_a_sentence(course, learner):
    page = open_draft(learner, course, **{**DRAFT, "cell": 'x" onfocus="alert(1)', "n": "²"})
    draft = page.context["draft"]
    assert (draft.cell, draft.cell_number) == ("", None)
    html = page.content.decode()
    assert "cell id is not a notebook cell id" in html and "cell number is not a number" in html
    assert 'onfocus="alert(1)' not in html


def test_hostile_text_in_the_draft_is_escaped_everywhere(course, learner):
    hostile = "</textarea><script>alert(1)</script><img src=x onerror=alert(2)>"
    page = open_draft(learner, course, title=hostile, notebook=hostile, error=hostile,
                      traceback=f"```\n{hostile}\n````", about="ps1-basics")
    html = page.content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    body = page.context["draft"].body
    # The fence is longer than any run of backticks in the traceback: it stays code.
    assert "`````text\n" in body


def test_the_drafts_texts_are_capped_and_stripped_of_control_characters(course, learner):
    page = open_draft(learner, course, title="T" * 5000 + "\x00\x07",
                      traceback="\x1b[31mline\x1b[0m\n" * 2000 + "NameError: the end",
                      error="E" * 5000, notebook="n" * 1000)
    draft = page.context["draft"]
    assert len(draft.title) == drafts.MAX_TITLE and "\x00" not in draft.title
    assert len(draft.traceback) == drafts.MAX_TRACEBACK
    assert draft.traceback.endswith("NameError: the end") and "\x1b" not in draft.traceback
    assert len(draft.error) == drafts.MAX_ERROR and len(draft.notebook) == drafts.MAX_NOTEBOOK


def test_the_draft_is_not_posted_until_the_learner_sends_it_then_shows_on_its_page(
    course, learner, settings
):
    settings.LMS_COMMUNITY_POST_RATE = "100/min"
    client = client_for(learner)
    page = client.get(draft_url(course, **DRAFT))
    assert page.status_code == 200
    assert not Thread.objects.exists()
    assignment = AssignmentPage.objects.get(slug="ps1-basics")
    assert "Discussion (0)" in client.get(assignment.url).content.decode()

    draft = page.context["draft"]
    sent = client.post(reverse("community-new-thread", args=[course.slug]), {
        "kind": "question", "title": draft.title, "anchor": draft.anchor.slug,
        "cell": draft.cell, "body": draft.body + "I named it f.",
    })
    thread = Thread.objects.get()
    assert sent["Location"] == reverse("community-thread", args=[course.slug, thread.pk])
    assert (thread.kind, thread.anchor_page_id, thread.anchor_cell) == (
        "question", assignment.pk, "ps1-celsius-answer")
    assert "Discussion (1)" in client.get(assignment.url).content.decode()


def test_with_discourse_the_draft_goes_to_the_courses_category(course, learner, discourse):
    page = open_draft(learner, course, **DRAFT)
    assert page.status_code == 302 and page["Location"].startswith(discourse)
