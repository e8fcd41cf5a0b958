"""The tutor page beside the Wagtail page tree, included before Wagtail's catch-all, so
``courses/<slug>/tutor/`` wins over a page of that path: "tutor" is not a lesson slug."""

from django.urls import path

from . import views

urlpatterns = [
    path("courses/<slug:slug>/tutor/", views.course_tutor, name="course-tutor"),
]
