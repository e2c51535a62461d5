"""Privileged stations (issue 11, section 6) and the inmate "do not record" toggle: pages for
the admins of a facility. Everything is fetched through ``restrict(user, manage)``; someone
else gets the same 404 as for a missing page, audited (``access.denied``). Registering,
retiring and the toggle are the audited services (apps.actions.stations,
apps.inmates.recording_setting); reading the station list is audited (``stations.viewed``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.actions.stations import station_register, station_retire
from apps.audit.models import Outcome
from apps.audit.reads import page_read_record
from apps.audit.scoped import get_in_scope_or_404
from apps.audit.services import record_event
from apps.common.errors import DomainError, NotFoundError
from apps.common.querysets import Action
from apps.facilities.models import Facility, PrivilegedStation
from apps.facilities.stations import MAX_LABEL_LENGTH, MAX_REASON_LENGTH
from apps.inmates.models import Inmate
from apps.inmates.recording_setting import inmate_do_not_record_clear, inmate_do_not_record_set
from apps.portal.forms import FacilityChoiceField
from apps.portal.nav import request_capabilities
from apps.portal.pages import page_of, portal_page, portal_user


class StationRegisterForm(forms.Form):
    facility = FacilityChoiceField(queryset=Facility.objects.none())
    station = forms.CharField(
        max_length=64,
        help_text="The station's phone number (any format) or the switch's station id, e.g. BOOTH-1.",
    )
    label = forms.CharField(max_length=MAX_LABEL_LENGTH, help_text="e.g. Attorney booth 1")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = Facility.objects.restrict(user, Action.MANAGE)  # type: ignore[attr-defined]


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=MAX_REASON_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))
    confirm = forms.BooleanField(required=True, label="I confirm")


def _denied(user: User, attempted: str) -> NotFoundError:
    """The page is for facility admins: anyone else gets the 404 of a missing page, audited."""
    with transaction.atomic():
        record_event(
            action="access.denied",
            actor=user,
            outcome=Outcome.DENIED,
            target_type="portal.page",
            target_id=attempted,
            details={"attempted": attempted, "exists": True},
        )
    return NotFoundError()


@require_http_methods(["GET", "POST"])
@portal_page
def station_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    if not request_capabilities(request).manage:
        raise _denied(user, "stations.view")
    form = StationRegisterForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        facility = form.cleaned_data["facility"]
        try:
            registered, quarantined = station_register(
                facility=facility,
                station=form.cleaned_data["station"],
                label=form.cleaned_data["label"],
                actor=user,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            held = (
                f" {quarantined} recording(s) already stored from it are now held for review."
                if quarantined
                else ""
            )
            messages.success(
                request, f"Registered {registered.label} ({registered.station_id}) at {facility.name}.{held}"
            )
            return redirect("portal:station-list")
    stations = PrivilegedStation.objects.restrict(user, Action.MANAGE).select_related(
        "facility", "registered_by", "retired_by"
    )
    page = page_of(request, stations.order_by("retired_at", "facility__code", "station_id", "-id"))
    page_read_record(actor=user, action="stations.viewed", rows=len(page.object_list), page=page.number)
    return render(
        request,
        "portal/station_list.html",
        {"form": form, "page": page, "stations": page.object_list},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@portal_page
def station_retire_page(request: HttpRequest, station_id: int) -> HttpResponse:
    user = portal_user(request)
    managed = PrivilegedStation.objects.restrict(user, Action.MANAGE).select_related("facility")
    station = get_in_scope_or_404(managed, station_id, actor=user, action="station.retire")
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            station_retire(station=station, reason=form.cleaned_data["reason"], actor=user)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Retired {station.label}: calls from it are recorded again.")
            return redirect("portal:station-list")
    status = 400 if form.errors else 200
    return render(request, "portal/station_retire.html", {"station": station, "form": form}, status=status)


@require_POST
@portal_page
def inmate_do_not_record(request: HttpRequest, inmate_id: int) -> HttpResponse:
    """The inmate page's toggle: on or off, with a written reason and the confirmation box."""
    user = portal_user(request)
    managed = Inmate.objects.restrict(user, Action.MANAGE)
    inmate = get_in_scope_or_404(managed, inmate_id, actor=user, action="inmate.do_not_record")
    form = ReasonForm(request.POST)
    # Exactly "on" or "off": anything else changes nothing (never fail open to recording).
    wanted = request.POST.get("do_not_record")
    if wanted not in ("on", "off"):
        messages.error(request, "Choose whether this inmate's calls are recorded.")
        return redirect("portal:inmate-detail", inmate_id=inmate.pk)
    turn_on = wanted == "on"
    if not form.is_valid():
        messages.error(request, "Give a reason and tick the box to confirm.")
        return redirect("portal:inmate-detail", inmate_id=inmate.pk)
    try:
        change = inmate_do_not_record_set if turn_on else inmate_do_not_record_clear
        change(inmate=inmate, reason=form.cleaned_data["reason"], actor=user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        state = "are no longer recorded" if turn_on else "are recorded again"
        messages.success(request, f"Calls of {inmate.booking_number} {state}.")
    return redirect("portal:inmate-detail", inmate_id=inmate.pk)
