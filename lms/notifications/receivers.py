"""Turn what the board and the gradebook tell (``lms.community.signals``,
``lms.gradebook.events``, sent after their transactions commit) into notifications.

Who is told what:

- **reply**: the followers of a thread when an answer or a comment is published in it (but the
  people the post mentions, who get a mention instead);
- **mention**: the course members a published post names;
- **endorsement**: the author of an answer an instructor endorsed;
- **announcement**: every learner of the course, when an announcement is published;
- **grade** and **feedback**: the learner, for a new graded submission and for feedback to read;
- **reviews_to_do**: a reviewer given peer reviews (``lms.review.signals``), and once more the
  day before their deadline (``reminders``, a daily task);
- **work_reviewed**: the author, when a review of their work is submitted;
- **review_reply**: the reviewer, when the author answers their review.

Peer review's anonymity (course.yml) holds here too: a reviewer is named to the author, and the
author to the reviewer, only as ``lms.review.selectors`` names them on the review's page.
- **held_for_review**: the course's instructors, when a post is held because it may show an
  assignment's solution; it links to the review queue and names the assignment, never what the
  post says (the post's text stays with its author and the queue).

Only people who may read the post are told of it: a private thread's author and the course's
instructors (and staff); a hidden thread's instructors. An anonymous post names its author to
the instructors only.
"""

from __future__ import annotations

from django.db.models import Q
from django.db.models.signals import post_delete
from django.urls import reverse
from django.utils import timezone

from lms.accounts.models import Role, User
from lms.community import signals as board
from lms.community.models import Mention, Post, PostKind, ThreadKind
from lms.courses.models import EnrollmentRole
from lms.courses.selectors import course_of
from lms.gradebook import events as gradebook
from lms.gradebook.models import Grade, GradeStatus
from lms.review import selectors as reviews
from lms.review import signals as review
from lms.review.models import Review

from .models import Kind, Notification
from .services import Event, notify, unread_changed

STAFF = Q(is_superuser=True) | Q(role=Role.STAFF)


def post_url(post: Post) -> str:
    thread = post.thread
    path = reverse("community-thread", args=(thread.course.slug, thread.pk))
    return f"{path}#post-{post.pk}"


def _readers(post: Post, candidates: Q) -> tuple[list[User], set[int]]:
    """Those among ``candidates`` who may read ``post``'s thread, and which of them moderate
    it (see the module docstring), in two queries."""
    thread = post.thread
    course = thread.course
    moderating = STAFF | Q(
        enrollments__course=course, enrollments__role=EnrollmentRole.INSTRUCTOR
    )
    people = User.objects.filter(candidates, is_active=True)
    moderators = set(people.filter(moderating).values_list("pk", flat=True))
    if thread.hidden:
        readers = people.filter(pk__in=moderators)
    elif thread.private:
        readers = people.filter(Q(pk__in=moderators) | Q(pk=thread.author_id))
    else:
        readers = people.filter(Q(enrollments__course=course) | STAFF)
    return list(readers.distinct()), moderators


def _event(post: Post, kind: str, text: str) -> Event:
    return Event(kind=kind, text=text, url=post_url(post), course=post.thread.course,
                 actor=post.author, anonymous=post.anonymous)


def on_post_published(sender, post: Post, **kwargs) -> None:
    thread = post.thread
    if post.kind == PostKind.OPENING:
        if thread.kind != ThreadKind.ANNOUNCEMENT or thread.private or thread.hidden:
            return
        learners = Q(enrollments__course=thread.course,
                     enrollments__role=EnrollmentRole.LEARNER)
        readers, moderators = _readers(post, learners)
        text = f"posted an announcement in {thread.course.title}: {thread.title}"
        notify(_event(post, Kind.ANNOUNCEMENT, text), readers, sees_anonymous=moderators)
        return
    mentioned = Mention.objects.filter(post=post).values("user_id")
    followers = Q(pk__in=thread.follows.values("user_id")) & ~Q(pk__in=mentioned)
    readers, moderators = _readers(post, followers)
    verb = "answered" if post.kind == PostKind.ANSWER else "commented"
    text = f"{verb} in “{thread.title}”"
    notify(_event(post, Kind.REPLY, text), readers, sees_anonymous=moderators)


