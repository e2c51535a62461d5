"""Registry lifecycle: register -> verify | reject; verified -> revoked | expired;
verified -> renewal requested -> renewed (new window) | declined; expired | revoked | rejected,
or verified but lapsed -> renew (a new pending registration). Every illegal transition raises
IllegalTransitionError.

The window (issue 9): its end lies REGISTRY_WINDOW_MIN_DAYS..REGISTRY_WINDOW_MAX_DAYS after its
start; a registration stays exempt while its renewal is pending and until its attorney has been
reminded, and the reminder (or a declined renewal) gives at least REGISTRY_REMINDER_DAYS of
notice before the end (see apps.registry.privilege.REGISTRATION_COVERS_SQL).

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
from apps.registry.categories import credential_clean, evidence_require
from apps.registry.errors import (
    AlreadyRegisteredError,
    EffectiveUntilOutOfRangeError,
    IllegalTransitionError,
    NumberHeldByAnotherAttorneyError,
)
from apps.registry.models import Attorney, ExemptNumber, ExemptStatus, RegistrationCategory
from apps.registry.notifications import notify_decision, notify_expiry_reminder, notify_renewal_declined
from apps.registry.privilege import lock_number, registration_lapsed

# Revocation has its own module (the daily limit of issue 11 lives with it); callers import it
# from here, with the rest of the lifecycle.
from apps.registry.revocations import exempt_number_revoke  # noqa: E402, F401


def default_expiry(now: datetime) -> datetime | None:
    """End of a new verification window (REGISTRY_VERIFICATION_DAYS; 0 means no expiry)."""
    days = settings.REGISTRY_VERIFICATION_DAYS
    return now + timedelta(days=days) if days else None


def window_end(start: datetime, effective_until: datetime | None) -> datetime | None:
    """The end of a window starting at ``start``: the clerk's choice, or the default.

    A chosen end must lie REGISTRY_WINDOW_MIN_DAYS..REGISTRY_WINDOW_MAX_DAYS after the start:
    the minimum exceeds the reminder lead, so the attorney is reminded before the end.
    """
    if effective_until is None:
        return default_expiry(start)
    earliest = start + timedelta(days=settings.REGISTRY_WINDOW_MIN_DAYS)
    latest = start + timedelta(days=settings.REGISTRY_WINDOW_MAX_DAYS)
    if not earliest <= effective_until <= latest:
        raise EffectiveUntilOutOfRangeError(
            f"effective_until must be at least {settings.REGISTRY_WINDOW_MIN_DAYS} days and at most "
            f"{settings.REGISTRY_WINDOW_MAX_DAYS} days after the start of the window.",
            earliest=earliest.isoformat(),
            latest=latest.isoformat(),
        )
    return effective_until


def exempt_number_register(
    *,
    attorney: Attorney,
    number: str,
    label: str = "",
    facility: Facility | None = None,
    category: str = RegistrationCategory.ATTORNEY,
    credential: str = "",
    credential_issuer: str = "",
    actor: User,
) -> ExemptNumber:
    """Create a pending registration. Global unless a facility is given explicitly.

    Any number that parses is accepted, mobile or fixed (issue 11: no rule excludes cell
    phones). The category's credential is checked here (400 ``category_credential_invalid``);
    its documents only at verification, since they are uploaded after registering.
    """
    region = facility.phone_region if facility else settings.DEFAULT_PHONE_REGION
    e164 = normalize_phone_number(number, region)
    credential, credential_issuer = credential_clean(category, credential, credential_issuer)
    try:
        with transaction.atomic():
            exempt = ExemptNumber(
                attorney=attorney,
                number=e164,
                label=label.strip(),
                facility=facility,
                category=category,
                credential=credential,
                credential_issuer=credential_issuer,
            )
            exempt.full_clean(validate_constraints=False)
            exempt.save()
            record_event(
                action="exempt_number.registered",
                actor=actor,
                target=exempt,
                facility_id=facility.pk if facility else None,
                details={
                    "number_ref": protect_number(e164),
                    "category": category,
                    **({"label_ref": protect("label", exempt.label)} if exempt.label else {}),
                },
            )
    except IntegrityError as exc:
        raise AlreadyRegisteredError(number=e164) from exc
    return exempt


def exempt_number_mark_verified(
    *, exempt_number_id: int, clerk: User, effective_until: datetime | None = None
) -> ExemptNumber:
    """The registry's half of verifying a pending registration, in the caller's transaction:
    lock the registration and the number (the lock the storage gate takes), check the
    transition, and save it verified with its window.

    The whole act, which also quarantines earlier recordings of the number before the
    transaction commits (I1), is ``apps.actions.registry.exempt_number_verify``.
    """
    exempt = ExemptNumber.objects.select_for_update().get(pk=exempt_number_id)
    lock_number(exempt.number)
    exempt.refresh_from_db()
    if exempt.status != ExemptStatus.PENDING:
        raise IllegalTransitionError(status=exempt.status)
    evidence_require(exempt)
    holder = conflicting_holder(exempt)
    if holder is not None:
        raise NumberHeldByAnotherAttorneyError(number=exempt.number, registration_id=holder.pk)
    now = timezone.now()
    exempt.status = ExemptStatus.VERIFIED
    exempt.verified_by = clerk
    exempt.verified_at = now
    exempt.effective_from = now
    exempt.effective_until = window_end(now, effective_until)
    exempt.save()
    return exempt


def exempt_number_verified_record(*, exempt: ExemptNumber, clerk: User, quarantined: int) -> None:
    """The trail and the attorney's notice of a verification (after its quarantine)."""
    record_event(
        action="exempt_number.verified",
        actor=clerk,
        target=exempt,
        facility_id=exempt.facility_id,
        details={
            "number_ref": protect_number(exempt.number),
            # Every act that sets the end records it: the list guard explains an expiry only at
            # an end the services set (apps/registry/alarms.py).
            "effective_until": exempt.effective_until.isoformat() if exempt.effective_until else None,
            "quarantined": quarantined,
        },
    )
    notify_decision(exempt)


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


