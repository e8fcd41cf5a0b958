from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "lms.groups"
    label = "groups"
    verbose_name = "Study groups"
