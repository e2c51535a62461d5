"""Inmate search and the inmate page (its calls, masked and metered, and its grants)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from apps.audit.reads import page_read_record
from apps.audit.scoped import get_in_scope_or_404
from apps.calls.reads import call_rows_served
from apps.calls.selectors import calls_visible_to
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.inmates.selectors import grants_visible_to, inmates_matching, inmates_visible_to
from apps.portal.crosssite import ask_if_cross_site
from apps.portal.forms import (
    InmateSearchForm,
)
from apps.portal.nav import request_capabilities
from apps.portal.pages import page_of, portal_page, portal_user
from apps.portal.rows import call_row


@require_GET
@portal_page
def inmate_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = InmateSearchForm(request.GET or None, user=user)
    inmates = inmates_visible_to(user).order_by("last_name", "first_name", "id")
    if form.is_bound and form.is_valid():
        inmates = inmates_matching(inmates, form.cleaned_data["q"].strip())
        if form.cleaned_data["facility"]:
            inmates = inmates.filter(facility=form.cleaned_data["facility"])
    elif form.is_bound:
        inmates = inmates.none()
    page = page_of(request, inmates)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    page_read_record(
        actor=user, action="inmates.listed", rows=len(page.object_list), filters=filters, page=page.number
    )
    return render(request, "portal/inmate_list.html", {"form": form, "page": page})


@require_http_methods(["GET", "POST"])
@portal_page
@ask_if_cross_site
def inmate_detail(request: HttpRequest, inmate_id: int) -> HttpResponse:
    user = portal_user(request)
    inmate = get_in_scope_or_404(inmates_visible_to(user), inmate_id, actor=user, action="inmate.view")
    caps = request_capabilities(request)
    page = page_of(request, calls_visible_to(user).filter(inmate=inmate))
    # The call table is call records: charged and audited with the page, before it is shown.
    call_rows_served(
        user=user,
        action="inmate.viewed",
        calls=page.object_list,
        target=inmate,
        facility_id=inmate.facility_id,
        page=page.number,
    )
    rows = [call_row(c, unmasked=caps.unmasked) for c in page]
    grants = grants_visible_to(user).filter(content_object=inmate).order_by("-created_at", "-id")
    manages = Facility.objects.restrict(user, Action.MANAGE).filter(pk=inmate.facility_id).exists()
    return render(
        request,
        "portal/inmate_detail.html",
        {
            "inmate": inmate,
            "page": page,
            "rows": rows,
            "grants": grants[:50],
            "manages": manages,
            "now": timezone.now(),
        },
    )
