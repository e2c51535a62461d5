"""Export requests in the portal: their state, and approval by a second person."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.access.exports import export_request_approve
from apps.access.selectors import exports_visible_to
from apps.audit.reads import page_read_record
from apps.audit.scoped import get_in_scope_or_404
from apps.common.errors import DomainError
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.portal.pages import page_of, portal_page, portal_user


@require_GET
@portal_page
def export_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    page = page_of(request, exports_visible_to(user).order_by("-created_at", "-id"))
    page_read_record(actor=user, action="exports.listed", rows=len(page.object_list), page=page.number)
    return render(
        request,
        "portal/export_list.html",
        {
            "page": page,
            "approvable": set(
                Facility.objects.restrict(user, Action.APPROVE_EXPORTS).values_list("pk", flat=True)
            ),
        },
    )


@require_POST
@portal_page
def export_approve(request: HttpRequest, export_id: int) -> HttpResponseBase:
    user = portal_user(request)
    export = get_in_scope_or_404(exports_visible_to(user), export_id, actor=user, action="export.approve")
    try:
        export_request_approve(export=export, approver=user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Export #{export.pk} approved; it is being packaged.")
    return redirect("portal:export-list")
