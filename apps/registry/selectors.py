"""Reads of the registry for the attorney portal, the registry desk and the API. An attorney
reaches only their own numbers; the clerk's queues are the whole registry by role (the views
that use them are guarded by the clerk permission)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet

from apps.audit.models import AuditEvent
from apps.registry.models import (
    AssuranceRun,
    Attorney,
    ClaimStatus,
    ExemptNumber,
    ExemptStatus,
    InmateClaim,
    PrivilegeFlag,
)


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


@dataclass(frozen=True)
class RegistrationSearch:
    """A registry clerk's search (issue 15, item 7); every field optional. ``number`` is E.164
    (the form parses any spelling); ``attorney`` matches a name, a bar number (the registrant's,
    or the counsel of record a defence social worker names) in any spacing; ``facility`` is a
    facility code, or ``GLOBAL`` for registrations that cover every facility."""

    number: str = ""
    attorney: str = ""
    status: str = ""
    category: str = ""
    facility: str = ""


GLOBAL = "global"


def registrations_search(search: RegistrationSearch) -> QuerySet[ExemptNumber]:
    """Every registration matching ``search``, newest first: the whole registry by role (the
    views using it are guarded by the clerk permission)."""
    rows = ExemptNumber.objects.select_related("attorney", "facility").order_by("-created_at", "-pk")
    if search.number:
        rows = rows.filter(number=search.number)
    if search.attorney:
        text = search.attorney.strip()
        bar = re.sub(r"[\s.-]+", "", text).upper()
        rows = rows.filter(
            Q(attorney__full_name__icontains=text)
            | Q(attorney__bar_number__iexact=bar)
            | Q(attorney__requested_bar_number__iexact=bar)
            | Q(credential__iexact=bar)
        )
    if search.status:
        rows = rows.filter(status=search.status)
    if search.category:
        rows = rows.filter(category=search.category)
    if search.facility == GLOBAL:
        rows = rows.filter(facility__isnull=True)
    elif search.facility:
        rows = rows.filter(facility__code=search.facility)
    return rows


@dataclass
class NumberHistory:
    """Everything the registry knows about one number over time, for a clerk."""

    number: str
    registrations: list[ExemptNumber]
    events: list[AuditEvent]
    claims: list[InmateClaim]
    flags: list[PrivilegeFlag]


REGISTRATION_ACTIONS_PREFIX = "exempt_number."


def number_history_of(number: str) -> NumberHistory:
    """Every registration of ``number`` (any registrant, any status), the trail of their
    decisions (who and when, oldest first), and the inmate claims and privilege flags on it."""
    registrations = list(
        ExemptNumber.objects.filter(number=number)
        .select_related("attorney", "facility", "verified_by")
        .prefetch_related("evidence")
        .order_by("created_at", "pk")
    )
    events = list(
        AuditEvent.objects.filter(
            target_type="registry.exemptnumber",
            target_id__in=[str(r.pk) for r in registrations],
            action__startswith=REGISTRATION_ACTIONS_PREFIX,
        )
        .select_related("actor")
        .order_by("created_at", "pk")
    )
    claims = list(
        InmateClaim.objects.filter(number=number)
        .select_related("facility", "inmate", "reported_by", "decided_by")
        .order_by("created_at")
    )
    flags = list(
        PrivilegeFlag.objects.filter(number=number)
        .select_related("attorney", "facility", "decided_by")
        .order_by("created_at")
    )
    return NumberHistory(number, registrations, events, claims, flags)


def renewal_opens_at(exempt: ExemptNumber) -> datetime | None:
    """When the attorney's Renew button appears: REGISTRY_REMINDER_DAYS before a verified
    registration's window ends (when the reminder goes out). None: nothing to renew (no end,
    or not verified; a lapsed registration is registered again instead)."""
    if exempt.status != ExemptStatus.VERIFIED or exempt.effective_until is None:
        return None
    return exempt.effective_until - timedelta(days=settings.REGISTRY_REMINDER_DAYS)
