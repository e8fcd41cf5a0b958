"""Course URLs beside the Wagtail page tree. Included before Wagtail's catch-all, so
``courses/<slug>/learners/`` wins over a page of that path: "learners" is not a lesson slug."""

from django.urls import path

from . import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("courses/<slug:slug>/learners/", views.course_learners, name="course-learners"),
    path("enrollments/<slug:slug>/enroll/", views.enroll, name="course-enroll"),
    path("enrollments/<slug:slug>/leave/", views.leave, name="course-leave"),
    path("lessons/<int:pk>/complete/", views.complete_lesson, name="lesson-complete"),
]
