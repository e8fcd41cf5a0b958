from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "lms.community"
    label = "community"
    verbose_name = "Community"

    def ready(self) -> None:
        # Imported here, not at the top: models may be imported only once the apps are loaded.
        from . import services

        services.connect()
