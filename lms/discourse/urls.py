"""DiscourseConnect's endpoint, the URL the school's Discourse is configured with
(``discourse_connect_url``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("discourse/sso", views.discourse_sso, name="discourse-sso"),
]