def exempt_number_renew(*, exempt_number_id: int, actor: User) -> ExemptNumber:
    """The attorney asks to renew.

    A verified registration that still covers now gets a renewal request: a clerk grants a new
    window, and the number stays exempt until the clerk decides (even past the window's end).
    One that has lapsed is marked expired and, like an expired, revoked or rejected one, starts
    over as a new pending registration of the same number, label and scope: only a clerk's
    verification (which quarantines what was recorded meanwhile) makes it exempt again.
    """
    with transaction.atomic():
        exempt = ExemptNumber.objects.select_for_update().get(pk=exempt_number_id)
        lock_number(exempt.number)
        now = timezone.now()
        if exempt.status == ExemptStatus.VERIFIED and _expire_if_lapsed(exempt, now):
            exempt.refresh_from_db()
        if exempt.status == ExemptStatus.VERIFIED:
            if exempt.renewal_requested_at is not None:
                raise IllegalTransitionError("A renewal is already requested.", status=exempt.status)
            if exempt.decided_reason:
                raise IllegalTransitionError(
                    "The renewal was declined; register the number again once it has ended.",
                    status=exempt.status,
                )
            exempt.renewal_requested_at = now
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
            category=exempt.category,
            credential=exempt.credential,
            credential_issuer=exempt.credential_issuer,
            actor=actor,
        )


def exempt_number_renewal_extend(
    *, exempt_number_id: int, clerk: User, effective_until: datetime | None = None
) -> tuple[ExemptNumber, datetime | None]:
    """The registry's half of granting a requested renewal, in the caller's transaction and
    under the number's lock: a new window from the current end (or from now).

    Returns (registration, the end of the old window if it had lapsed, else None). A pending
    renewal keeps the number exempt, so normally nothing was recorded past the old end; if
    something was (a renewal requested after a lapse, before issue 9), the whole act,
    ``apps.actions.registry.exempt_number_renewal_approve``, quarantines it.
    """
    exempt = ExemptNumber.objects.select_for_update().get(pk=exempt_number_id)
    lock_number(exempt.number)
    if exempt.status != ExemptStatus.VERIFIED or exempt.renewal_requested_at is None:
        raise IllegalTransitionError(status=exempt.status)
    now = timezone.now()
    old_end = exempt.effective_until
    start = max(now, old_end) if old_end else now
    exempt.effective_until = window_end(start, effective_until)
    exempt.renewal_requested_at = None
    exempt.reminder_sent_at = None
    exempt.save(update_fields=["effective_until", "renewal_requested_at", "reminder_sent_at"])
    return exempt, (old_end if old_end is not None and old_end < now else None)


def exempt_number_renewed_record(*, exempt: ExemptNumber, clerk: User, quarantined: int) -> None:
    """The trail and the attorney's notice of a granted renewal (after any quarantine)."""
    record_event(
        action="exempt_number.renewed",
        actor=clerk,
        target=exempt,
        facility_id=exempt.facility_id,
        details={
            "effective_until": exempt.effective_until.isoformat() if exempt.effective_until else None,
            "quarantined": quarantined,
        },
    )
    notify_decision(exempt)


