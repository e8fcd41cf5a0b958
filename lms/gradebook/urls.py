"""Gradebook URLs beside the Wagtail page tree: the learner's dashboard, the instructors' course
gradebook, learners view and grade export, and the assignment page's grading actions. Included
before Wagtail's catch-all, so ``courses/<slug>/gradebook/`` and ``courses/<slug>/learners/``
win over a page of that path: "gradebook" and "learners" are not lesson slugs."""

from django.urls import path

from . import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("courses/<slug:slug>/learners/", views.course_learners, name="course-learners"),
    path("courses/<slug:slug>/gradebook/", views.course_gradebook, name="course-gradebook"),
    path("courses/<slug:slug>/grades.csv", views.grades_csv, name="course-grades-csv"),
    path("assignments/<int:pk>/release/", views.release, name="assignment-release"),
    path("assignments/<int:pk>/unrelease/", views.unrelease, name="assignment-unrelease"),
    path("assignments/<int:pk>/regrade/", views.regrade, name="assignment-regrade"),
    path(
        "assignments/<int:pk>/release-feedback/",
        views.release_feedback,
        name="assignment-release-feedback",
    ),
]
