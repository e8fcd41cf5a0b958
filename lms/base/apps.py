from django.apps import AppConfig


class BaseConfig(AppConfig):
    name = "lms.base"
    label = "base"
    verbose_name = "Site"
