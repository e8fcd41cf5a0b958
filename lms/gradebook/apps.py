from django.apps import AppConfig


class GradebookConfig(AppConfig):
    name = "lms.gradebook"
    label = "gradebook"
    verbose_name = "Gradebook"
