"""Thin Celery tasks: call a service, nothing else."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from apps.registry.decision_list import decision_list_publish as publish_version
from apps.registry.drift import switch_drift_check as drift_check
from apps.registry.profiles import attorney_signups_expire
from apps.registry.services import exempt_numbers_expire, exempt_numbers_send_reminders
from apps.registry.snapshots import registry_snapshot_take


@shared_task(name="registry.expiry_reminders")
def expiry_reminders() -> dict[str, int]:
    """Beat: remind attorneys before their verification ends, and mark ended ones expired."""
    return {"reminded": exempt_numbers_send_reminders(), "expired": exempt_numbers_expire()}


@shared_task(name="registry.expire_unverified_signups")
def expire_unverified_signups(now: str | None = None) -> int:
    """Beat: delete attorney sign-ups never verified in ATTORNEY_SIGNUP_EXPIRY_HOURS. ``now``
    (ISO 8601) is for tests and replays; the default is the current time."""
    return attorney_signups_expire(now=datetime.fromisoformat(now) if now else None)


@shared_task(name="registry.list_snapshot")
def list_snapshot() -> dict[str, object]:
    """Beat: take today's signed snapshot of the verified list if not yet taken, and raise the
    alarm on an unexplained drop (apps/registry/snapshots.py)."""
    outcome = registry_snapshot_take()
    return {
        "day": outcome.snapshot.day.isoformat(),
        "count": outcome.snapshot.count,
        "created": outcome.created,
        "alarm": outcome.alarm.pk if outcome.alarm else None,
    }


@shared_task(name="registry.decision_list_publish")
def decision_list_publish() -> int:
    """Beat: publish a new decision-list version if the covered set changed; the latest version."""
    return publish_version().number


@shared_task(name="registry.switch_drift_check")
def switch_drift_check() -> list[int]:
    """Beat: raise the drift alarm for switches stale past DECISION_LIST_MAX_STALENESS (ids)."""
    return [alarm.pk for alarm in drift_check()]
