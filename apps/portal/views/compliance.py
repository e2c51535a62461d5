"""Compliance pages for auditors: the audit trail with filters, and compliance exports with
their progress. Every read of the trail is itself audited (CJIS: audit-log access)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.audit import exports
from apps.audit.models import AuditExport
from apps.audit.selectors import events_filtered
from apps.audit.services import record_event
from apps.common.errors import NotFoundError
from apps.facilities.models import Facility
from apps.portal.pages import page_of, portal_page, portal_user


class EventFilterForm(forms.Form):
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(
        label="To (inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    facility = forms.ModelChoiceField(
        queryset=Facility.objects.all(), required=False, empty_label="All", to_field_name="code"
    )
    actor = forms.CharField(label="Actor (username)", max_length=150, required=False)
    action = forms.CharField(
        max_length=64, required=False, help_text="exact, or a prefix ending with '.' (e.g. recording.)"
    )

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data
        tz = timezone.get_current_timezone()
        result: dict[str, Any] = {}
        if data.get("since"):
            result["since"] = datetime.combine(data["since"], time.min, tzinfo=tz)
        if data.get("until"):
            result["until"] = datetime.combine(data["until"], time.max, tzinfo=tz)
        if data.get("facility"):
            result["facility_id"] = data["facility"].pk
        for key in ("actor", "action"):
            if data.get(key):
                result[key] = data[key].strip()
        return result


def _require(request: HttpRequest, perm: str) -> None:
    if not portal_user(request).has_perm(perm):
        raise NotFoundError()


@require_GET
@portal_page
def compliance(request: HttpRequest) -> HttpResponse:
    _require(request, "audit.view_auditevent")
    user = portal_user(request)
    form = EventFilterForm(request.GET or None)
    filters = form.filters() if form.is_valid() else {}
    page = page_of(request, events_filtered(filters).order_by("-id"), per_page=50)
    with transaction.atomic():
        record_event(
            action="audit.events_read",
            actor=user,
            details={
                "filters": exports.serialize_filters(filters),
                "via": "portal",
                "page": page.number,
                "returned": len(page.object_list),
            },
        )
    own_exports = AuditExport.objects.filter(requested_by=user).order_by("-id")[:10]
    return render(
        request,
        "portal/compliance.html",
        {
            "form": form,
            "page": page,
            "exports": own_exports,
            "can_export": user.has_perm("audit.export_auditevent"),
            "query": request.GET.urlencode(),
        },
    )


@require_POST
@portal_page
def compliance_export(request: HttpRequest) -> HttpResponseBase:
    _require(request, "audit.export_auditevent")
    form = EventFilterForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The filters are invalid; nothing was exported.")
        return redirect("portal:compliance")
    export = exports.audit_export_request(requested_by=portal_user(request), filters=form.filters())
    messages.success(request, f"Export #{export.pk} requested; its progress is shown below.")
    return redirect("portal:compliance")