def exempt_number_renewal_decline(*, exempt_number_id: int, clerk: User, reason: str) -> ExemptNumber:
    """A clerk declines a requested renewal. The registration keeps its window, but ends no
    sooner than REGISTRY_REMINDER_DAYS from now: the decline is the attorney's notice, so a
    renewal decided after the old end never lapses the number on the spot."""
    reason = reason.strip()
    if not reason:
        raise DomainError("A reason is required to decline a renewal.")
    with transaction.atomic():
        exempt = ExemptNumber.objects.select_for_update().get(pk=exempt_number_id)
        lock_number(exempt.number)
        if exempt.status != ExemptStatus.VERIFIED or exempt.renewal_requested_at is None:
            raise IllegalTransitionError(status=exempt.status)
        now = timezone.now()
        if exempt.effective_until is not None:
            exempt.effective_until = max(exempt.effective_until, _notice_end(now))
        exempt.renewal_requested_at = None
        exempt.reminder_sent_at = now
        exempt.decided_reason = reason
        exempt.save(
            update_fields=["effective_until", "renewal_requested_at", "reminder_sent_at", "decided_reason"]
        )
        record_event(
            action="exempt_number.renewal_declined",
            actor=clerk,
            target=exempt,
            facility_id=exempt.facility_id,
            details={
                "reason": reason,
                "effective_until": exempt.effective_until.isoformat() if exempt.effective_until else None,
            },
        )
        notify_renewal_declined(exempt)
    return exempt


def _notice_end(now: datetime) -> datetime:
    """The earliest end of a window whose attorney is told at ``now``."""
    return now + timedelta(days=settings.REGISTRY_REMINDER_DAYS)


def _expire_if_lapsed(exempt: ExemptNumber, now: datetime) -> bool:
    """Mark ``exempt`` (locked by the caller, with its number) expired if it no longer covers
    ``now``; the same test as the privilege rule's (``registration_lapsed``)."""
    if not ExemptNumber.objects.filter(registration_lapsed(now), pk=exempt.pk).exists():
        return False
    ExemptNumber.objects.filter(pk=exempt.pk).update(status=ExemptStatus.EXPIRED)
    record_event(
        action="exempt_number.expired",
        target=exempt,
        facility_id=exempt.facility_id,
        # The end it lapsed at: the list guard checks that an audited act set it.
        details={
            "number_ref": protect_number(exempt.number),
            "effective_until": exempt.effective_until.isoformat() if exempt.effective_until else None,
        },
    )
    return True


def exempt_numbers_expire(*, now: datetime | None = None) -> int:
    """Mark lapsed registrations expired (bookkeeping only: the privilege decision already
    ignores them). A pending renewal or a reminder not yet sent is no lapse."""
    now = now or timezone.now()
    count = 0
    for pk in ExemptNumber.objects.filter(registration_lapsed(now)).values_list("pk", flat=True):
        with transaction.atomic():
            exempt = ExemptNumber.objects.select_for_update().get(pk=pk)
            lock_number(exempt.number)
            count += _expire_if_lapsed(exempt, now)
    return count


def exempt_numbers_send_reminders(*, now: datetime | None = None) -> int:
    """E-mail each attorney once per window when a verification ends within
    REGISTRY_REMINDER_DAYS (or has ended unannounced: it is still exempt, see the privilege
    rule). The end moves to at least REGISTRY_REMINDER_DAYS after the reminder, so a late run
    (beat down) still gives the full notice. Idempotent (reminder_sent_at), so beat may run it
    at any rate. Registrations whose renewal is pending need no reminder: they stay exempt
    until a clerk decides, and a decline is itself the notice."""
    now = now or timezone.now()
    due = ExemptNumber.objects.filter(
        status=ExemptStatus.VERIFIED,
        effective_until__lte=_notice_end(now),
        reminder_sent_at__isnull=True,
        renewal_requested_at__isnull=True,
    )
    count = 0
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            exempt = ExemptNumber.objects.select_for_update().select_related("attorney__user").get(pk=pk)
            lock_number(exempt.number)
            if exempt.reminder_sent_at is not None or exempt.renewal_requested_at is not None:
                continue
            assert exempt.effective_until is not None  # noqa: S101 - filtered above
            scheduled_end = exempt.effective_until
            exempt.effective_until = max(scheduled_end, _notice_end(now))
            exempt.reminder_sent_at = now
            exempt.save(update_fields=["effective_until", "reminder_sent_at"])
            record_event(
                action="exempt_number.reminder_sent",
                target=exempt,
                facility_id=exempt.facility_id,
                details={
                    "effective_until": exempt.effective_until.isoformat(),
                    "extended_for_notice": exempt.effective_until != scheduled_end,
                },
            )
            notify_expiry_reminder(exempt)
            count += 1
    return count
