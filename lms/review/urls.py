"""Peer review URLs beside the Wagtail page tree. ``courses/<slug>/reviews/`` is matched before
Wagtail's pages, so "reviews" is not a lesson or assignment slug (``RESERVED_PAGE_SLUGS``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("courses/<slug:slug>/reviews/<str:name>/", views.assignment_reviews,
         name="review-assignment"),
    path("courses/<slug:slug>/reviews/<str:name>/assign/", views.assign,
         name="review-assign"),
    path("courses/<slug:slug>/review-scores.csv", views.review_scores_csv,
         name="review-scores-csv"),
    path("reviews/<int:pk>/", views.review, name="review"),
    path("reviews/<int:pk>/submit/", views.submit, name="review-submit"),
    path("reviews/<int:pk>/comment/", views.comment, name="review-comment"),
    path("reviews/<int:pk>/reply/", views.reply, name="review-reply"),
    path("reviews/<int:pk>/rate/", views.rate, name="review-rate"),
    path("reviews/<int:pk>/hide/", views.hide, name="review-hide"),
    path("reviews/<int:pk>/reassign/", views.reassign, name="review-reassign"),
]
