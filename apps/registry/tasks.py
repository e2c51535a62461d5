"""Thin Celery tasks: call a service, nothing else."""

from __future__ import annotations

from celery import shared_task

from apps.registry.services import exempt_numbers_expire, exempt_numbers_send_reminders


@shared_task(name="registry.expiry_reminders")
def expiry_reminders() -> dict[str, int]:
    """Beat: remind attorneys before their verification ends, and mark ended ones expired."""
    return {"reminded": exempt_numbers_send_reminders(), "expired": exempt_numbers_expire()}
