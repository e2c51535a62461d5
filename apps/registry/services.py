"""Registry lifecycle: register -> verify | reject; verified -> revoked | expired.

Each change is immediate for the very next call, because the privilege decision reads these
rows directly (apps.registry.privilege) and takes the same per-number lock.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.services import record_event
from apps.common.phone import normalize_phone_number
from apps.facilities.models import Facility
from apps.recordings.services import recordings_quarantine_for_number
from apps.registry.errors import (
    AlreadyRegisteredError,
    IllegalTransitionError,
    NumberHeldByAnotherAttorneyError,
)
from apps.registry.models import Attorney, ExemptNumber, ExemptStatus
from apps.registry.privilege import lock_number


def exempt_number_register(
    *,
    attorney: Attorney,
    number: str,
    label: str = "",
    facility: Facility | None = None,
    actor: User,
) -> ExemptNumber:
    """Create a pending registration. Global unless a facility is given explicitly."""
    region = facility.phone_region if facility else settings.DEFAULT_PHONE_REGION
    e164 = normalize_phone_number(number, region)
    try:
        with transaction.atomic():
            exempt = ExemptNumber(attorney=attorney, number=e164, label=label.strip(), facility=facility)
            exempt.full_clean(validate_constraints=False)
            exempt.save()
            record_event(
                action="exempt_number.registered",
                actor=actor,
                target=exempt,
                facility_id=facility.pk if facility else None,
                details={"number": e164, "label": exempt.label},
            )
    except IntegrityError as exc:
        raise AlreadyRegisteredError(number=e164) from exc
    return exempt


def exempt_number_verify(
    *, exempt_number_id: int, clerk: User, effective_until: datetime | None = None
) -> tuple[ExemptNumber, int]:
    """Verify a pending registration and quarantine earlier recordings of the number.

    Returns (registration, number of recordings quarantined). Both happen in one transaction
    under the number's lock, so no upload can slip between them (I1).
    """
    with transaction.atomic():
        exempt = ExemptNumber.objects.select_for_update().get(pk=exempt_number_id)
        lock_number(exempt.number)
        exempt.refresh_from_db()
        if exempt.status != ExemptStatus.PENDING:
            raise IllegalTransitionError(status=exempt.status)
        holder = ExemptNumber.objects.filter(number=exempt.number, status=ExemptStatus.VERIFIED).first()
        if holder is not None:
            raise NumberHeldByAnotherAttorneyError(number=exempt.number, registration_id=holder.pk)
        now = timezone.now()
        exempt.status = ExemptStatus.VERIFIED
        exempt.verified_by = clerk
        exempt.verified_at = now
        exempt.effective_from = now
        exempt.effective_until = effective_until
        exempt.save()
        quarantined = recordings_quarantine_for_number(
            number=exempt.number,
            facility_id=exempt.facility_id,
            reason=f"number verified as attorney line (registration {exempt.pk})",
            actor=clerk,
            exempt_number_id=exempt.pk,
        )
        record_event(
            action="exempt_number.verified",
            actor=clerk,
            target=exempt,
            facility_id=exempt.facility_id,
            details={"number": exempt.number, "quarantined": quarantined},
        )
    return exempt, quarantined


def exempt_number_reject(*, exempt_number_id: int, clerk: User, reason: str) -> ExemptNumber:
    with transaction.atomic():
        exempt = ExemptNumber.objects.select_for_update().get(pk=exempt_number_id)
        if exempt.status != ExemptStatus.PENDING:
            raise IllegalTransitionError(status=exempt.status)
        exempt.status = ExemptStatus.REJECTED
        exempt.decided_reason = reason
        exempt.save(update_fields=["status", "decided_reason"])
        record_event(
            action="exempt_number.rejected",
            actor=clerk,
            target=exempt,
            facility_id=exempt.facility_id,
            details={"reason": reason},
        )
    return exempt


def exempt_number_revoke(*, exempt_number_id: int, actor: User) -> ExemptNumber:
    """Revoke a pending or verified registration; calls from now on are recorded again."""
    with transaction.atomic():
        exempt = ExemptNumber.objects.select_for_update().get(pk=exempt_number_id)
        lock_number(exempt.number)
        if exempt.status not in {ExemptStatus.PENDING, ExemptStatus.VERIFIED}:
            raise IllegalTransitionError(status=exempt.status)
        now = timezone.now()
        previous = exempt.status
        exempt.status = ExemptStatus.REVOKED
        exempt.revoked_at = now
        if previous == ExemptStatus.VERIFIED:
            exempt.effective_until = now
        exempt.save(update_fields=["status", "revoked_at", "effective_until"])
        record_event(
            action="exempt_number.revoked",
            actor=actor,
            target=exempt,
            facility_id=exempt.facility_id,
            details={"previous_status": previous},
        )
    return exempt
