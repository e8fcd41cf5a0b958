from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "lms.community"
    label = "community"
    verbose_name = "Community"
