from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "lms.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Imported here, not at the top: models may be imported only once the apps are loaded.
        from . import receivers

        receivers.connect()
