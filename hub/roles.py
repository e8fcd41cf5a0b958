"""RBAC for the studio: what instructors may do, as JupyterHub roles (``load_roles``).

Each course gets a role ``instructor-<slug>`` assigned to the group ``formgrade-<slug>``
(the LMS puts a course's instructors in it; the authenticator mirrors it into the hub). Its scopes
reach the servers and users of that course's learners (group ``nbgrader-<slug>``) and nothing
else: an instructor of one course cannot touch another course's learners. Staff are full hub
admins through ``admin_groups`` instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.courses import instructor_group, learner_group


def instructor_scopes(slug: str, grader_service: str | None = None) -> list[str]:
    """Scopes an instructor of ``slug`` holds over the course's learners."""
    learners = f"group={learner_group(slug)}"
    scopes = [
        "admin-ui",  # the admin page, which lists only the users the other scopes reach
        f"list:users!{learners}",
        f"read:users!{learners}",
        f"read:groups!{learners}",
        f"admin:servers!{learners}",
        f"access:servers!{learners}",
    ]
    if grader_service:
        scopes.append(f"access:services!service={grader_service}")
    return scopes


def instructor_role(slug: str, grader_service: str | None = None) -> dict:
    return {
        "name": f"instructor-{slug}",
        "description": f"Instructors of {slug}: manage and open the course's learners' servers",
        "scopes": instructor_scopes(slug, grader_service),
        "groups": [instructor_group(slug)],
    }


def course_roles(slugs: Iterable[str], grader_service: str | None = None) -> list[dict]:
    """One instructor role per course slug, in slug order."""
    return [instructor_role(slug, grader_service) for slug in sorted(set(slugs))]
