"""Registry lifecycle: register -> verify | reject; verified -> revoked | expired;
verified -> renewal requested -> renewed (new window); expired | revoked | rejected -> renew
(a new pending registration). Every illegal transition raises IllegalTransitionError.

Each change is immediate for the very next call, because the privilege decision reads these
rows directly (apps.registry.privilege) and takes the same per-number lock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.references import protect, protect_number
from apps.audit.services import record_event
from apps.common.errors import DomainError
from apps.common.phone import normalize_phone_number
from apps.facilities.models import Facility
from apps.recordings.services import recordings_quarantine_for_number
from apps.registry.errors import (
    AlreadyRegisteredError,
    IllegalTransitionError,
    NumberHeldByAnotherAttorneyError,
)
from apps.registry.flags import privilege_flags_withdraw
from apps.registry.models import Attorney, ExemptNumber, ExemptStatus
from apps.registry.notifications import notify_decision, notify_expiry_reminder
from apps.registry.privilege import lock_number


def default_expiry(now: datetime) -> datetime | None:
    """End of a new verification window (REGISTRY_VERIFICATION_DAYS; 0 means no expiry)."""
    days = settings.REGISTRY_VERIFICATION_DAYS
    return now + timedelta(days=days) if days else None


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
                details={
                    "number_ref": protect_number(e164),
                    **({"label_ref": protect("label", exempt.label)} if exempt.label else {}),
                },
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
        holder = conflicting_holder(exempt)
        if holder is not None:
            raise NumberHeldByAnotherAttorneyError(number=exempt.number, registration_id=holder.pk)
        now = timezone.now()
        exempt.status = ExemptStatus.VERIFIED
        exempt.verified_by = clerk
        exempt.verified_at = now
        exempt.effective_from = now
        exempt.effective_until = effective_until or default_expiry(now)
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
            details={"number_ref": protect_number(exempt.number), "quarantined": quarantined},
        )
        notify_decision(exempt)
    return exempt, quarantined


def conflicting_holder(exempt: ExemptNumber) -> ExemptNumber | None:
    """The verified registration of the same number by someone else (shown to the clerk)."""
    return (
        ExemptNumber.objects.filter(number=exempt.number, status=ExemptStatus.VERIFIED)
        .exclude(pk=exempt.pk)
        .select_related("attorney")
        .first()
    )


def exempt_number_reject(*, exempt_number_id: int, clerk: User, reason: str) -> ExemptNumber:
    """Reject a pending registration; the reason is shown to (and e-mailed to) the attorney."""
    reason = reason.strip()
    if not reason:
        raise DomainError("A reason is required to reject a registration.")
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
        notify_decision(exempt)
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
        # A flag request stands on the registration: without it the request has no basis.
        withdrawn = privilege_flags_withdraw(exempt_number=exempt, actor=actor)
        record_event(
            action="exempt_number.revoked",
            actor=actor,
            target=exempt,
            facility_id=exempt.facility_id,
            details={"previous_status": previous, "flags_withdrawn": withdrawn},
        )
    return exempt


def exempt_number_renew(*, exempt_number_id: int, actor: User) -> ExemptNumber:
    """The attorney asks to renew.

    A verified registration gets a renewal request (a clerk grants a new window, the number
    stays protected meanwhile). An expired, revoked or rejected one starts over as a new
    pending registration of the same number, label and scope.
    """
    with transaction.atomic():
        exempt = ExemptNumber.objects.select_for_update().get(pk=exempt_number_id)
        if exempt.status == ExemptStatus.VERIFIED:
            if exempt.renewal_requested_at is not None:
                raise IllegalTransitionError("A renewal is already requested.", status=exempt.status)
            exempt.renewal_requested_at = timezone.now()
            exempt.save(update_fields=["renewal_requested_at"])
            record_event(
                action="exempt_number.renewal_requested",
                actor=actor,
                target=exempt,
                facility_id=exempt.facility_id,
            )
            return exempt
        if exempt.status == ExemptStatus.PENDING:
            raise IllegalTransitionError(status=exempt.status)
    return exempt_number_register(
        attorney=exempt.attorney,
        number=exempt.number,
        label=exempt.label,
        facility=exempt.facility,
        actor=actor,
    )


def exempt_number_renewal_approve(*, exempt_number_id: int, clerk: User) -> ExemptNumber:
    """A clerk grants a requested renewal: a new window from now (or from the current end)."""
    with transaction.atomic():
        exempt = ExemptNumber.objects.select_for_update().get(pk=exempt_number_id)
        lock_number(exempt.number)
        if exempt.status != ExemptStatus.VERIFIED or exempt.renewal_requested_at is None:
            raise IllegalTransitionError(status=exempt.status)
        now = timezone.now()
        start = max(now, exempt.effective_until) if exempt.effective_until else now
        exempt.effective_until = default_expiry(start)
        exempt.renewal_requested_at = None
        exempt.reminder_sent_at = None
        exempt.save(update_fields=["effective_until", "renewal_requested_at", "reminder_sent_at"])
        record_event(
            action="exempt_number.renewed",
            actor=clerk,
            target=exempt,
            facility_id=exempt.facility_id,
            details={
                "effective_until": exempt.effective_until.isoformat() if exempt.effective_until else None
            },
        )
        notify_decision(exempt)
    return exempt


def exempt_numbers_expire(*, now: datetime | None = None) -> int:
    """Mark verified registrations whose window has ended as expired (bookkeeping only: the
    privilege decision already ignores them, because the window is part of its query)."""
    now = now or timezone.now()
    count = 0
    due = ExemptNumber.objects.filter(status=ExemptStatus.VERIFIED, effective_until__lte=now)
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            exempt = ExemptNumber.objects.select_for_update().get(pk=pk)
            lock_number(exempt.number)
            if (
                exempt.status != ExemptStatus.VERIFIED
                or not exempt.effective_until
                or exempt.effective_until > now
            ):
                continue
            exempt.status = ExemptStatus.EXPIRED
            exempt.save(update_fields=["status"])
            record_event(action="exempt_number.expired", target=exempt, facility_id=exempt.facility_id)
            count += 1
    return count


def exempt_numbers_send_reminders(*, now: datetime | None = None) -> int:
    """E-mail each attorney once per window when a verification ends within
    REGISTRY_REMINDER_DAYS. Idempotent (reminder_sent_at), so beat may run it at any rate."""
    now = now or timezone.now()
    horizon = now + timedelta(days=settings.REGISTRY_REMINDER_DAYS)
    due = ExemptNumber.objects.filter(
        status=ExemptStatus.VERIFIED,
        effective_until__gt=now,
        effective_until__lte=horizon,
        reminder_sent_at__isnull=True,
    )
    count = 0
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            exempt = ExemptNumber.objects.select_for_update().select_related("attorney__user").get(pk=pk)
            if exempt.reminder_sent_at is not None:
                continue
            exempt.reminder_sent_at = now
            exempt.save(update_fields=["reminder_sent_at"])
            record_event(action="exempt_number.reminder_sent", target=exempt, facility_id=exempt.facility_id)
            notify_expiry_reminder(exempt)
            count += 1
    return count
