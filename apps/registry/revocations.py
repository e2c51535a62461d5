"""Revocation: verified | pending -> revoked (part of the lifecycle in apps/registry/services.py).

Separate because of the daily limit (issue 11, section 1): a clerk's revocations past
REGISTRY_BULK_REVOCATIONS_PER_DAY wait for a second clerk (apps/registry/bulk_limits.py).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.audit.references import protect_number
from apps.audit.services import record_event
from apps.registry.bulk_limits import SecondClerkRequiredError, revocation_queue_if_over_limit
from apps.registry.errors import IllegalTransitionError
from apps.registry.flags import privilege_flags_withdraw
from apps.registry.models import ExemptNumber, ExemptStatus
from apps.registry.privilege import lock_number


def exempt_number_revoke(
    *, exempt_number_id: int, actor: User, approved_by: User | None = None
) -> ExemptNumber:
    """Revoke a pending or verified registration; calls from now on are recorded again.

    An attorney revokes their own at once. Anyone else (a registry clerk) past
    REGISTRY_BULK_REVOCATIONS_PER_DAY revocations today only queues it for a second clerk
    (apps/registry/bulk_limits.py): SecondClerkRequiredError says so, after the queue is
    committed. ``approved_by`` is that second clerk, applying an approved batch.
    """
    queued = None
    with transaction.atomic():
        exempt = ExemptNumber.objects.select_for_update().get(pk=exempt_number_id)
        lock_number(exempt.number)
        if exempt.status not in {ExemptStatus.PENDING, ExemptStatus.VERIFIED}:
            raise IllegalTransitionError(status=exempt.status)
        by_clerk = exempt.attorney.user_id != actor.pk
        if by_clerk and approved_by is None:
            queued = revocation_queue_if_over_limit(exempt=exempt, clerk=actor)
        if queued is None:
            _revoke(exempt, actor=actor, by_clerk=by_clerk, approved_by=approved_by)
    if queued is not None:
        raise SecondClerkRequiredError(bulk_change_id=queued.pk, registration_id=exempt.pk)
    return exempt


def _revoke(exempt: ExemptNumber, *, actor: User, by_clerk: bool, approved_by: User | None) -> None:
    now = timezone.now()
    previous = exempt.status
    exempt.status = ExemptStatus.REVOKED
    exempt.revoked_at = now
    if previous == ExemptStatus.VERIFIED:
        exempt.effective_until = now
    exempt.save(update_fields=["status", "revoked_at", "effective_until"])
    # A flag request stands on the registration: without it the request has no basis.
    withdrawn = privilege_flags_withdraw(exempt_number=exempt, actor=actor)
    record_event(
        action="exempt_number.revoked",
        actor=actor,
        target=exempt,
        facility_id=exempt.facility_id,
        # The number's reference lets the list guard (apps/registry/alarms.py) match the drop;
        # ``by_clerk`` is what the daily limit counts.
        details={
            "previous_status": previous,
            "flags_withdrawn": withdrawn,
            "number_ref": protect_number(exempt.number),
            "by_clerk": by_clerk,
            **({"approved_by": approved_by.get_username()} if approved_by is not None else {}),
        },
    )
