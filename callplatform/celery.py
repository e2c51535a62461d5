"""The Celery application.

Celery only carries work downstream of the database (sealing the audit trail, analysis,
exports); the row written with each act is always the source of truth, so tasks are
idempotent and delivery is at-least-once (see CELERY_* settings).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callplatform.settings.base")

app = Celery("callplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
