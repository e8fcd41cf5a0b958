"""Grades in the Django admin, to look and search. Grades are written only by the grader service
through the API (``gradebook.services.record_grade``, which also decides lateness and which grade
counts), so the admin shows them read-only: a regrade goes through the grader."""

from django.contrib import admin

from .models import Grade


@admin.register(Grade)
class GradeAdmin(admin.ModelAdmin):
    list_display = (
        "learner",
        "assignment",
        "submission_id",
        "status",
        "score",
        "max_score",
        "late",
        "late_penalty",
        "counts",
        "submitted_at",
    )
    list_filter = ("status", "counts", "late")
    list_select_related = ("learner", "assignment")
    search_fields = ("learner__username", "assignment__nbgrader_name", "submission_id")
    date_hierarchy = "submitted_at"
    raw_id_fields = ("learner", "assignment")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
