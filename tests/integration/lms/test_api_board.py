"""The course board through API v1 (lms.api.board): the same rules as the pages, asked of the
same services and selectors; the moderation the issue asks for (bans listed and lifted, threads
moved between courses, an audit trail of every moderation action); hostile input; and a fixed
number of queries however many threads and replies there are."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from lms.community.models import AuditEntry, Mention, Post, Thread
from lms.courses.models import EnrollmentRole
from lms.courses.services import enroll
from tests.support.board_queries import add_threads, queries_for
from tests.support.lms_factories import (
    CourseFactory,
    EnrollmentFactory,
    LessonFactory,
    PostFactory,
    ThreadFactory,
    UserFactory,
)

SOLUTION = "I did it like this:\n\n```python\ndef to_f(c):\n    return c*9/5+32\n```\n"


@pytest.fixture(autouse=True)
def _fast_enough(settings):
    settings.LMS_COMMUNITY_POST_RATE = "100/min"


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def board(course) -> str:
    return f"/api/v1/courses/{course.slug}/"


def ask(user, course, **fields):
    body = {"kind": "question", "title": "Loops", "body": "How do loops work?", **fields}
    return api(user).post(board(course) + "threads/", body, format="json")


def test_a_learner_asks_a_classmate_answers_and_the_instructor_endorses(
    course, learner, other_learner, instructor
):
    asked = ask(learner, course, anchor="basics")
    assert asked.status_code == 201
    thread = asked.json()
    assert (thread["author"], thread["anchor"], thread["held"]) == ("grace", "basics", None)
    answer = api(other_learner).post(
        board(course) + f"threads/{thread['id']}/replies/", {"body": "Use `for`."}, format="json"
    ).json()
    api(learner).post(board(course) + f"threads/{thread['id']}/replies/",
                      {"body": "Thanks!", "parent": answer["id"]}, format="json")
    assert api(instructor).post(board(course) + f"posts/{answer['id']}/endorse/").status_code \
        == 204
    read = api(learner).get(board(course) + f"threads/{thread['id']}/").json()
    assert [p["kind"] for p in read["posts"]] == ["opening", "answer"]
    assert read["posts"][1]["endorsed"] is True
    assert [c["body"] for c in read["posts"][1]["comments"]] == ["Thanks!"]
    assert "<code>for</code>" in read["posts"][1]["html"]


def test_anonymous_threads_name_no_author_to_classmates_but_to_instructors(
    course, learner, other_learner, instructor
):
    made = ask(learner, course, anonymous=True).json()
    path = board(course) + f"threads/{made['id']}/"
    assert api(other_learner).get(path).json()["author"] is None
    assert api(other_learner).get(path).json()["posts"][0]["author"] is None
    assert api(instructor).get(path).json()["author"] == "grace"
    assert api(learner).get(board(course) + "threads/").json()["results"][0]["author"] == "grace"


def test_list_filters_and_full_text_search(course, learner, other_learner):
    ask(learner, course, title="Recursion depth", body="Why does my recursion never end?")
    ask(other_learner, course, title="Tuples", body="Are tuples immutable?", kind="discussion")

    def titles(user, query):
        found = api(user).get(board(course) + "threads/" + query).json()["results"]
        return sorted(t["title"] for t in found)

    assert titles(learner, "?q=recursion") == ["Recursion depth"]
    assert titles(learner, "?q=immutable") == ["Tuples"]
    assert titles(learner, "?mine=true") == ["Recursion depth"]
    assert titles(learner, "?following=true") == ["Recursion depth"]
    assert titles(learner, "?unanswered=true") == ["Recursion depth"]
    assert titles(learner, "?kind=discussion") == ["Tuples"]
    assert titles(learner, "?anchor=no-such-lesson") == []


def test_posting_too_fast_is_a_429_with_a_sentence_and_retry_after(settings, course, learner):
    settings.LMS_COMMUNITY_POST_RATE = "2/min"
    assert ask(learner, course).status_code == 201
    assert ask(learner, course).status_code == 201
    refused = ask(learner, course)
    assert refused.status_code == 429
    assert "posting too fast" in refused.json()["detail"]
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_a_banned_member_is_told_until_when_and_why(course, learner, instructor):
    banned = api(instructor).post(board(course) + "bans/",
                                  {"username": "grace", "days": 3, "reason": "Spamming"},
                                  format="json")
    assert banned.status_code == 201
    refused = ask(learner, course)
    assert refused.status_code == 403
    assert "You may not post on this board until" in refused.json()["detail"]
    assert refused.json()["detail"].endswith(": Spamming")
    page = Client()
    page.force_login(learner)
    shown = page.post(f"/courses/{course.slug}/board/new/",
                      {"kind": "question", "title": "x", "body": "y"}, follow=True)
    assert "You may not post on this board until" in shown.content.decode()


def test_bans_are_listed_and_lifted_and_the_member_posts_again(course, learner, instructor):
    ban = api(instructor).post(board(course) + "bans/", {"username": "grace", "days": 3},
                               format="json").json()
    listed = api(instructor).get(board(course) + "bans/").json()["results"]
    assert [(b["user"], b["banned_by"]) for b in listed] == [("grace", "ada")]
    audit_page = Client()
    audit_page.force_login(instructor)
    assert "Lift the ban on grace" in audit_page.get(
        f"/courses/{course.slug}/board/audit/").content.decode()
    assert api(instructor).delete(board(course) + f"bans/{ban['id']}/").status_code == 204
    assert api(instructor).get(board(course) + "bans/").json()["results"] == []
    assert ask(learner, course).status_code == 201
    assert api(instructor).delete(board(course) + f"bans/{ban['id']}/").status_code == 404


def test_a_thread_moves_to_another_course_only_for_an_instructor_of_both(
    course, learner, instructor, staff
):
    other = CourseFactory(slug="data-201", title="Data 201")
    LessonFactory(parent=other, slug="frames", title="Frames")
    thread = ask(learner, course).json()
    move = board(course) + f"threads/{thread['id']}/move/"
    refused = api(instructor).post(move, {"course": "data-201"}, format="json")
    assert refused.status_code == 403
    assert "instructor of both courses" in refused.json()["detail"]
    enroll(instructor, other, EnrollmentRole.INSTRUCTOR)
    moved = api(instructor).post(move, {"course": "data-201", "anchor": "frames"},
                                 format="json")
    assert moved.status_code == 204
    assert Thread.objects.get(pk=thread["id"]).course_id == other.pk
    assert api(instructor).get(board(other) + f"threads/{thread['id']}/").json()["anchor"] \
        == "frames"
    assert [(e.course_id, e.detail) for e in AuditEntry.objects.filter(action="move")] == [
        (other.pk, "from Python 101, Frames"), (course.pk, "to Data 201, Frames")]
    back = api(staff).post(board(other) + f"threads/{thread['id']}/move/",
                           {"course": "python-101"}, format="json")
    assert back.status_code == 204


def test_a_move_to_a_course_drops_mentions_of_people_not_in_it(course, learner, instructor):
    EnrollmentFactory(user=UserFactory(username="linus"), course=course)
    thread = ask(learner, course, body="Hello @linus").json()
    assert Mention.objects.count() == 1
    other = CourseFactory(slug="data-201")
    enroll(instructor, other, EnrollmentRole.INSTRUCTOR)
    api(instructor).post(board(course) + f"threads/{thread['id']}/move/",
                         {"course": "data-201"}, format="json")
    assert Mention.objects.count() == 0


def test_every_moderation_action_is_in_the_audit_trail(course, learner, instructor):
    moderator = api(instructor)
    thread = ask(learner, course).json()
    held = ask(learner, course, title="Mine", body=SOLUTION).json()
    other_held = ask(learner, course, title="Mine too", body=SOLUTION).json()
    t = board(course) + f"threads/{thread['id']}/"
    opening = thread["posts"][0]["id"]
    for path, method, body in [
        (t + "hide/", "post", None), (t + "hide/", "delete", None),
        (board(course) + f"posts/{opening}/hide/", "post", None),
        (board(course) + f"posts/{opening}/hide/", "delete", None),
        (t + "lock/", "post", None), (t + "lock/", "delete", None),
        (t + "pin/", "post", None), (t + "move/", "post", {"anchor": "functions"}),
        (board(course) + f"posts/{held['posts'][0]['id']}/review/", "post",
         {"decision": "approve"}),
        (board(course) + f"posts/{other_held['posts'][0]['id']}/review/", "post",
         {"decision": "reject"}),
        (board(course) + "bans/", "post", {"username": "grace", "days": 1}),
    ]:
        assert getattr(moderator, method)(path, body, format="json").status_code < 300, path
    ban = moderator.get(board(course) + "bans/").json()["results"][0]
    moderator.delete(board(course) + f"bans/{ban['id']}/")
    logged = [e["action"] for e in moderator.get(board(course) + "audit/").json()["results"]]
    assert logged[::-1] == ["hide", "restore", "hide", "restore", "lock", "unlock", "pin",
                            "move", "approve", "reject", "ban", "lift"]
    page = Client()
    page.force_login(instructor)
    shown = page.get(f"/courses/{course.slug}/board/audit/").content.decode()
    assert all(action in shown for action in ["approve", "reject", "lift", "move"])


def test_a_post_that_may_show_a_solution_is_held_with_a_sentence(
    course, learner, other_learner, instructor
):
    held = ask(learner, course, body=SOLUTION).json()
    assert "held for the instructors' review" in held["held"]
    assert api(other_learner).get(board(course) + "threads/").json()["results"] == []
    queue = api(instructor).get(board(course) + "held-posts/").json()["results"]
    assert [(p["author"], p["held_for"]) for p in queue] == [("grace", "ps1-basics")]


def test_script_and_html_in_posts_are_inert(course, learner):
    made = ask(learner, course, body="<script>alert(1)</script><img src=x onerror=alert(2)>"
               "[x](javascript:alert(3)) <iframe src=//evil></iframe>").json()
    html = made["posts"][0]["html"]
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert "<iframe" not in html


def test_huge_posts_are_refused_with_a_sentence(settings, course, learner):
    settings.LMS_COMMUNITY_MAX_POST_CHARS = 1000
    refused = ask(learner, course, body="x" * 1001)
    assert refused.status_code == 400
    assert refused.json()["body"] == [
        "The post is 1001 characters long; the board takes at most 1000. Shorten it, or "
        "share a notebook instead."]


def test_a_mention_flood_resolves_only_up_to_the_cap(settings, course, learner):
    settings.LMS_COMMUNITY_MAX_MENTIONS = 3
    for n in range(6):
        EnrollmentFactory(user=UserFactory(username=f"m{n}"), course=course)
    made = ask(learner, course, body=" ".join(f"@m{n}" for n in range(6))).json()
    assert Mention.objects.filter(post_id=made["posts"][0]["id"]).count() == 3


def test_a_deleted_post_shows_its_text_to_instructors_only(course, learner, other_learner,
                                                          instructor):
    made = ask(learner, course).json()
    answer = api(other_learner).post(board(course) + f"threads/{made['id']}/replies/",
                                     {"body": "secret"}, format="json").json()
    assert api(other_learner).delete(board(course) + f"posts/{answer['id']}/").status_code == 204
    path = board(course) + f"threads/{made['id']}/"
    as_learner = api(learner).get(path).json()["posts"][1]
    assert (as_learner["deleted"], as_learner["body"]) == (True, None)
    assert "secret" not in as_learner["html"]
    assert api(instructor).get(path).json()["posts"][1]["body"] == "secret"


def test_edits_answer_the_post_and_keep_the_history(course, learner, other_learner):
    made = ask(learner, course).json()
    opening = made["posts"][0]["id"]
    edited = api(learner).patch(board(course) + f"posts/{opening}/", {"body": "Better"},
                                format="json")
    assert (edited.status_code, edited.json()["body"]) == (200, "Better")
    assert Post.objects.get(pk=opening).revisions.count() == 1
    assert api(other_learner).patch(board(course) + f"posts/{opening}/", {"body": "Mine"},
                                    format="json").status_code == 403


@pytest.mark.parametrize("query", ["", "?q=start", "?unanswered=true"])
def test_the_thread_list_costs_the_same_queries_for_2_or_20_threads(course, learner, query):
    client = api(learner)
    url = board(course) + "threads/" + query
    add_threads(course, 2)
    few = queries_for(client, url)
    add_threads(course, 18)
    assert queries_for(client, url) == few


def test_a_thread_costs_the_same_queries_for_2_or_20_replies(course, learner, other_learner):
    thread = ThreadFactory(course=course, author=other_learner)
    client = api(learner)
    url = board(course) + f"threads/{thread.pk}/"
    answer = PostFactory(thread=thread, author=other_learner)
    few = queries_for(client, url)
    for _ in range(9):
        replier = UserFactory()
        answer = PostFactory(thread=thread, author=replier)
        PostFactory(thread=thread, author=replier, parent=answer, kind="comment")
    assert queries_for(client, url) == few
