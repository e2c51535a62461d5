"""Thin Celery tasks for the cross-domain acts: call the act, nothing else."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from apps.actions.assurance import assurance_run


@shared_task(name="actions.assurance_run", time_limit=settings.ASSURANCE_RUN_TIME_LIMIT)
def nightly_assurance_run() -> dict[str, object]:
    """Beat, nightly: every verified number through call setup and the storage gate
    (apps/actions/assurance.py); failures raise the alarm."""
    run = assurance_run(trigger="beat")
    return {
        "run": run.pk,
        "status": run.status,
        "numbers_checked": run.numbers_checked,
        "failures": run.failures,
        "duration_seconds": run.duration_seconds,
    }
