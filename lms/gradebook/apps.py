from django.apps import AppConfig


class GradebookConfig(AppConfig):
    name = "lms.gradebook"
    label = "gradebook"
    verbose_name = "Gradebook"

    def ready(self) -> None:
        from . import signals

        signals.connect()
