from django.apps import AppConfig


class DiscourseConfig(AppConfig):
    """The school's Discourse: the LMS as its DiscourseConnect provider, and a category and a
    group per course kept in step with enrollments through Discourse's admin API."""

    name = "lms.discourse"
    label = "discourse"
    verbose_name = "Discourse"

    def ready(self) -> None:
        # Imported here, not at the top: models may be imported only once the apps are loaded.
        from . import signals

        signals.connect()
