"""Notification URLs, under ``notifications/`` (included before Wagtail's catch-all)."""

from django.urls import path

from . import views

urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/read/", views.mark_read, name="notifications-read"),
    path("notifications/read-all/", views.mark_all_read, name="notifications-read-all"),
    path("notifications/preferences/", views.preferences, name="notifications-preferences"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe_link,
         name="notifications-unsubscribe"),
]
