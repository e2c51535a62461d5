"""Suspension: what a hit of anomaly analysis does to an account, at once and everywhere.

``is_active = False`` is what every door already checks: Django sessions (the auth backend
refuses inactive users on every request), DRF tokens (refused, and each refusal is audited
with the user's name, which is why the token is kept rather than deleted), the restrict()
querysets (an inactive user reaches nothing) and the playback stream (authenticated as the
same user, re-checked on each use). Exports not yet ready (pending, approved, building) are
cancelled; ready packages are shredded (apps.access.revocation).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.access.models import ExportRequest, ExportStatus, Suspension
from apps.access.revocation import exports_revoke_out_of_scope
from apps.access.selectors import suspensions_liftable_by
from apps.audit.services import record_event
from apps.common.errors import ConflictError, DomainError


def user_suspend(
    *, user: User, rule: str, details: dict[str, Any], actor: User | None = None
) -> Suspension | None:
    """Suspend ``user``; returns None if they already have an open suspension (idempotent)."""
    try:
        with transaction.atomic():
            suspension = Suspension.objects.create(user=user, rule=rule, details=details)
            User.objects.filter(pk=user.pk).update(is_active=False)
            # A build in progress finishes nothing once its export is no longer "building".
            cancelled = ExportRequest.objects.filter(
                requested_by=user,
                status__in=[ExportStatus.PENDING, ExportStatus.APPROVED, ExportStatus.BUILDING],
            ).update(status=ExportStatus.CANCELLED, decision_reason=f"requester suspended ({rule})")
            shredded = exports_revoke_out_of_scope(user=user, actor=actor, cause=f"suspension ({rule})")
            record_event(
                action="user.suspended",
                actor=actor,
                target=user,
                details={
                    "rule": rule,
                    "cancelled_exports": cancelled,
                    "shredded_exports": shredded,
                    **details,
                },
            )
            transaction.on_commit(lambda: _notify(user, rule, details))
    except IntegrityError:
        # Already under an open suspension: whatever reactivated the account outside
        # suspension_lift (a superuser's checkbox, a script), the suspension still holds.
        with transaction.atomic():
            if User.objects.filter(pk=user.pk, is_active=True).update(is_active=False):
                record_event(
                    action="user.suspension_enforced",
                    actor=actor,
                    target=user,
                    details={"rule": rule, **details},
                )
        return None
    return suspension


def _notify(user: User, rule: str, details: dict[str, Any]) -> None:
    send_mail(
        subject=f"[callplatform] account {user.get_username()} suspended ({rule})",
        message=(
            f"Anomaly rule '{rule}' suspended {user.get_username()} at {timezone.now():%Y-%m-%d %H:%M} UTC.\n"
            f"Details: {details}\nOnly an administrator can lift it, with a written reason."
        ),
        from_email=None,
        recipient_list=settings.COMPLIANCE_EMAILS,
        fail_silently=True,
    )


class LiftNotAllowedError(DomainError):
    status_code = 403
    reason = "lift_not_allowed"
    default_message = "Only another administrator may lift a suspension, with a written reason."


def suspension_lift(*, suspension: Suspension, lifted_by: User, reason: str) -> Suspension:
    """Reactivate a suspended account: another person who may (``suspensions_liftable_by``:
    compliance, or an administrator of every facility the user works at), with a reason.
    Compliance is e-mailed, as it was of the suspension."""
    if not reason.strip():
        raise LiftNotAllowedError("A written reason is required.")
    with transaction.atomic():
        # Decided under the lock: a staff change racing the lift cannot widen who may lift.
        suspension = Suspension.objects.select_for_update().get(pk=suspension.pk)
        if not suspensions_liftable_by(lifted_by).filter(pk=suspension.pk).exists():
            raise LiftNotAllowedError()
        if suspension.lifted_at is not None:
            raise ConflictError("This suspension was already lifted.")
        suspension.lifted_at = timezone.now()
        suspension.lifted_by = lifted_by
        suspension.lift_reason = reason.strip()
        suspension.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
        User.objects.filter(pk=suspension.user_id).update(is_active=True)
        record_event(
            action="user.suspension_lifted",
            actor=lifted_by,
            target=suspension.user,
            details={"suspension_id": suspension.pk, "reason": suspension.lift_reason},
        )
        transaction.on_commit(lambda: _notify_lift(suspension))
    return suspension


def _notify_lift(suspension: Suspension) -> None:
    lifted_by = suspension.lifted_by.get_username() if suspension.lifted_by else "?"
    send_mail(
        subject=f"[callplatform] suspension of {suspension.user.get_username()} lifted by {lifted_by}",
        message=(
            f"The suspension of {suspension.user.get_username()} (rule '{suspension.rule}', "
            f"{suspension.created_at:%Y-%m-%d %H:%M} UTC) was lifted by {lifted_by}.\n"
            f"Reason given: {suspension.lift_reason}"
        ),
        from_email=None,
        recipient_list=settings.COMPLIANCE_EMAILS,
        fail_silently=True,
    )
