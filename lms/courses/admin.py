"""Django admin (/django-admin/, staff only) for learner state. Course content is edited in the
Wagtail admin; here staff look up and correct enrollments, and look at lesson progress.

Enrollments are written through lms.courses.services, as everywhere else, so an instructor
enrollment made here also grants (and a removal revokes) the course's Wagtail editing group.
"""

from __future__ import annotations

from django.contrib import admin

from . import services
from .models import Enrollment, LessonProgress


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ("user", "course", "role", "created_at")
    list_filter = ("role", "course")
    list_select_related = ("user", "course")
    search_fields = ("user__username", "user__email", "course__title", "course__slug")
    autocomplete_fields = ("user",)
    date_hierarchy = "created_at"
    ordering = ("course__title", "user__username")

    def get_readonly_fields(self, request, obj=None):
        # Moving an enrollment to another person or course is a removal plus a new enrollment.
        return ("user", "course", "created_at") if obj is not None else ("created_at",)

    def save_model(self, request, obj, form, change):
        saved = services.enroll(obj.user, obj.course, obj.role)
        obj.pk = saved.pk
        obj.created_at = saved.created_at

    def delete_model(self, request, obj):
        services.leave(obj.user, obj.course)

    def delete_queryset(self, request, queryset):
        for enrollment in queryset.select_related("user", "course"):
            services.leave(enrollment.user, enrollment.course)


@admin.register(LessonProgress)
class LessonProgressAdmin(admin.ModelAdmin):
    """Read-only: progress is the learners' own record, written when they use the lessons. Staff
    may delete a row to reset a lesson for a learner."""

    list_display = ("user", "lesson", "status", "opened_at", "completed_at")
    list_filter = ("status",)
    list_select_related = ("user", "lesson")
    search_fields = ("user__username", "user__email", "lesson__title", "lesson__slug")
    date_hierarchy = "opened_at"
    ordering = ("-opened_at",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
