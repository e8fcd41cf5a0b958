"""The studio's naming conventions: the one definition of each, shared by every part.

A course slug names the course folder (``courses/<slug>/``), the course page, the nbgrader course
and the hub groups; an assignment name is nbgrader's assignment id and a folder name; a username
is the hub's (``/user/<name>/``, container and volume names, nbgrader's student folders). The LMS,
the hub, the grader and the tutor all check names against these patterns and derive group names
with these functions, so a name one part accepts is a name every other part accepts.

Hub groups follow nbgrader's JupyterHub convention: ``nbgrader-<slug>`` for the learners of a
course, ``formgrade-<slug>`` for its instructors, and ``staff`` for the studio's admins. The LMS
puts them in the OIDC ``groups`` claim; the hub mirrors them (``manage_groups``); the services
read them from the hub's user model.

A course's group on the school's Discourse (the LMS as its DiscourseConnect provider) is
:func:`discourse_group`: Discourse's group names are its usernames' rules, at most 20 characters
by default.

A study group's shared notebook workspace is the server of a hub user of its own,
:func:`study_group_workspace_user` (``studygroup--<group id>``): the LMS shares it with the
group's members; no learner may take such a name (:func:`is_reserved_username`).

A course's formgrader is the hub service ``formgrader-<slug>``; it shows learners' work, so it
has an origin of its own, ``formgrader-<slug>--service.<hub host>`` (:func:`service_url`): the
hub routes it there (``hub.origins``), the LMS links to it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

# Course slugs: lower-case letters and digits in dash-separated words ("python-101").
COURSE_SLUG_REGEX = r"[a-z0-9]+(?:-[a-z0-9]+)*"
COURSE_SLUG_PATTERN = re.compile(rf"^{COURSE_SLUG_REGEX}$")
COURSE_SLUG_RULE = "lower-case letters, digits and dashes"

# Assignment names (nbgrader assignment ids, folder names): letters, digits, '-' and '_'.
ASSIGNMENT_NAME_REGEX = r"[A-Za-z0-9][A-Za-z0-9_-]*"
ASSIGNMENT_NAME_PATTERN = re.compile(rf"^{ASSIGNMENT_NAME_REGEX}$")
ASSIGNMENT_NAME_RULE = "letters, digits, '-' or '_', starting with a letter or digit"

# Usernames: the LMS username is the hub username (lms/accounts/usernames.py applies this rule).
USERNAME_REGEX = r"[a-z0-9][a-z0-9_-]{0,31}"
USERNAME_PATTERN = re.compile(rf"^{USERNAME_REGEX}$")
USERNAME_RULE = (
    "Usernames are 1 to 32 characters: lower-case letters, digits, '-' and '_', starting with a "
    "letter or digit (they name your notebook server)."
)

# The LMS's pages: the course index, each course's page below it, each assignment's below that.
COURSE_INDEX_SLUG = "courses"

LEARNER_GROUP_PREFIX = "nbgrader-"
INSTRUCTOR_GROUP_PREFIX = "formgrade-"
STAFF_GROUP = "staff"

# Discourse: a group name is 3 to 20 characters (its default ``max_username_length``) of letters,
# digits, '_', '-' and '.'. Courses' groups start with the prefix below.
DISCOURSE_GROUP_PREFIX = "course-"
DISCOURSE_GROUP_MAX_LENGTH = 20

# A study group's workspace: the hub user owning its server. "--" is in no learner's name
# (is_reserved_username), and JupyterHub gives names holding it a hashed subdomain.
STUDY_GROUP_WORKSPACE_PREFIX = "studygroup--"

# Hub services: a course's formgrader, and the host of a service with an origin of its own.
FORMGRADER_SERVICE_PREFIX = "formgrader-"
# JupyterHub's own suffix for services on subdomains (its "idna" subdomain_hook): no username
# can end in it (JupyterHub hashes every name holding "--"), so no learner gets a service's host.
SERVICE_HOST_SUFFIX = "--service"
DNS_LABEL_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def is_course_slug(value: object) -> bool:
    return isinstance(value, str) and bool(COURSE_SLUG_PATTERN.match(value))


def is_assignment_name(value: object) -> bool:
    return isinstance(value, str) and bool(ASSIGNMENT_NAME_PATTERN.match(value))


def is_username(value: object) -> bool:
    return isinstance(value, str) and bool(USERNAME_PATTERN.match(value))


def study_group_workspace_user(group_id: int) -> str:
    """The hub user whose server is study group ``group_id``'s shared workspace (one per group;
    its volume is its own, never a member's)."""
    return f"{STUDY_GROUP_WORKSPACE_PREFIX}{int(group_id)}"


def is_study_group_workspace_user(name: object) -> bool:
    return (
        isinstance(name, str)
        and name.startswith(STUDY_GROUP_WORKSPACE_PREFIX)
        and name.removeprefix(STUDY_GROUP_WORKSPACE_PREFIX).isdigit()
    )


