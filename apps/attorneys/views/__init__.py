"""Attorney portal (numbers, evidence, privilege flags) and the registry desk (clerk queue,
privilege review). Views are thin: forms in, services out, objects fetched only through
querysets restricted to the caller (an attorney's own rows; a clerk's or officer's role).
Accounts (sign-in, sign-up, reset, profile) are in ``views.accounts``; the clerk's decisions on
bar-number disputes and identity changes in ``views.identity``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from apps.access.models import QuotaKind
from apps.access.quotas import metered
from apps.attorneys import forms
from apps.audit.models import AuditEvent
from apps.audit.reads import page_read_record
from apps.audit.scoped import get_in_scope_or_404
from apps.audit.services import record_event
from apps.common.errors import DomainError, NotFoundError
from apps.recordings.models import ReviewDecision
from apps.recordings.review import REVIEW_PERMISSION, review_confirm, review_propose, review_queue
from apps.registry import services
from apps.registry.claims import claim_reject, claim_verify
from apps.registry.errors import EffectiveUntilOutOfRangeError
from apps.registry.evidence import evidence_read, evidence_upload
from apps.registry.flags import (
    flag_requests_for,
    privilege_flag_accept,
    privilege_flag_decline,
    privilege_flag_submit,
)
from apps.registry.identity import identity_queue
from apps.registry.models import Attorney, ClaimStatus, Evidence, ExemptNumber, ExemptStatus, InmateClaim

ViewFunc = Callable[..., HttpResponseBase]
CLERK_PERMISSION = "registry.verify_exemptnumber"
HISTORY_LABELS = {
    "exempt_number.registered": "Registered",
    "exempt_number.verified": "Verified",
    "exempt_number.rejected": "Rejected",
    "exempt_number.revoked": "Revoked",
    "exempt_number.renewal_requested": "Renewal requested",
    "exempt_number.renewed": "Renewed",
    "exempt_number.renewal_declined": "Renewal declined",
    "exempt_number.reminder_sent": "Expiry reminder sent",
    "exempt_number.expired": "Expired",
}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 - guaranteed by login_required
    return user


def _guarded(test: Callable[[User], bool]) -> Callable[[ViewFunc], ViewFunc]:
    """Login required; users failing ``test`` and missing/foreign objects get the same 404."""

    def decorate(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not test(_user(request)):
                return render(request, "attorneys/not_found.html", status=404)
            try:
                return view(request, *args, **kwargs)
            except NotFoundError:
                return render(request, "attorneys/not_found.html", status=404)

        return login_required(wrapper, login_url=reverse_lazy("attorneys:login"))

    return decorate


attorney_page = _guarded(lambda u: u.is_active and hasattr(u, "attorney"))
clerk_page = _guarded(lambda u: u.is_active and u.has_perm(CLERK_PERMISSION))
officer_page = _guarded(lambda u: u.is_active and u.has_perm(REVIEW_PERMISSION))


def _attorney(request: HttpRequest) -> Attorney:
    return _user(request).attorney


def _own_numbers(request: HttpRequest) -> QuerySet[ExemptNumber]:
    return ExemptNumber.objects.filter(attorney=_attorney(request)).select_related("facility")


def _fail(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, exc.message)


# --- the attorney's numbers ------------------------------------------------------------------


@attorney_page
def home(request: HttpRequest) -> HttpResponse:
    attorney = _attorney(request)
    form = forms.NumberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            exempt = services.exempt_number_register(
                attorney=attorney,
                number=form.cleaned_data["number"],
                label=form.cleaned_data["label"],
                facility=form.cleaned_data["facility"],
                actor=_user(request),
            )
        except DomainError as exc:
            form.add_error("number", exc.message)
        else:
            messages.success(request, f"{exempt.number} is registered and waits for verification.")
            return redirect("attorneys:home")
    numbers = _own_numbers(request).prefetch_related("evidence")
    return render(request, "attorneys/home.html", {"attorney": attorney, "numbers": numbers, "form": form})


@attorney_page
def number_detail(request: HttpRequest, number_id: int) -> HttpResponse:
    exempt = get_in_scope_or_404(
        _own_numbers(request), number_id, actor=_user(request), action="exempt_number.view"
    )
    form = forms.EvidenceForm()
    if request.method == "POST":
        form = forms.EvidenceForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > settings.EVIDENCE_MAX_BYTES:
                form.add_error(
                    "file", f"The file is larger than {settings.EVIDENCE_MAX_BYTES // (1024 * 1024)} MB."
                )
            else:
                try:
                    evidence_upload(
                        exempt_number=exempt, data=upload.read(), filename=upload.name, actor=_user(request)
                    )
                except DomainError as exc:
                    form.add_error("file", exc.message)
                else:
                    messages.success(request, "Evidence uploaded. A registry clerk will review it.")
                    return redirect("attorneys:number-detail", number_id=exempt.pk)
    events = AuditEvent.objects.filter(
        target_type="registry.exemptnumber", target_id=str(exempt.pk), action__in=list(HISTORY_LABELS)
    ).order_by("created_at", "pk")
    history = [(e.created_at, HISTORY_LABELS[e.action], (e.details or {}).get("reason", "")) for e in events]
    return render(
        request,
        "attorneys/number_detail.html",
        {"exempt": exempt, "history": history, "form": form, "evidence": exempt.evidence.all()},
    )


@attorney_page
@require_POST
def number_revoke(request: HttpRequest, number_id: int) -> HttpResponse:
    exempt = get_in_scope_or_404(
        _own_numbers(request), number_id, actor=_user(request), action="exempt_number.revoke"
    )
    try:
        services.exempt_number_revoke(exempt_number_id=exempt.pk, actor=_user(request))
        messages.success(request, f"{exempt.number} is revoked: calls to it are recorded again.")
    except DomainError as exc:
        _fail(request, exc)
    return redirect("attorneys:number-detail", number_id=exempt.pk)


@attorney_page
@require_POST
def number_renew(request: HttpRequest, number_id: int) -> HttpResponse:
    exempt = get_in_scope_or_404(
        _own_numbers(request), number_id, actor=_user(request), action="exempt_number.renew"
    )
    try:
        renewed = services.exempt_number_renew(exempt_number_id=exempt.pk, actor=_user(request))
    except DomainError as exc:
        _fail(request, exc)
        return redirect("attorneys:number-detail", number_id=exempt.pk)
    messages.success(request, "Renewal requested. A registry clerk will confirm it.")
    return redirect("attorneys:number-detail", number_id=renewed.pk)


FLAG_RECEIVED = (
    "Flag received. A privilege officer will look at it; matching recordings, if any, are "
    "handled under the privilege review policy."
)


@attorney_page
def flag_call(request: HttpRequest) -> HttpResponse:
    """The same answer whether or not a call matched: the form must not tell an outsider
    whether inmate X called on day D (apps.registry.flags)."""
    attorney = _attorney(request)
    numbers = list(
        _own_numbers(request)
        .filter(status__in=[ExemptStatus.PENDING, ExemptStatus.VERIFIED])
        .values_list("number", flat=True)
    )
    form = forms.FlagForm(request.POST or None, numbers=numbers)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            privilege_flag_submit(
                attorney=attorney,
                facility=data["facility"],
                booking_number=data["booking_number"],
                number=data["number"],
                call_date=data["call_date"],
                actor=_user(request),
            )
        except DomainError as exc:
            form.add_error(None, f"{exc.message} ({exc.reason})")
            status = exc.status_code if exc.status_code == 429 else 400
        else:
            messages.success(request, FLAG_RECEIVED)
            return redirect("attorneys:flag")
    flags = attorney.flags.select_related("facility")[:50]
    return render(request, "attorneys/flag.html", {"form": form, "flags": flags}, status=status)


# --- the registry desk: clerk queue ----------------------------------------------------------


@clerk_page
def clerk_queue(request: HttpRequest) -> HttpResponse:
    return _clerk_queue_page(request)


def _clerk_queue_page(
    request: HttpRequest, *, failed: tuple[int, forms.WindowForm] | None = None, status: int = 200
) -> HttpResponse:
    """The queue; ``failed`` is a registration whose window form is shown again with its errors."""

    def window_form(exempt: ExemptNumber) -> forms.WindowForm:
        return failed[1] if failed and failed[0] == exempt.pk else forms.WindowForm()

    pending = list(
        ExemptNumber.objects.filter(status=ExemptStatus.PENDING)
        .select_related("attorney", "facility")
        .prefetch_related("evidence")
        .order_by("created_at")
    )
    rows = [(exempt, services.conflicting_holder(exempt), window_form(exempt)) for exempt in pending]
    renewals = [
        (exempt, window_form(exempt))
        for exempt in ExemptNumber.objects.filter(
            status=ExemptStatus.VERIFIED, renewal_requested_at__isnull=False
        ).select_related("attorney")
    ]
    claims = list(
        InmateClaim.objects.filter(status=ClaimStatus.PENDING)
        .select_related("facility", "inmate")
        .order_by("created_at")
    )
    page_read_record(
        actor=_user(request), action="clerk_queue.viewed", rows=len(rows) + len(renewals) + len(claims)
    )
    return render(
        request,
        "attorneys/clerk_queue.html",
        {
            "rows": rows,
            "renewals": renewals,
            "claims": claims,
            "reason_form": forms.ReasonForm(),
            "window_days": settings.REGISTRY_VERIFICATION_DAYS or "no expiry",
            "window_min": settings.REGISTRY_WINDOW_MIN_DAYS,
            "window_max": settings.REGISTRY_WINDOW_MAX_DAYS,
            "reminder_days": settings.REGISTRY_REMINDER_DAYS,
            **identity_queue(),
        },
        status=status,
    )


@clerk_page
@require_POST
def clerk_decide(request: HttpRequest, number_id: int, decision: str) -> HttpResponse:
    clerk = _user(request)
    exempt = get_in_scope_or_404(
        ExemptNumber.objects.all(), number_id, actor=clerk, action=f"exempt_number.{decision}"
    )
    window = forms.WindowForm(request.POST)
    try:
        if decision in {"verify", "renew"} and not window.is_valid():
            return _clerk_queue_page(request, failed=(exempt.pk, window), status=400)
        until = window.cleaned_data["effective_until"] if decision in {"verify", "renew"} else None
        if decision == "verify":
            exempt, quarantined = services.exempt_number_verify(
                exempt_number_id=exempt.pk, clerk=clerk, effective_until=until
            )
            messages.success(
                request,
                f"{exempt.number} verified for {exempt.attorney.full_name}, effective now on "
                f"{'every facility' if exempt.facility_id is None else exempt.facility}. "
                f"{quarantined} existing recording(s) quarantined.",
            )
        elif decision == "reject":
            form = forms.ReasonForm(request.POST)
            if not form.is_valid():
                messages.error(request, "A reason is required to reject.")
                return redirect("attorneys:clerk-queue")
            services.exempt_number_reject(
                exempt_number_id=exempt.pk, clerk=clerk, reason=form.cleaned_data["reason"]
            )
            messages.success(request, f"{exempt.number} rejected; the attorney is notified.")
        elif decision == "renew":
            exempt = services.exempt_number_renewal_approve(
                exempt_number_id=exempt.pk, clerk=clerk, effective_until=until
            )
            messages.success(request, f"{exempt.number} renewed.")
        elif decision == "decline-renewal":
            form = forms.ReasonForm(request.POST)
            if not form.is_valid():
                messages.error(request, "A reason is required to decline a renewal.")
                return redirect("attorneys:clerk-queue")
            exempt = services.exempt_number_renewal_decline(
                exempt_number_id=exempt.pk, clerk=clerk, reason=form.cleaned_data["reason"]
            )
            messages.success(request, f"Renewal of {exempt.number} declined; the attorney is notified.")
        else:
            raise NotFoundError()
    except EffectiveUntilOutOfRangeError as exc:
        window.add_error("effective_until", exc.message)
        return _clerk_queue_page(request, failed=(exempt.pk, window), status=400)
    except DomainError as exc:
        if isinstance(exc, NotFoundError):
            raise
        _fail(request, exc)
    return redirect("attorneys:clerk-queue")


@clerk_page
@require_POST
def clerk_claim(request: HttpRequest, claim_id: int, decision: str) -> HttpResponse:
    clerk = _user(request)
    claim = get_in_scope_or_404(
        InmateClaim.objects.all(), claim_id, actor=clerk, action=f"inmate_claim.{decision}"
    )
    try:
        if decision == "verify":
            outcome = claim_verify(claim_id=claim.pk, clerk=clerk)
            messages.success(
                request,
                f"Claim on {claim.number} verified: {outcome.queued_for_review} recording(s) held "
                "for the two-officer privilege review.",
            )
        elif decision == "reject":
            form = forms.ReasonForm(request.POST)
            if not form.is_valid():
                messages.error(request, "A reason is required to reject.")
                return redirect("attorneys:clerk-queue")
            outcome = claim_reject(claim_id=claim.pk, clerk=clerk, reason=form.cleaned_data["reason"])
            messages.success(
                request, f"Claim on {claim.number} rejected: {outcome.released} recording(s) released."
            )
        else:
            raise NotFoundError()
    except DomainError as exc:
        if isinstance(exc, NotFoundError):
            raise
        _fail(request, exc)
    return redirect("attorneys:clerk-queue")


@clerk_page
def clerk_evidence(request: HttpRequest, evidence_id: int) -> HttpResponse:
    evidence = get_in_scope_or_404(
        Evidence.objects.all(), evidence_id, actor=_user(request), action="evidence.view"
    )
    data = evidence_read(evidence=evidence, actor=_user(request))
    response = HttpResponse(data, content_type=evidence.content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="evidence-{evidence.pk}.{evidence.content_type.split("/")[1]}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- privilege review ------------------------------------------------------------------------


REVIEW_PAGE_ROWS = 50


@officer_page
def review_list(request: HttpRequest) -> HttpResponse:
    """Quarantined recordings and flag requests waiting for officers. The rows are call
    records, so they are charged to ``call_rows`` and the read is audited in one step."""
    officer = _user(request)
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
    officer = _user(request)
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
        _fail(request, exc)
    return redirect("attorneys:review-queue")


@officer_page
@require_POST
def review_propose_view(request: HttpRequest, recording_id: int) -> HttpResponse:
    officer = _user(request)
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
        _fail(request, exc)
    return redirect("attorneys:review-queue")


@officer_page
@require_POST
def review_confirm_view(request: HttpRequest, decision_id: int) -> HttpResponse:
    officer = _user(request)
    visible = ReviewDecision.objects.filter(recording__in=review_queue(officer), confirmed_by__isnull=True)
    decision = get_in_scope_or_404(visible, decision_id, actor=officer, action="recording.review_confirm")
    try:
        review_confirm(decision_id=decision.pk, officer=officer)
        messages.success(request, f"Confirmed: recording {decision.recording_id} {decision.action}d.")
    except DomainError as exc:
        _fail(request, exc)
    return redirect("attorneys:review-queue")
