"""Exports in the portal (issue 15, item 6): request from the calls and recordings screens,
follow the request, download the package; the approver's review, approval and rejection.

Every act goes through apps.access.exports, the service the API calls (never a second path):
the request's scope check, quota charge and audit, the two-person rule, the download's
re-check under the row lock. Pages that show call records charge them like the call list."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.access import exports as export_service
from apps.access.errors import QuotaExceededError
from apps.access.models import ExportRequest, ExportStatus
from apps.access.selectors import exports_visible_to, requester_recent_activity
from apps.audit.reads import page_read_record
from apps.audit.scoped import get_in_scope_or_404
from apps.calls.reads import call_rows_served
from apps.common.errors import DomainError, NotFoundError
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.portal.crosssite import ask_if_cross_site
from apps.portal.export_forms import ExportApproveForm, ExportRejectForm, ExportRequestForm
from apps.portal.nav import request_capabilities
from apps.portal.pages import page_of, portal_page, portal_user
from apps.portal.rows import call_row
from apps.portal.selectors import export_recordings_seen_by, playable_recordings


@require_GET
@portal_page
def export_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    page = page_of(request, exports_visible_to(user).order_by("-created_at", "-id"))
    page_read_record(actor=user, action="exports.listed", rows=len(page.object_list), page=page.number)
    return render(
        request,
        "portal/export_list.html",
        {"page": page, "approvable": _approvable(user), "ready": ExportStatus.READY},
    )


def _approvable(user: User) -> set[int]:
    return set(Facility.objects.restrict(user, Action.APPROVE_EXPORTS).values_list("pk", flat=True))


@require_http_methods(["GET", "POST"])
@portal_page
@ask_if_cross_site
def export_new(request: HttpRequest) -> HttpResponse:
    """GET: the recordings picked on the calls or recording screen, and the form. POST: the
    request, through the API's service (scope, quota and audit are its own). A POST without
    the form's fields is the "Open" of the cross-site confirmation: it shows the form (a link
    from elsewhere naming a canary must not read it under the person's name unasked)."""
    user = portal_user(request)
    if request.method == "POST" and "case_reference" in request.POST:
        form = ExportRequestForm(request.POST)
        if form.is_valid():
            try:
                export = export_service.export_request_create(
                    user=user,
                    recording_ids=form.cleaned_data["recording"],
                    case_reference=form.cleaned_data["case_reference"],
                    justification=form.cleaned_data["justification"],
                )
            except (NotFoundError, QuotaExceededError):
                raise  # the same 404 / 429 pages as everywhere (audited by the service)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    f"Export #{export.pk} requested ({export.items.count()} recordings). A second "
                    "person with the approval permission must approve it before it is packaged.",
                )
                return redirect("portal:export-list")
        ids = _ids(request.POST.getlist("recording"))
        return _render_new(request, form, ids, status=400)
    ids = _ids(request.GET.getlist("recording"))
    initial = {"recording": ids}
    return _render_new(request, ExportRequestForm(initial=initial), ids)


def _ids(values: list[str]) -> list[int]:
    return sorted({int(v) for v in values if v.isdigit()})


def _render_new(
    request: HttpRequest, form: ExportRequestForm, ids: list[int], *, status: int = 200
) -> HttpResponse:
    user = portal_user(request)
    caps = request_capabilities(request)
    recordings = list(playable_recordings(user).filter(pk__in=ids))
    missing = sorted(set(ids) - {r.pk for r in recordings})
    if missing:  # a picked id outside the caller's scope: the same audited 404 as any page
        get_in_scope_or_404(playable_recordings(user), missing[0], actor=user, action="export.new")
    call_rows_served(
        user=user,
        action="export.form_viewed",
        calls=[r.call for r in recordings],
        recording_ids=[r.pk for r in recordings],
    )
    rows = [call_row(r.call, unmasked=caps.unmasked) for r in recordings]
    context = {"form": form, "rows": rows, "max_recordings": settings.EXPORT_MAX_RECORDINGS}
    return render(request, "portal/export_new.html", context, status=status)


