from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data and the call simulator: a top layer that may use every other app."""

    name = "apps.demo"
    label = "demo"
