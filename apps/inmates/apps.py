from django.apps import AppConfig


class InmatesConfig(AppConfig):
    name = "apps.inmates"
    label = "inmates"
