from django.apps import AppConfig
from django.core import checks


class ApiConfig(AppConfig):
    name = "lms.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from .docs import check_sidecar_installed

        checks.register(check_sidecar_installed)
