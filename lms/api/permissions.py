"""Permission classes: each asks the selector that owns the rule."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from lms.gradebook.selectors import can_push_grades


class CanPushGrades(BasePermission):
    message = "Only the grader service account (gradebook.push_grades) may write grades."

    def has_permission(self, request, view) -> bool:
        return can_push_grades(request.user)
