"""Reads of compliance reports: only through ``restrict()``, each read audited."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from apps.audit.models import Outcome
from apps.audit.scoped import get_in_scope_or_404
from apps.audit.services import record_event
from apps.common.errors import NotFoundError
from apps.common.querysets import Action
from apps.compliance.models import AUDITOR_PERMISSION, ComplianceReport


def reports_for(user: User, *, via: str) -> QuerySet[ComplianceReport]:
    """The reports ``user`` may see, newest period first. Anyone but an auditor gets 404 (the
    list itself is an auditor's page), and the attempt is in the trail."""
    if not user.has_perm(AUDITOR_PERMISSION):
        with transaction.atomic():
            record_event(
                action="access.denied",
                actor=user,
                outcome=Outcome.DENIED,
                target_type=ComplianceReport._meta.label_lower,
                details={"attempted": "compliance_report.list", "via": via},
            )
        raise NotFoundError()
    return (
        ComplianceReport.objects.restrict(user, Action.VIEW)
        .select_related("facility", "generated_by")
        .order_by("-period_end", "facility__code", "-id")
    )


def reports_listed(user: User, *, via: str, ids: list[int]) -> None:
    """Audit one page of the list (which reports were shown)."""
    with transaction.atomic():
        record_event(
            action="compliance_report.listed",
            actor=user,
            target_type=ComplianceReport._meta.label_lower,
            details={"via": via, "report_ids": ids},
        )


def report_get(user: User, report_id: object, *, attempted: str) -> ComplianceReport:
    """One report in ``user``'s scope, or 404 (audited, whether it exists or not)."""
    scoped = ComplianceReport.objects.restrict(user, Action.VIEW).select_related("facility", "generated_by")
    return get_in_scope_or_404(scoped, report_id, actor=user, action=attempted)
