"""Reads about the school's Discourse: whether one is configured, where a course's category is,
who sees the link to it, and what DiscourseConnect tells Discourse about a person.

``course_forum_url`` is the one answer to "where do this course's discussions live?" when it is
Discourse: the course page links there, and the built-in course board shows itself only when it
answers None.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from courses import naming
from lms.accounts.models import User
from lms.courses.models import CoursePage, Enrollment
from lms.courses.selectors import enrollment_of, live_courses

from .connect import ConnectError, verify
from .models import DiscourseCourse

MAX_NONCE = 200  # characters; Discourse's nonces are 32 hex digits


def connect_configured() -> bool:
    """DiscourseConnect is on: the LMS signs people in to Discourse at ``/discourse/sso``."""
    return bool(settings.DISCOURSE_URL and settings.DISCOURSE_CONNECT_SECRET)


def sync_configured() -> bool:
    """The admin API is usable: categories, groups and memberships are kept in step."""
    return connect_configured() and bool(settings.DISCOURSE_API_KEY)


def course_forum_url(course: CoursePage) -> str | None:
    """The course's category on Discourse, or None when the school runs no Discourse (then the
    course's discussions are the LMS's own board).

    Before the category was created the link goes by the course slug, the slug the LMS gives the
    category (Discourse finds a category by its slug alone).
    """
    if not connect_configured():
        return None
    known = DiscourseCourse.objects.filter(course=course).first()
    if known is not None and known.category_id:
        slug = known.category_slug or course.slug
        return f"{settings.DISCOURSE_URL}/c/{slug}/{known.category_id}"
    return f"{settings.DISCOURSE_URL}/c/{course.slug}"


def sees_course_forum(user: User, course: CoursePage) -> bool:
    """The category is open to the course's group only: its learners and instructors (and
    staff, Discourse's admins) are shown the link."""
    if not user.is_authenticated:
        return False
    return user.is_studio_staff or enrollment_of(user, course) is not None


def email_is_verified(user: User) -> bool:
    """Whether Discourse may trust ``user``'s email without its own activation mail.

    The LMS has no self sign-up and no self-service email change: every address was entered by
    the school's staff (the admin, the course import, ``make up``'s demo). So any address an
    active account holds counts as verified; an empty one never does.
    """
    return bool(user.is_active and user.email)


def course_groups(user: User) -> tuple[list[str], list[str]]:
    """``(add_groups, remove_groups)``: the Discourse groups of the live courses ``user`` is
    enrolled in (as learner or instructor), and those of every other live course."""
    enrolled = set(
        Enrollment.objects.filter(user=user, course__live=True).values_list("course__slug",
                                                                          flat=True)
    )
    slugs = list(live_courses().values_list("slug", flat=True))
    add = sorted(naming.discourse_group(slug) for slug in slugs if slug in enrolled)
    remove = sorted(naming.discourse_group(slug) for slug in slugs if slug not in enrolled)
    return add, remove


def connect_answer(user: User, nonce: str) -> dict[str, object]:
    """The fields DiscourseConnect sends Discourse about ``user`` (``lms.discourse.connect``).

    - ``external_id`` is the user's primary key, the OIDC ``sub``: stable across renames;
    - ``admin`` for staff; ``moderator`` for nobody: a Discourse moderator moderates every
      category, and an instructor may act on their own courses only;
    - ``add_groups``/``remove_groups`` make the person's course groups those of the LMS at each
      sign-in (the admin API keeps them in step between sign-ins);
    - ``require_activation`` unless the email counts as verified (:func:`email_is_verified`);
    - no ``avatar_url``: the LMS keeps no pictures of people, so Discourse draws its letter avatar.
    """
    add, remove = course_groups(user)
    return {
        "nonce": nonce,
        "external_id": str(user.pk),
        "email": user.email,
        "username": user.username,
        "name": user.display_name,
        "admin": user.is_studio_staff,
        "moderator": False,
        "add_groups": ",".join(add) or None,
        "remove_groups": ",".join(remove) or None,
        "require_activation": not email_is_verified(user),
    }


def read_connect_request(payload: str | None, signature: str | None) -> tuple[str, str]:
    """``(nonce, return_sso_url)`` of a sign-in request from Discourse, once its signature is
    checked under ``DISCOURSE_CONNECT_SECRET``; :class:`ConnectError` for one that is unsigned,
    tampered with, without a nonce, or that would send the answer anywhere but the school's
    Discourse (``DISCOURSE_URL``'s scheme and host)."""
    fields = verify(payload, signature, settings.DISCOURSE_CONNECT_SECRET)
    nonce, return_url = fields.get("nonce", ""), fields.get("return_sso_url", "")
    if not nonce or len(nonce) > MAX_NONCE:
        raise ConnectError("The sign-in request from Discourse carries no usable nonce.")
    ours, theirs = urlsplit(settings.DISCOURSE_URL), urlsplit(return_url)
    if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
        raise ConnectError("The sign-in request asks to answer somewhere other than this "
                           "school's Discourse.")
    return nonce, return_url
