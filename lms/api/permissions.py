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


class ReadsTheBoard(BasePermission):
    """For views with a ``board`` (``lms.community.selectors.Viewer``): the course's members and
    staff, as on the board's pages."""

    message = "Only the course's members read its board: enroll first."

    def has_permission(self, request, view) -> bool:
        return view.board.may_read


class ModeratesTheBoard(BasePermission):
    """For views with a ``board``: the course's instructors and staff."""

    message = "Only the course's instructors moderate its board."

    def has_permission(self, request, view) -> bool:
        return view.board.is_moderator
