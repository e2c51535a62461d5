"""Thin Celery tasks: call a service, nothing else."""

from __future__ import annotations

from celery import shared_task

from apps.compliance.services import compliance_reports_schedule


@shared_task(name="compliance.half_year_reports")
def half_year_reports() -> list[int]:
    """Beat (hourly): every facility's report of its last finished half-year, if not yet made
    (apps/compliance/services.py). The ids made now; empty on every run but the first."""
    return compliance_reports_schedule()
