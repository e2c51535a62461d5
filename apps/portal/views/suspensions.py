"""Suspended staff: an administrator sees the open suspensions of their facilities' staff and
lifts one with a written reason (apps.access.suspensions: who may lift is decided there)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from apps.access.selectors import suspensions_liftable_by
from apps.access.suspensions import suspension_lift
from apps.audit.reads import page_read_record
from apps.audit.scoped import get_in_scope_or_404
from apps.audit.services import record_event
from apps.common.errors import DomainError, NotFoundError
from apps.portal.nav import request_capabilities
from apps.portal.pages import page_of, portal_page, portal_user

# What each anomaly rule means, in the words an administrator needs before lifting it.
RULE_LABELS = {
    "canary": "Opened a planted canary record",
    "denied_probes": "Many requests for records outside their access",
    "playback_burst": "Many playbacks in a short time",
    "distinct_inmates": "Calls of many different inmates in an hour",
    "export_burst": "Many export requests in an hour",
    "quota_hammering": "Kept hitting an exhausted quota",
    "baseline_burst": "Far more playback than their usual",
    "off_hours_bulk": "Bulk access outside working hours",
    "detail_walk": "Walked call details one by one",
    "flag_burst": "Many privilege flags in an hour",
    "claim_burst": "Many inmate claims in a short time",
    "manual": "Suspended by hand",
}


class LiftForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the account may be used again (kept in the audit trail, sent to compliance).",
    )


def _open_suspensions(request: HttpRequest):  # type: ignore[no-untyped-def]
    user = portal_user(request)
    if not (request_capabilities(request).manage or user.has_perm("access.lift_suspension")):
        raise NotFoundError()
    return suspensions_liftable_by(user).filter(lifted_at__isnull=True)


@require_GET
@portal_page
def suspension_list(request: HttpRequest) -> HttpResponse:
    page = page_of(request, _open_suspensions(request).select_related("user").order_by("-created_at", "-id"))
    page_read_record(
        actor=portal_user(request), action="suspensions.listed", rows=len(page.object_list), page=page.number
    )
    rows = [(s, RULE_LABELS.get(s.rule, s.rule)) for s in page]
    return render(request, "portal/suspension_list.html", {"page": page, "rows": rows})


@require_http_methods(["GET", "POST"])
@portal_page
def suspension_lift_view(request: HttpRequest, suspension_id: int) -> HttpResponse:
    user = portal_user(request)
    suspension = get_in_scope_or_404(
        _open_suspensions(request).select_related("user"), suspension_id, actor=user, action="suspension.lift"
    )
    form = LiftForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            suspension_lift(suspension=suspension, lifted_by=user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{suspension.user.username} can sign in again.")
            return redirect("portal:suspension-list")
    if request.method == "GET":
        with transaction.atomic():
            record_event(
                action="suspension.viewed",
                actor=user,
                target=suspension.user,
                details={"suspension_id": suspension.pk},
            )
    return render(
        request,
        "portal/suspension_lift.html",
        {"suspension": suspension, "rule": RULE_LABELS.get(suspension.rule, suspension.rule), "form": form},
    )
