from django.apps import AppConfig


class TutorConfig(AppConfig):
    """The LMS's side of the AI tutor: its service account and the instructors' tutor page."""

    name = "lms.tutor"
    label = "tutor"
    verbose_name = "AI tutor"

    def ready(self) -> None:
        # Imported here, not at the top: models may be imported only once the apps are loaded.
        from lms.accounts.service_accounts import register

        from .services import TUTOR_ACCOUNT

        register(TUTOR_ACCOUNT)
