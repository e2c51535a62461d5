"""Exposure reports for privilege officers (issue 11, section 4): the list of reports and one
report in full. Every read is audited; the detail page shows call rows, so it is metered like
any other page of call records (``call_rows_served``)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.actions.exposure import exposure_report_body, exposure_report_signature_valid, exposure_reports_for
from apps.attorneys.pages import exposure_page, page_user
from apps.audit.reads import page_read_record
from apps.audit.references import revealed_values
from apps.audit.scoped import get_in_scope_or_404
from apps.calls.models import Call
from apps.calls.reads import call_rows_served
from apps.common.errors import DomainError

EXPOSURE_PAGE_ROWS = 50


@exposure_page
def exposure_list(request: HttpRequest) -> HttpResponse:
    """The latest reports the officer may see in full: subject and counts, no call rows."""
    officer = page_user(request)
    reports = list(exposure_reports_for(officer).select_related("registration")[:EXPOSURE_PAGE_ROWS])
    page_read_record(actor=officer, action="exposure_report.list_viewed", rows=len(reports))
    numbers = revealed_values(officer, [r.number_ref for r in reports])
    rows = [(r, exposure_report_body(r)["summary"], numbers.get(r.number_ref)) for r in reports]
    return render(request, "attorneys/exposure_list.html", {"rows": rows})


@exposure_page
def exposure_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    officer = page_user(request)
    report = get_in_scope_or_404(
        exposure_reports_for(officer), report_id, actor=officer, action="exposure_report.view"
    )
    body = exposure_report_body(report)
    call_ids = [row["call_id"] for row in body["calls"]["rows"]]
    status = 200
    try:
        call_rows_served(
            user=officer,
            action="exposure_report.viewed",
            calls=Call.objects.filter(pk__in=call_ids).only("pk"),
            recording_ids=[row["recording_id"] for row in body["recordings"]["rows"]],
            target=report,
        )
    except DomainError as exc:  # over the call_rows quota: show nothing, say why
        messages.error(request, exc.message)
        return render(request, "attorneys/exposure_detail.html", {"report": report}, status=exc.status_code)
    context = {
        "report": report,
        "body": body,
        "number": revealed_values(officer, [report.number_ref]).get(report.number_ref),
        "signature_valid": exposure_report_signature_valid(report),
    }
    return render(request, "attorneys/exposure_detail.html", context, status=status)
