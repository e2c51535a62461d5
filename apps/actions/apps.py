from django.apps import AppConfig


class ActionsConfig(AppConfig):
    """Installed (without models) so that its Celery tasks are discovered and its management
    commands found: the nightly assurance run lives here (apps/actions/assurance.py)."""

    name = "apps.actions"
    label = "actions"
