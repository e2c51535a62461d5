"""The daily limit on one clerk's revocations (issue 11, section 1: bulk changes need two clerks).

Kept apart from apps/registry/bulk.py (which applies approved changes through the services) so
that the revoke service can consult it without an import cycle.
"""

from __future__ import annotations

from datetime import datetime, time

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.services import record_event
from apps.common.errors import DomainError
from apps.common.locks import advisory_xact_lock
from apps.registry.models import BulkChange, BulkChangeKind, BulkChangeStatus, ExemptNumber


class SecondClerkRequiredError(DomainError):
    """The act was queued, not done: a second registry clerk must approve it (202)."""

    status_code = 202
    reason = "second_clerk_required"
    default_message = "This change takes effect once a second registry clerk approves it."


def day_start(now: datetime) -> datetime:
    """Midnight of ``now``'s day in settings.TIME_ZONE (the day the limit counts)."""
    return timezone.make_aware(datetime.combine(timezone.localdate(now), time.min))


def revocations_today(clerk: User, now: datetime) -> int:
    """Revocations of other people's registrations ``clerk`` made since midnight."""
    return AuditEvent.objects.filter(
        action="exempt_number.revoked", actor=clerk, created_at__gte=day_start(now), details__by_clerk=True
    ).count()


def revocation_queue_if_over_limit(*, exempt: ExemptNumber, clerk: User) -> BulkChange | None:
    """Inside the revoke's transaction: None if ``clerk`` may revoke ``exempt`` now; otherwise
    the clerk's open batch (created or extended with it), which a second clerk approves.

    A per-clerk lock makes count-and-decide atomic: two parallel revocations cannot both be the
    limit's last one.
    """
    advisory_xact_lock("registry-bulk-revocations", str(clerk.pk))
    now = timezone.now()
    if revocations_today(clerk, now) < settings.REGISTRY_BULK_REVOCATIONS_PER_DAY:
        return None
    batch = (
        BulkChange.objects.select_for_update()
        .filter(kind=BulkChangeKind.REVOCATIONS, status=BulkChangeStatus.PENDING, proposed_by=clerk)
        .first()
    )
    if batch is None:
        batch = BulkChange.objects.create(
            kind=BulkChangeKind.REVOCATIONS,
            proposed_by=clerk,
            proposed_at=now,
            payload={"registration_ids": []},
        )
    ids: list[int] = batch.payload.setdefault("registration_ids", [])
    if exempt.pk not in ids:
        ids.append(exempt.pk)
    batch.preview = {"revocations": len(ids), "limit_per_day": settings.REGISTRY_BULK_REVOCATIONS_PER_DAY}
    batch.save(update_fields=["payload", "preview"])
    record_event(
        action="registry.bulk_change_proposed",
        actor=clerk,
        target=batch,
        facility_id=exempt.facility_id,
        details={"kind": batch.kind, "registration": exempt.pk, "revocations": len(ids)},
    )
    return batch
