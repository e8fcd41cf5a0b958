"""RBAC for the studio: what instructors may do, as JupyterHub roles (``load_roles``).

Each course gets a role ``instructor-<slug>`` assigned to the group ``formgrade-<slug>``
(the LMS puts a course's instructors in it; the authenticator mirrors it into the hub). Its scopes
reach the servers and users of that course's learners (group ``nbgrader-<slug>``) and nothing
else: an instructor of one course cannot touch another course's learners. Staff are full hub
admins through ``admin_groups`` instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from courses.naming import instructor_group, learner_group


def instructor_scopes(slug: str) -> list[str]:
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
    return scopes


def instructor_role(slug: str) -> dict:
    return {
        "name": f"instructor-{slug}",
        "description": f"Instructors of {slug}: manage and open the course's learners' servers",
        "scopes": instructor_scopes(slug),
        "groups": [instructor_group(slug)],
    }


def course_roles(slugs: Iterable[str]) -> list[dict]:
    """One instructor role per course slug, in slug order. (Calling the grader is granted to
    learners and instructors alike: ``hub.services.grader_users_role``.)"""
    return [instructor_role(slug) for slug in sorted(set(slugs))]
