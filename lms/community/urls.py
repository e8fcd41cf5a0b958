"""Board URLs beside the Wagtail page tree, under ``courses/<slug>/board/``: included before
Wagtail's catch-all, so "board" is not a lesson slug."""

from django.urls import path

from . import views

urlpatterns = [
    path("courses/<slug:slug>/board/", views.board, name="community-board"),
    path("courses/<slug:slug>/board/new/", views.new_thread, name="community-new-thread"),
    # courses.naming.board_draft_path: the tutor panel's "Ask the class" opens it.
    path("courses/<slug:slug>/board/ask/", views.draft_thread, name="community-draft-thread"),
    path("courses/<slug:slug>/board/<int:pk>/", views.thread, name="community-thread"),
    path("courses/<slug:slug>/board/<int:pk>/act/", views.post_action, name="community-act"),
    path("courses/<slug:slug>/board/review/", views.review_queue, name="community-review"),
    path("courses/<slug:slug>/board/review/<int:pk>/", views.review, name="community-review-post"),
    path("courses/<slug:slug>/board/audit/", views.audit_log, name="community-audit"),
    path("courses/<slug:slug>/board/bans/", views.ban, name="community-ban"),
    path("courses/<slug:slug>/board/bans/<int:pk>/lift/", views.lift_ban,
         name="community-lift-ban"),
]
