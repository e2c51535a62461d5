from django.apps import AppConfig


class AccessConfig(AppConfig):
    """Invariant I4: quotas, two-person exports, anomaly analysis and suspensions."""

    name = "apps.access"
    label = "access"
