"""Compliance pages for auditors: the audit trail with filters, and compliance exports with
their progress. Every read of the trail is itself audited (CJIS: audit-log access)."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.audit import exports
from apps.audit.models import AuditExport, ExportStatus
from apps.audit.selectors import events_filtered, known_actions
from apps.audit.services import record_event
from apps.common.errors import NotFoundError
from apps.facilities.models import Facility
from apps.portal.audit_rows import event_rows
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
    action = forms.ChoiceField(required=False, help_text="one action, or every action of a kind (….*)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        submitted = str(self.data.get("action", "")) if self.is_bound else ""
        self.fields["action"].choices = action_choices(known_actions(), submitted=submitted)  # type: ignore[attr-defined]

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


# An action name as the trail writes them; a bookmarked filter for an action the cached list
# does not hold yet (a first event of a new kind) still works.
_ACTION_NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*\.?$")


def action_choices(actions: list[str], *, submitted: str = "") -> list[tuple[str, Any]]:
    """The "Action" list: every known action, grouped by kind, each kind with an "all" entry
    (a prefix ending with '.', which the trail's filter reads as a prefix)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(set(actions)):
        groups.setdefault(name.split(".", 1)[0], []).append((name, name))
    choices: list[tuple[str, Any]] = [("", "All actions")]
    values = {""}
    for kind in sorted(groups):
        entries = [(f"{kind}.", f"{kind}.* (all)"), *groups[kind]]
        values.update(value for value, _ in entries)
        choices.append((kind, entries))
    if submitted not in values and len(submitted) <= 64 and _ACTION_NAME.match(submitted):
        choices.append((submitted, submitted))
    return choices


# While one of the auditor's exports is unfinished, the page reloads itself (a <meta refresh>:
# the CSP forbids inline scripts) so its progress, next to the button, moves on its own.
UNFINISHED = {ExportStatus.PENDING, ExportStatus.RUNNING}
REFRESH_SECONDS = 5


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
    own_exports = list(AuditExport.objects.filter(requested_by=user).order_by("-id")[:10])
    running = [x for x in own_exports if x.status in UNFINISHED]
    return render(
        request,
        "portal/compliance.html",
        {
            "form": form,
            "page": page,
            "rows": event_rows(user, page.object_list),
            "exports": [(x, filters_label(x.filters)) for x in own_exports],
            "running": running[0] if running else None,
            "refresh_seconds": REFRESH_SECONDS if running else None,
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
    messages.success(request, f"Export #{export.pk} requested; its progress is shown next to the button.")
    # Back to the same filtered view: the filters survive the export.
    query = _filter_query(form)
    return redirect(f"{reverse('portal:compliance')}?{query}" if query else reverse("portal:compliance"))


def _filter_query(form: EventFilterForm) -> str:
    kept = QueryDict(mutable=True)
    for name in form.fields:
        value = form.data.get(name, "")
        if value:
            kept[name] = str(value)
    return kept.urlencode()


def filters_label(stored: dict[str, Any]) -> str:
    """An export's recorded filters, as the exports table shows them."""
    return ", ".join(f"{key}={value}" for key, value in sorted(stored.items())) or "all events"