def on_members_mentioned(sender, post: Post, users, **kwargs) -> None:
    readers, moderators = _readers(post, Q(pk__in=[u.pk for u in users]))
    text = f"mentioned you in “{post.thread.title}”"
    notify(_event(post, Kind.MENTION, text), readers, sees_anonymous=moderators)


def on_answer_endorsed(sender, post: Post, by: User, **kwargs) -> None:
    readers, _ = _readers(post, Q(pk=post.author_id))
    event = Event(
        kind=Kind.ENDORSEMENT, url=post_url(post), course=post.thread.course, actor=by,
        text=f"endorsed your answer in “{post.thread.title}”",
    )
    notify(event, readers)


def on_post_held(sender, post: Post, assignment, **kwargs) -> None:
    course = post.thread.course
    instructors = list(User.objects.filter(
        enrollments__course=course, enrollments__role=EnrollmentRole.INSTRUCTOR, is_active=True
    ).distinct())
    event = Event(
        kind=Kind.HELD_FOR_REVIEW, url=reverse("community-review", args=(course.slug,)),
        course=course, actor=post.author,
        text=f"wrote a post held for your review in {course.title}: it may show the solution "
             f"of {assignment.title}",
    )
    notify(event, instructors, sees_anonymous={u.pk for u in instructors})


def on_grade_recorded(sender, grade: Grade, created: bool, feedback_released: bool,
                      **kwargs) -> None:
    """A new graded submission (with its feedback, when it came with it), or feedback released
    later for a grade the learner already has."""
    if grade.status != GradeStatus.GRADED:
        return
    assignment = grade.assignment
    course = course_of(assignment)
    url = assignment.get_url() or reverse("dashboard")
    if created:
        score = f"{grade.score.normalize():f}/{grade.max_score.normalize():f}"
        more = " (with feedback)" if feedback_released else ""
        event = Event(Kind.GRADE, f"Your grade for {assignment.title}: {score}{more}", url,
                      course)
    elif feedback_released:
        event = Event(Kind.FEEDBACK, f"Feedback on {assignment.title} is ready to read", url,
                      course)
    else:
        return
    notify(event, [grade.learner])


def review_event(kind: str, text: str, found: Review, actor: User | None = None) -> Event:
    assignment = found.assignment
    url = reverse("review", args=(found.pk,))
    return Event(kind=kind, text=text, url=url, course=course_of(assignment), actor=actor)


def on_reviews_assigned(sender, assignment, reviewer: User, reviews, deadline, **kwargs) -> None:
    if not reviews:
        return
    count = len(reviews)
    what = "a peer review" if count == 1 else f"{count} peer reviews"
    due = f", due {timezone.localtime(deadline):%d %b %Y %H:%M}" if deadline else ""
    text = f"You have {what} to do for {assignment.title}{due}"
    notify(review_event(Kind.REVIEWS_TO_DO, text, reviews[0]), [reviewer])


def on_work_reviewed(sender, assignment, author: User, review: Review, **kwargs) -> None:
    name = reviews.reviewer_name(author, review, assignment.peer_review_spec)
    named = name == review.reviewer.display_name
    text = (f"reviewed your work on {assignment.title}" if named
            else f"{name} reviewed your work on {assignment.title}")
    notify(review_event(Kind.WORK_REVIEWED, text, review, review.reviewer if named else None),
           [author])


def on_review_replied(sender, assignment, review: Review, reply, **kwargs) -> None:
    reviewer = review.reviewer
    name = reviews.author_name(reviewer, review, assignment.peer_review_spec)
    named = name == review.author.display_name
    text = (f"answered your review of their work on {assignment.title}" if named
            else f"The author answered your review on {assignment.title}")
    notify(review_event(Kind.REVIEW_REPLY, text, review, review.author if named else None),
           [reviewer])


def connect() -> None:
    for signal, receiver in (
        (board.post_published, on_post_published),
        (board.members_mentioned, on_members_mentioned),
        (board.answer_endorsed, on_answer_endorsed),
        (board.post_held, on_post_held),
        (gradebook.grade_recorded, on_grade_recorded),
        (review.reviews_assigned, on_reviews_assigned),
        (review.work_reviewed, on_work_reviewed),
        (review.review_replied, on_review_replied),
    ):
        signal.connect(receiver, dispatch_uid=f"notifications.{receiver.__name__}")
    # notifications deleted with their recipient or course: the cached unread counts change
    post_delete.connect(unread_changed, sender=Notification,
                        dispatch_uid="notifications.unread_changed")
