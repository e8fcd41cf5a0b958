from django.apps import AppConfig


class GradebookConfig(AppConfig):
    name = "lms.gradebook"
    label = "gradebook"
    verbose_name = "Gradebook"

    def ready(self) -> None:
        # Imported here, not at the top: models may be imported only once the apps are loaded.
        from lms.accounts.service_accounts import register

        from . import signals
        from .services import GRADER_ACCOUNT

        signals.connect()
        register(GRADER_ACCOUNT)
