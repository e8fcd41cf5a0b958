from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "lms.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from . import permissions  # imports models: only once the app registry is ready

        permissions.connect_permission_receivers()
