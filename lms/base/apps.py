from django.apps import AppConfig


class BaseConfig(AppConfig):
    name = "lms.base"
    label = "base"
    verbose_name = "Site"

    def ready(self) -> None:
        from . import versioned_cache  # imports models: only once the app registry is ready

        versioned_cache.connect_content_receivers()
