"""Reads of the registry for the attorney portal, the registry desk and the API. An attorney
reaches only their own numbers; the clerk's queues are the whole registry by role (the views
that use them are guarded by the clerk permission)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from apps.audit.models import AuditEvent
from apps.registry.models import AssuranceRun, Attorney, ClaimStatus, ExemptNumber, ExemptStatus, InmateClaim


def numbers_of(attorney: Attorney) -> QuerySet[ExemptNumber]:
    """The attorney's own registrations: the only numbers an attorney may fetch."""
    return ExemptNumber.objects.filter(attorney=attorney).select_related("facility")


def number_history(exempt: ExemptNumber, actions: Iterable[str]) -> QuerySet[AuditEvent]:
    """The trail of one registration's life (registered, verified, renewed...), oldest first."""
    return AuditEvent.objects.filter(
        target_type="registry.exemptnumber", target_id=str(exempt.pk), action__in=list(actions)
    ).order_by("created_at", "pk")


def registrations_pending() -> QuerySet[ExemptNumber]:
    return (
        ExemptNumber.objects.filter(status=ExemptStatus.PENDING)
        .select_related("attorney", "facility")
        .prefetch_related("evidence")
        .order_by("created_at")
    )


def renewals_requested() -> QuerySet[ExemptNumber]:
    return ExemptNumber.objects.filter(
        status=ExemptStatus.VERIFIED, renewal_requested_at__isnull=False
    ).select_related("attorney")


def claims_pending() -> QuerySet[InmateClaim]:
    return (
        InmateClaim.objects.filter(status=ClaimStatus.PENDING)
        .select_related("facility", "inmate")
        .order_by("created_at")
    )


def last_assurance_run() -> AssuranceRun | None:
    """The last finished run, for the clerk dashboard: numbers checked, failures, duration."""
    return AssuranceRun.objects.filter(finished_at__isnull=False).order_by("-finished_at", "-pk").first()


def renewal_opens_at(exempt: ExemptNumber) -> datetime | None:
    """When the attorney's Renew button appears: REGISTRY_REMINDER_DAYS before a verified
    registration's window ends (when the reminder goes out). None: nothing to renew (no end,
    or not verified; a lapsed registration is registered again instead)."""
    if exempt.status != ExemptStatus.VERIFIED or exempt.effective_until is None:
        return None
    return exempt.effective_until - timedelta(days=settings.REGISTRY_REMINDER_DAYS)
