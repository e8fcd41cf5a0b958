"""Course URLs beside the Wagtail page tree: the POST actions of the course and lesson pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("enrollments/<slug:slug>/enroll/", views.enroll, name="course-enroll"),
    path("enrollments/<slug:slug>/leave/", views.leave, name="course-leave"),
    path("lessons/<int:pk>/complete/", views.complete_lesson, name="lesson-complete"),
]
