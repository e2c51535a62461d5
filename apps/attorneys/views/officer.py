"""Privilege review for privilege officers: the quarantine queue and flag requests, the
two-officer propose/confirm decisions, accepting or declining flags."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.access.models import QuotaKind
from apps.access.quotas import metered
from apps.attorneys import forms
from apps.attorneys.pages import fail, officer_page, page_user
from apps.audit.scoped import get_in_scope_or_404
from apps.audit.services import record_event
from apps.common.errors import DomainError, NotFoundError
from apps.recordings.models import ReviewDecision
from apps.recordings.review import review_confirm, review_propose, review_queue
from apps.registry.flags import (
    flag_requests_for,
    privilege_flag_accept,
    privilege_flag_decline,
)

REVIEW_PAGE_ROWS = 50


@officer_page
def review_list(request: HttpRequest) -> HttpResponse:
    """Quarantined recordings and flag requests waiting for officers. The rows are call
    records, so they are charged to ``call_rows`` and the read is audited in one step."""
    officer = page_user(request)
    recordings = list(
        review_queue(officer).prefetch_related("holds").order_by("quarantined_at")[:REVIEW_PAGE_ROWS]
    )
    requests = list(flag_requests_for(officer)[:REVIEW_PAGE_ROWS])
    status = 200
    try:
        with metered(
            user=officer, charges=[(QuotaKind.CALL_ROWS, len(recordings) + len(requests))], facility_id=None
        ):
            record_event(
                action="privilege_review.viewed",
                actor=officer,
                details={
                    "rows": len(recordings) + len(requests),
                    "recordings": [r.pk for r in recordings],
                    "flag_requests": [f.pk for f in requests],
                },
            )
    except DomainError as exc:  # over the call_rows quota: show nothing, say why
        messages.error(request, exc.message)
        recordings, requests, status = [], [], exc.status_code
    open_decisions = {
        d.recording_id: d
        for d in ReviewDecision.objects.filter(
            recording__in=recordings, confirmed_by__isnull=True
        ).select_related("proposed_by")
    }
    rows = [
        (r, open_decisions.get(r.pk), [h for h in r.holds.all() if h.closed_at is None]) for r in recordings
    ]
    return render(
        request,
        "attorneys/review_queue.html",
        {"rows": rows, "requests": requests, "form": forms.ProposeForm(), "reason_form": forms.ReasonForm()},
        status=status,
    )


@officer_page
@require_POST
def review_flag_decide(request: HttpRequest, flag_id: int, decision: str) -> HttpResponse:
    """Accept (quarantine the matches, then the two-officer review) or decline a flag request."""
    officer = page_user(request)
    flag = get_in_scope_or_404(
        flag_requests_for(officer), flag_id, actor=officer, action=f"privilege_flag.{decision}"
    )
    try:
        if decision == "accept":
            flag = privilege_flag_accept(flag_id=flag.pk, officer=officer)
            messages.success(
                request, f"Flag {flag.pk} accepted: {flag.matched_recordings} recording(s) quarantined."
            )
        elif decision == "decline":
            form = forms.ReasonForm(request.POST)
            if not form.is_valid():
                messages.error(request, "A reason is required to decline.")
                return redirect("attorneys:review-queue")
            privilege_flag_decline(flag_id=flag.pk, officer=officer, reason=form.cleaned_data["reason"])
            messages.success(request, f"Flag {flag.pk} declined; nothing was quarantined.")
        else:
            raise NotFoundError()
    except DomainError as exc:
        if isinstance(exc, NotFoundError):
            raise
        fail(request, exc)
    return redirect("attorneys:review-queue")


@officer_page
@require_POST
def review_propose_view(request: HttpRequest, recording_id: int) -> HttpResponse:
    officer = page_user(request)
    recording = get_in_scope_or_404(
        review_queue(officer), recording_id, actor=officer, action="recording.review"
    )
    form = forms.ProposeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose release or purge and give a reason.")
        return redirect("attorneys:review-queue")
    try:
        review_propose(
            recording=recording,
            officer=officer,
            action=form.cleaned_data["action"],
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, "Proposed. A second privilege officer must confirm it.")
    except DomainError as exc:
        fail(request, exc)
    return redirect("attorneys:review-queue")


@officer_page
@require_POST
def review_confirm_view(request: HttpRequest, decision_id: int) -> HttpResponse:
    officer = page_user(request)
    visible = ReviewDecision.objects.filter(recording__in=review_queue(officer), confirmed_by__isnull=True)
    decision = get_in_scope_or_404(visible, decision_id, actor=officer, action="recording.review_confirm")
    try:
        review_confirm(decision_id=decision.pk, officer=officer)
        messages.success(request, f"Confirmed: recording {decision.recording_id} {decision.action}d.")
    except DomainError as exc:
        fail(request, exc)
    return redirect("attorneys:review-queue")
