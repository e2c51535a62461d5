"""Investigator grants: the list, granting access, revoking it (apps.actions.staff)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from apps.actions import staff as staff_actions
from apps.audit.reads import page_read_record
from apps.audit.scoped import get_in_scope_or_404
from apps.common.errors import DomainError, NotFoundError
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.inmates.selectors import grants_managed_by, grants_visible_to
from apps.inmates.services import inmate_grant_create
from apps.portal.forms import (
    GrantFilterForm,
    GrantForm,
)
from apps.portal.nav import request_capabilities
from apps.portal.pages import confirmed, page_of, portal_page, portal_user


@require_GET
@portal_page
def grant_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = GrantFilterForm(request.GET or None)
    grants = grants_visible_to(user).order_by("-created_at", "-id")
    if form.is_bound and form.is_valid() and form.cleaned_data["investigator"].strip():
        grants = grants.filter(user__username=form.cleaned_data["investigator"].strip())
    managed = set(Facility.objects.restrict(user, Action.MANAGE).values_list("pk", flat=True))
    page = page_of(request, grants)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    page_read_record(
        actor=user, action="grants.listed", rows=len(page.object_list), filters=filters, page=page.number
    )
    return render(
        request,
        "portal/grant_list.html",
        {"form": form, "page": page, "managed": managed, "now": timezone.now()},
    )


@require_http_methods(["GET", "POST"])
@portal_page
def grant_create(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    if not request_capabilities(request).manage:
        raise NotFoundError()
    if request.method == "POST":
        form = GrantForm(request.POST, user=user)
        if form.is_valid() and form.inmate is not None:
            try:
                grant = inmate_grant_create(
                    granted_by=user,
                    investigator=form.cleaned_data["investigator"],
                    inmate=form.inmate,
                    case_reference=form.cleaned_data["case_reference"],
                    expires_at=form.cleaned_data["expires_at"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    f"Access granted to {grant.user.username} for inmate {form.inmate.booking_number} "
                    f"until {form.cleaned_data['expires_on']:%Y-%m-%d}.",
                )
                return redirect(f"{reverse('portal:grant-list')}?investigator={grant.user.username}")
    else:
        initial = {k: request.GET[k] for k in ("facility", "booking_number") if request.GET.get(k)}
        form = GrantForm(initial=initial, user=user)
    return render(request, "portal/grant_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
@portal_page
def grant_revoke(request: HttpRequest, grant_id: int) -> HttpResponse:
    user = portal_user(request)
    grant = get_in_scope_or_404(
        grants_managed_by(user).select_related("content_object__facility"),
        grant_id,
        actor=user,
        action="grant.revoke",
    )
    if confirmed(request):
        label = f"{grant.user.username} on inmate {grant.content_object.booking_number}"
        staff_actions.grant_revoke(grant=grant, revoked_by=user)
        messages.success(request, f"Revoked the access of {label}.")
        return redirect("portal:grant-list")
    return render(request, "portal/grant_revoke.html", {"grant": grant})
