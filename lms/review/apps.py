from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "lms.review"
    label = "review"
    verbose_name = "Peer review"
