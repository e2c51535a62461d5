from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "apps.history"
    label = "history"
    verbose_name = "Call history import (vendor migration)"