@require_http_methods(["GET", "POST"])
@portal_page
@ask_if_cross_site
def export_detail(request: HttpRequest, export_id: int) -> HttpResponse:
    user = portal_user(request)
    export = get_in_scope_or_404(exports_visible_to(user), export_id, actor=user, action="export.view")
    return _render_detail(request, export)


def _render_detail(
    request: HttpRequest, export: ExportRequest, *, status: int = 200, **forms: Any
) -> HttpResponse:
    """What the approver weighs: the request's words, the inmates and recordings they may see
    (masked as everywhere), how many items lie outside their facilities, the requester's
    recent activity. Charged as call rows (the page lists call records)."""
    user = portal_user(request)
    caps = request_capabilities(request)
    recordings = list(export_recordings_seen_by(user, export))
    item_facilities = {i.facility_id for i in export.items.all()}
    is_requester = export.requested_by_id == user.pk
    may_decide = not is_requester and item_facilities <= _approvable(user)
    call_rows_served(
        user=user,
        action="export.viewed",
        calls=[r.call for r in recordings],
        recording_ids=[r.pk for r in recordings],
        target=export,
    )
    rows = [call_row(r.call, unmasked=caps.unmasked) for r in recordings]
    inmates = sorted({r.call.inmate for r in recordings}, key=lambda i: (i.last_name, i.booking_number))
    context = {
        "export": export,
        "rows": rows,
        "inmates": inmates,
        "hidden": len(export.items.all()) - len(recordings),
        "is_requester": is_requester,
        "may_decide": may_decide and export.status == ExportStatus.PENDING,
        "activity": None if is_requester else requester_recent_activity(export.requested_by),
        "approve_form": forms.get("approve_form") or ExportApproveForm(),
        "reject_form": forms.get("reject_form") or ExportRejectForm(),
    }
    response = render(request, "portal/export_detail.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@portal_page
def export_approve(request: HttpRequest, export_id: int) -> HttpResponseBase:
    user = portal_user(request)
    export = get_in_scope_or_404(exports_visible_to(user), export_id, actor=user, action="export.approve")
    form = ExportApproveForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, export, status=400, approve_form=form)
    try:
        export_service.export_request_approve(export=export, approver=user)
    except NotFoundError:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:export-detail", export_id=export.pk)
    messages.success(
        request, f"Export #{export.pk} approved; it is being packaged for {export.requested_by}."
    )
    return redirect("portal:export-list")


@require_POST
@portal_page
def export_reject(request: HttpRequest, export_id: int) -> HttpResponseBase:
    user = portal_user(request)
    export = get_in_scope_or_404(exports_visible_to(user), export_id, actor=user, action="export.reject")
    form = ExportRejectForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, export, status=400, reject_form=form)
    try:
        export_service.export_request_reject(export=export, approver=user, reason=form.cleaned_data["reason"])
    except NotFoundError:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:export-detail", export_id=export.pk)
    messages.success(request, f"Export #{export.pk} rejected; {export.requested_by} sees your reason.")
    return redirect("portal:export-list")


@require_POST
@portal_page
def export_download(request: HttpRequest, export_id: int) -> HttpResponseBase:
    """The requester's one download, streamed through the API's service (which claims it under
    the row lock, re-checks scope and audits). A POST: a prefetch or a link cannot spend it."""
    user = portal_user(request)
    export = get_in_scope_or_404(
        ExportRequest.objects.filter(requested_by=user), export_id, actor=user, action="export.download"
    )
    try:
        chunks = export_service.export_download(export=export, user=user)
    except NotFoundError:
        raise
    except DomainError as exc:  # not ready, already downloaded, expired, revoked, altered
        messages.error(request, exc.message)
        return redirect("portal:export-list")
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="export-{export.pk}.zip"'
    response["X-Content-SHA256"] = export.package_sha256
    response["Cache-Control"] = "no-store"
    return response
