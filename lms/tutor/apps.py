from django.apps import AppConfig


class TutorConfig(AppConfig):
    """The LMS's side of the AI tutor: its service account and the instructors' tutor page."""

    name = "lms.tutor"
    label = "tutor"
    verbose_name = "AI tutor"
