"""Compliance reports for auditors: the list (paginated) and each report's downloads (PDF, CSV,
signed manifest and its signature, or the whole bundle). Every page and download is audited;
anyone but an auditor gets the 404 page, the attempt in the trail."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.common.errors import DomainError, NotFoundError
from apps.compliance.selectors import report_get, reports_for, reports_listed
from apps.compliance.services import PARTS, report_file_read
from apps.portal.pages import page_of, portal_page, portal_user


@require_GET
@portal_page
def report_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    page = page_of(request, reports_for(user, via="portal"), per_page=25)
    reports_listed(user, via="portal", ids=[report.pk for report in page])
    return render(request, "portal/compliance_reports.html", {"page": page, "parts": list(PARTS)})


@require_GET
@portal_page
def report_download(request: HttpRequest, report_id: int, part: str) -> HttpResponseBase:
    user = portal_user(request)
    report = report_get(user, report_id, attempted="compliance_report.download")
    try:
        data, name, content_type = report_file_read(report=report, part=part, actor=user, via="portal")
    except NotFoundError:
        raise
    except DomainError as exc:
        return HttpResponse(f"{exc.reason}: {exc.message}", status=exc.status_code, content_type="text/plain")
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
