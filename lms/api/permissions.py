"""Permission classes: each asks the selector that owns the rule."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from lms.gradebook.selectors import can_push_grades, may_manage_grading


class CanPushGrades(BasePermission):
    message = "Only the grader service account (gradebook.push_grades) may write grades."

    def has_permission(self, request, view) -> bool:
        return can_push_grades(request.user)


class ManagesGrading(BasePermission):
    """For views with a ``course``: its instructors and staff only."""

    message = "Only the course's instructors manage its assignments and grades."

    def has_permission(self, request, view) -> bool:
        return may_manage_grading(request.user, view.course)