def is_reserved_username(name: str) -> bool:
    """Names no person may take: the study groups' workspace owners'."""
    return name.startswith(STUDY_GROUP_WORKSPACE_PREFIX)


def assignment_page_slug(name: str) -> str:
    """The slug of an assignment's LMS page (the course import gives it): Django's ``slugify``
    of the assignment name, which for the names :data:`ASSIGNMENT_NAME_REGEX` allows is the
    name in lower case with runs of dashes made one and no dash or underscore at either end."""
    return re.sub(r"-+", "-", name.lower()).strip("-_")


def assignment_page_path(course_slug: str, assignment_name: str) -> str:
    """The path of an assignment's page on the LMS, ``/courses/<slug>/<page slug>/``: where a
    learner reads the grade and feedback of a submission (the grader links to it)."""
    return f"/{COURSE_INDEX_SLUG}/{course_slug}/{assignment_page_slug(assignment_name)}/"


def board_draft_path(course_slug: str) -> str:
    """The path of a course board's draft page on the LMS, ``/courses/<slug>/board/ask/``: a new
    thread prefilled from its query (the tutor panel's "Ask the class" opens it; nothing is
    posted until the learner sends the form)."""
    return f"/{COURSE_INDEX_SLUG}/{course_slug}/board/ask/"


def learner_group(slug: str) -> str:
    """The hub group of a course's learners."""
    return f"{LEARNER_GROUP_PREFIX}{slug}"


def instructor_group(slug: str) -> str:
    """The hub group of a course's instructors."""
    return f"{INSTRUCTOR_GROUP_PREFIX}{slug}"


def learner_courses(groups: Iterable[str]) -> list[str]:
    """Course slugs a user learns in, from their hub groups, sorted."""
    return sorted(
        g.removeprefix(LEARNER_GROUP_PREFIX) for g in groups if g.startswith(LEARNER_GROUP_PREFIX)
    )


def instructor_courses(groups: Iterable[str]) -> list[str]:
    """Course slugs a user teaches, from their hub groups, sorted."""
    return sorted(
        g.removeprefix(INSTRUCTOR_GROUP_PREFIX)
        for g in groups
        if g.startswith(INSTRUCTOR_GROUP_PREFIX)
    )


def course_roles(groups: Iterable[str]) -> dict[str, str]:
    """``{slug: "learner" | "instructor"}`` from hub groups; teaching wins over learning."""
    groups = list(groups)
    roles = dict.fromkeys(learner_courses(groups), "learner")
    roles.update(dict.fromkeys(instructor_courses(groups), "instructor"))
    return roles


def discourse_group(slug: str) -> str:
    """The Discourse group of a course's members (learners and instructors): ``course-<slug>``,
    or, when that is longer than :data:`DISCOURSE_GROUP_MAX_LENGTH`, the slug cut short and
    followed by 6 hex digits of its SHA-256, so two long slugs never share a group."""
    name = f"{DISCOURSE_GROUP_PREFIX}{slug}"
    if len(name) <= DISCOURSE_GROUP_MAX_LENGTH:
        return name
    digest = hashlib.sha256(slug.encode()).hexdigest()[:6]
    keep = DISCOURSE_GROUP_MAX_LENGTH - len(DISCOURSE_GROUP_PREFIX) - len(digest) - 1
    return f"{DISCOURSE_GROUP_PREFIX}{slug[:keep].rstrip('-')}-{digest}"


def formgrader_service_name(slug: str) -> str:
    """The hub service of a course's formgrader (nbgrader's manual grading)."""
    return f"{FORMGRADER_SERVICE_PREFIX}{slug}"


def is_formgrader_service(name: str) -> bool:
    return name.startswith(FORMGRADER_SERVICE_PREFIX)


def service_host(service: str, hub_host: str) -> str:
    """The host of a hub service with an origin of its own: ``<service>--service.<hub host>``,
    as JupyterHub names a service's subdomain. A name that makes no DNS label (a course slug
    longer than 43 characters makes its formgrader's too long) raises ``ValueError``."""
    label = f"{service}{SERVICE_HOST_SUFFIX}"
    if not DNS_LABEL_PATTERN.match(label):
        raise ValueError(
            f"The hub service {service!r} cannot have a host of its own: {label!r} is not a DNS "
            "label (at most 63 lower-case letters, digits and dashes)."
        )
    return f"{label}.{hub_host}"


def service_url(hub_url: str, service: str, path: str = "") -> str:
    """``path`` in a hub service with an origin of its own, for a hub whose public URL is
    ``hub_url`` (``http://localhost:8001`` gives
    ``http://formgrader-python-101--service.localhost:8001/services/formgrader-python-101/``)."""
    hub = urlsplit(hub_url)
    host = service_host(service, hub.hostname or "")
    port = f":{hub.port}" if hub.port else ""
    return f"{hub.scheme}://{host}{port}/services/{service}/{path}"
