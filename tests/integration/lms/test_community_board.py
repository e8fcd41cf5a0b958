"""The course board: threads, replies, anonymity, privacy, search, held solutions, moderation
and hostile input, through the services and the pages (lms.community)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from lms.community import selectors, services
from lms.community.models import AuditEntry, Mention, PostRevision, PostStatus, Thread
from lms.community.views import PAGE_SIZE
from lms.courses.models import AssignmentPage, LessonPage
from tests.support.lms_factories import EnrollmentFactory, ThreadFactory, UserFactory

SOLUTION_RENAMED = """I did it like this:

```python
def to_f(c):
    return c*9/5+32   # my answer
```
"""


def as_viewer(user, course):
    return selectors.viewer(user, course)


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fast_enough(settings):
    settings.LMS_COMMUNITY_POST_RATE = "100/min"


def ask(user, course, body="How do loops work?", **kwargs):
    thread, held = services.create_thread(
        as_viewer(user, course), kind=kwargs.pop("kind", "question"),
        title=kwargs.pop("title", "Loops"), body=body, **kwargs
    )
    return thread, held


def test_a_learner_asks_and_a_classmate_answers_and_comments(course, learner, other_learner):
    thread, held = ask(learner, course)
    assert held is None
    answer, _ = services.reply(as_viewer(other_learner, course), thread, body="Use `for`.")
    services.reply(as_viewer(learner, course), thread, body="Thanks!", parent=answer)
    posts = selectors.posts_of(as_viewer(learner, course), thread)
    assert [p.kind for p in posts] == ["opening", "answer"]
    assert [c.body for c in posts[1].comment_list] == ["Thanks!"]


def test_fenced_code_is_highlighted_and_script_is_inert(course, learner):
    thread, _ = ask(learner, course, body="<script>alert(1)</script><img src=x onerror=alert(2)>"
                    "[x](javascript:alert(3))\n\n```python\nprint('hi')\n```")
    html = thread.opening_post.html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert 'class="highlight"' in html and '<span class="nb">print</span>' in html


def test_only_instructors_post_announcements(course, learner, instructor):
    with pytest.raises(PermissionDenied):
        ask(learner, course, kind="announcement")
    thread, _ = ask(instructor, course, kind="announcement")
    assert thread.kind == "announcement"


def test_anonymous_posts_show_their_author_to_instructors_only(course, learner, other_learner,
                                                              instructor):
    thread, _ = ask(learner, course, anonymous=True)
    assert not selectors.shows_author(as_viewer(other_learner, course), thread)
    assert selectors.shows_author(as_viewer(instructor, course), thread)
    assert selectors.shows_author(as_viewer(learner, course), thread)
    page = page_client(other_learner).get(f"/courses/{course.slug}/board/{thread.pk}/")
    assert learner.display_name not in page.content.decode()
    assert "Anonymous" in page.content.decode()


def test_private_questions_are_seen_by_their_author_and_instructors_only(
    course, learner, other_learner, instructor
):
    thread, _ = ask(learner, course, private=True)
    assert thread in selectors.threads_for(as_viewer(learner, course))
    assert thread in selectors.threads_for(as_viewer(instructor, course))
    assert thread not in selectors.threads_for(as_viewer(other_learner, course))
    page = page_client(other_learner).get(f"/courses/{course.slug}/board/{thread.pk}/")
    assert page.status_code == 404


def test_edits_keep_revisions_and_deletes_are_soft(course, learner, other_learner, instructor):
    thread, _ = ask(learner, course)
    answer, _ = services.reply(as_viewer(other_learner, course), thread, body="First try")
    services.edit_post(as_viewer(other_learner, course), answer, body="Second try")
    assert list(PostRevision.objects.filter(post=answer).values_list("body", flat=True)) == [
        "First try"
    ]
    services.delete_post(as_viewer(other_learner, course), answer)
    answer.refresh_from_db()
    assert selectors.shown_html(as_viewer(learner, course), answer) == (
        f"<p><em>{selectors.DELETED}</em></p>"
    )
    assert "Second try" in selectors.shown_html(as_viewer(instructor, course), answer)
    with pytest.raises(PermissionDenied):
        services.edit_post(as_viewer(learner, course), answer, body="not mine")


def test_one_upvote_per_member_and_not_ones_own(course, learner, other_learner):
    thread, _ = ask(learner, course)
    v = as_viewer(other_learner, course)
    services.vote(v, thread.opening_post)
    services.vote(v, thread.opening_post)
    listed = selectors.threads_for(as_viewer(learner, course)).get(pk=thread.pk)
    assert listed.vote_count == 1
    with pytest.raises(PermissionDenied):
        services.vote(as_viewer(learner, course), thread.opening_post)


def test_mentions_resolve_course_members_only_and_are_capped(settings, course, learner,
                                                            other_learner):
    outsider = UserFactory(username="mallory")
    settings.LMS_COMMUNITY_MAX_MENTIONS = 2
    flood = " ".join(f"@ghost{n}" for n in range(50))
    thread, _ = ask(learner, course, body=f"@linus @mallory {flood}")
    mentioned = set(Mention.objects.filter(post=thread.opening_post).values_list(
        "user__username", flat=True))
    assert mentioned == {"linus"}
    assert outsider.username not in mentioned


def test_question_marked_answered_by_author_or_instructor_and_endorsement(
    course, learner, other_learner, instructor
):
    thread, _ = ask(learner, course)
    answer, _ = services.reply(as_viewer(other_learner, course), thread, body="Like so.")
    with pytest.raises(PermissionDenied):
        services.mark_answered(as_viewer(other_learner, course), thread)
    services.mark_answered(as_viewer(learner, course), thread)
    with pytest.raises(PermissionDenied):
        services.endorse(as_viewer(learner, course), answer)
    services.endorse(as_viewer(instructor, course), answer)
    answer.refresh_from_db()
    assert answer.endorsed
    assert Thread.objects.get(pk=thread.pk).answered


def test_locked_threads_take_no_replies_from_learners(course, learner, instructor):
    thread, _ = ask(learner, course)
    services.set_thread_flags(as_viewer(instructor, course), thread, locked=True, pinned=True)
    with pytest.raises(PermissionDenied, match="locked"):
        services.reply(as_viewer(learner, course), thread, body="more")
    services.reply(as_viewer(instructor, course), thread, body="Closing note.")
    assert set(AuditEntry.objects.values_list("action", flat=True)) == {"lock", "pin"}


def test_search_finds_titles_and_bodies_with_full_text(course, learner, other_learner):
    loops, _ = ask(learner, course, title="Loops", body="How do I iterate over a list?")
    ask(learner, course, title="Strings", body="What is a format string?")
    services.reply(as_viewer(other_learner, course), loops, body="Dictionaries are iterable.")
    v = as_viewer(learner, course)
    assert [t.title for t in selectors.threads_for(v, text="iterating")] == ["Loops"]
    assert [t.title for t in selectors.threads_for(v, text="dictionary")] == ["Loops"]
    assert [t.title for t in selectors.threads_for(v, text="format")] == ["Strings"]


def test_filters_anchor_unanswered_following_mine(course, learner, other_learner):
    lesson = LessonPage.objects.get(slug="basics")
    anchored, _ = ask(learner, course, anchor_page=lesson, anchor_cell="cell-1")
    answered, _ = ask(other_learner, course, title="Done")
    services.mark_answered(as_viewer(other_learner, course), answered)
    v = as_viewer(learner, course)
    assert list(selectors.threads_for(v, anchor=lesson)) == [anchored]
    assert list(selectors.threads_for(v, unanswered=True)) == [anchored]
    assert list(selectors.threads_for(v, mine=True)) == [anchored]
    assert list(selectors.threads_for(v, following=True)) == [anchored]


def test_the_lesson_page_shows_discussion_with_its_count(course, learner):
    lesson = LessonPage.objects.get(slug="basics")
    ask(learner, course, anchor_page=lesson)
    page = page_client(learner).get(lesson.url)
    assert "Discussion (1)" in page.content.decode()
    assignment = AssignmentPage.objects.get(slug="ps1-basics")
    assert "Discussion (0)" in page_client(learner).get(assignment.url).content.decode()


def test_with_discourse_the_course_pages_link_to_its_category_not_to_the_board(
    course, learner, discourse
):
    lesson = LessonPage.objects.get(slug="basics")
    ask(learner, course, anchor_page=lesson)

    course_page = page_client(learner).get(course.url).content.decode()
    lesson_page = page_client(learner).get(lesson.url).content.decode()

    assert f"{discourse}/c/{course.slug}" in course_page
    assert "Course board" not in course_page
    assert "Discussion (" not in lesson_page


def test_a_solution_before_the_due_date_is_held_with_a_sentence(course, learner, other_learner,
                                                               instructor):
    thread, held = ask(learner, course, body=SOLUTION_RENAMED)
    assert "held for the instructors' review" in held
    thread.opening_post.refresh_from_db()
    assert thread.opening_post.status == PostStatus.HELD
    assert thread not in selectors.threads_for(as_viewer(other_learner, course))
    assert list(selectors.review_queue(course)) == [thread.opening_post]
    services.review(as_viewer(instructor, course), thread.opening_post, approve=True)
    assert thread in selectors.threads_for(as_viewer(other_learner, course))


def test_a_held_answer_can_be_rejected_and_stays_hidden(course, learner, other_learner,
                                                       instructor):
    thread, _ = ask(learner, course)
    answer, held = services.reply(as_viewer(other_learner, course), thread, body=(
        "    for w in name.split():\n        out += w[0].upper()\n"))
    assert held
    services.review(as_viewer(instructor, course), answer, approve=False)
    answer.refresh_from_db()
    assert answer.status == PostStatus.REJECTED
    assert answer not in selectors.posts_of(as_viewer(learner, course), thread)


def test_after_the_due_date_solutions_are_not_held(course, learner):
    AssignmentPage.objects.filter(slug="ps1-basics").update(due_at="2000-01-01T00:00Z",
                                                             release_at=None)
    _, held = ask(learner, course, body=SOLUTION_RENAMED)
    assert held is None


def test_prose_and_unrelated_code_are_not_held(course, learner):
    _, held = ask(learner, course, body="```python\ndef greet(name):\n    return 'hi ' + name\n"
                  "```\nThe temperature is celsius times nine fifths plus 32.")
    assert held is None


def test_huge_posts_are_refused_with_a_sentence(settings, course, learner):
    settings.LMS_COMMUNITY_MAX_POST_CHARS = 1000
    with pytest.raises(ValidationError, match="at most 1000"):
        ask(learner, course, body="x" * 1001)


def test_posting_too_fast_is_refused(settings, course, learner):
    settings.LMS_COMMUNITY_POST_RATE = "2/min"
    ask(learner, course)
    ask(learner, course)
    with pytest.raises(services.PostingTooFast, match="too fast"):
        ask(learner, course)


def test_a_banned_member_may_not_post_and_the_ban_is_audited(course, learner, instructor):
    services.ban(as_viewer(instructor, course), learner, days=3, reason="spam")
    with pytest.raises(PermissionDenied, match="may not post"):
        ask(learner, course)
    assert AuditEntry.objects.get(action="ban").subject == learner


def test_hide_restore_and_move_are_moderators_and_audited(course, learner, other_learner,
                                                         instructor):
    thread, _ = ask(learner, course)
    with pytest.raises(PermissionDenied):
        services.set_thread_flags(as_viewer(other_learner, course), thread, hidden=True)
    services.set_thread_flags(as_viewer(instructor, course), thread, hidden=True)
    assert thread not in selectors.threads_for(as_viewer(other_learner, course))
    services.set_thread_flags(as_viewer(instructor, course), thread, hidden=False)
    services.move_thread(as_viewer(instructor, course), thread, LessonPage.objects.get(
        slug="functions"))
    assert list(AuditEntry.objects.order_by("pk").values_list("action", flat=True)) == [
        "hide", "restore", "move"]


def test_reports_reach_the_review_queue(course, learner, other_learner, instructor):
    thread, _ = ask(learner, course)
    services.report(as_viewer(other_learner, course), thread.opening_post, "rude")
    page = page_client(instructor).get(f"/courses/{course.slug}/board/review/")
    assert "rude" in page.content.decode()


def test_pages_post_and_show_a_thread(course, learner):
    client = page_client(learner)
    response = client.post(f"/courses/{course.slug}/board/new/", {
        "kind": "question", "title": "Page question", "body": "**bold** <b onclick=x>hi</b>"})
    thread = Thread.objects.get(title="Page question")
    assert response.status_code == 302
    page = client.get(f"/courses/{course.slug}/board/{thread.pk}/").content.decode()
    assert "<strong>bold</strong>" in page and "<b onclick" not in page
    assert "&lt;b onclick=x&gt;" in page  # the source, escaped, in the edit box
    board = client.get(f"/courses/{course.slug}/board/").content.decode()
    assert "Page question" in board


def test_members_of_other_courses_see_no_board(course, learner):
    stranger = UserFactory(username="eve")
    EnrollmentFactory(user=stranger)
    assert page_client(stranger).get(f"/courses/{course.slug}/board/").status_code == 403


@pytest.mark.parametrize("fate", ["held", "rejected", "deleted"])
def test_a_question_held_rejected_or_deleted_leaves_classmates_boards_and_counts(
    course, learner, other_learner, instructor, fate
):
    """The board finds such threads through the partial index of the opening posts that are
    not public (``OPENING_NOT_PUBLIC``); the lists and their counts agree on who sees them."""
    public, _ = ask(learner, course, title="Public")
    thread, _ = ask(learner, course, body=SOLUTION_RENAMED if fate != "deleted" else "Hm?")
    if fate == "rejected":
        services.review(as_viewer(instructor, course), thread.opening_post, approve=False)
    if fate == "deleted":
        services.delete_post(as_viewer(learner, course), thread.opening_post)
    sees = {"author": fate != "deleted", "classmate": False, "instructor": True}
    for who, user in [("author", learner), ("classmate", other_learner),
                      ("instructor", instructor)]:
        threads = selectors.threads_for(as_viewer(user, course))
        assert (thread in threads) is sees[who], (fate, who)
        assert public in threads
        assert threads.count() == 1 + sees[who], (fate, who)


def test_the_board_lists_each_thread_with_its_badges_author_and_counts(
    course, learner, other_learner, instructor
):
    learner.first_name, learner.last_name = "<b>Grace</b>", "Hopper"
    learner.save()
    anonymous, _ = ask(learner, course, title="Shy question", anonymous=True)
    services.reply(as_viewer(other_learner, course), anonymous, body="Try `range`.")
    services.vote(as_viewer(other_learner, course), anonymous.opening_post, True)
    services.set_thread_flags(as_viewer(instructor, course), anonymous, pinned=True)
    ask(learner, course, title="My solution", body=SOLUTION_RENAMED)
    board = f"/courses/{course.slug}/board/"
    classmate = page_client(other_learner).get(board).content.decode()
    assert "Shy question" in classmate and "My solution" not in classmate
    assert "Hopper" not in classmate and "Anonymous · 1 reply · 1 vote" in classmate
    assert '<span class="badge text-bg-warning">Pinned</span>' in classmate
    assert '<span class="badge text-bg-primary">Question</span>' in classmate
    author = page_client(learner).get(board).content.decode()
    assert "&lt;b&gt;Grace&lt;/b&gt; Hopper" in author and "<b>Grace" not in author
    assert "anonymous to classmates" in author and "0 replies · 0 votes" in author
    assert '<span class="badge text-bg-warning">Held for review</span>' in author


def test_the_board_lists_thirty_threads_a_page_and_links_the_older_ones(course, learner):
    """Keyset pagination (``selectors.page_after``): every thread once, newest activity first,
    threads of the same moment told apart by id, the filters kept from page to page."""
    same_moment = timezone.now()
    made = [ThreadFactory(course=course, author=learner, title=f"Thread {n}",
                          last_activity_at=same_moment - timedelta(minutes=n % 40))
            for n in range(70)]
    pinned = made[69]
    Thread.objects.filter(pk=pinned.pk).update(pinned=True)
    client = page_client(learner)
    seen, url = [], f"/courses/{course.slug}/board/?mine=1"
    for _ in range(3):
        response = client.get(url)
        page = [thread.pk for thread in response.context["threads"]]
        assert len(page) <= PAGE_SIZE
        seen += page
        older = response.context["older"]
        if not older:
            break
        assert "mine=1" in older and "Older threads" in response.content.decode()
        url = f"/courses/{course.slug}/board/{older}"
    assert seen[0] == pinned.pk
    assert sorted(seen) == sorted(t.pk for t in made)  # each once
    newest_first = sorted(made, key=lambda t: (t.pk != pinned.pk, same_moment - t.last_activity_at,
                                               -t.pk))
    assert seen == [t.pk for t in newest_first]
    assert "Newest threads" in response.content.decode()


@pytest.mark.parametrize("after", ["x", "1.99999999999999999999.1", "0.1.123456789012345678901",
                                   "<script>", "0.-5.-1"])
def test_a_page_token_that_is_not_one_shows_the_first_page(course, learner, after):
    ThreadFactory(course=course, author=learner, title="The only one")
    response = page_client(learner).get(f"/courses/{course.slug}/board/", {"after": after})
    assert response.status_code == 200
    assert [t.title for t in response.context["threads"]] == ["The only one"]
