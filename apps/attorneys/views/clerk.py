"""The registry desk: the clerk's queue of registrations, renewals and inmate claims, their
decisions, and the evidence files behind them (disputes and identity changes: views.identity)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from apps.actions import registry as registry_actions
from apps.attorneys import forms
from apps.attorneys.pages import clerk_page, confirmation, confirmed, fail, page_user
from apps.audit.reads import page_read_record
from apps.audit.scoped import get_in_scope_or_404
from apps.common.errors import DomainError, NotFoundError
from apps.common.phone import display_phone_number
from apps.registry import services
from apps.registry.alarms import list_alarm_acknowledge, open_alarm_banners, open_list_alarms
from apps.registry.categories import counsel_of_record, evidence_missing, rule_for
from apps.registry.claims import claim_reject, claim_verify
from apps.registry.errors import EffectiveUntilOutOfRangeError
from apps.registry.evidence import evidence_read
from apps.registry.identity import identity_queue
from apps.registry.models import Evidence, ExemptNumber, InmateClaim
from apps.registry.selectors import (
    claims_pending,
    last_assurance_run,
    registrations_pending,
    renewals_requested,
)


@clerk_page
def clerk_queue(request: HttpRequest) -> HttpResponse:
    return _clerk_queue_page(request)


def _clerk_queue_page(
    request: HttpRequest, *, failed: tuple[int, forms.WindowForm] | None = None, status: int = 200
) -> HttpResponse:
    """The queue; ``failed`` is a registration whose window form is shown again with its errors."""

    def window_form(exempt: ExemptNumber) -> forms.WindowForm:
        return failed[1] if failed and failed[0] == exempt.pk else forms.WindowForm()

    pending = list(registrations_pending())
    for exempt in pending:
        # What the clerk checks for the category, and what is still missing (then no Approve).
        exempt.evidence_rule = rule_for(exempt.category)  # type: ignore[attr-defined]
        exempt.missing = evidence_missing(exempt)  # type: ignore[attr-defined]
        exempt.counsel = counsel_of_record(exempt)  # type: ignore[attr-defined]
    rows = [(exempt, services.conflicting_holder(exempt), window_form(exempt)) for exempt in pending]
    renewals = [(exempt, window_form(exempt)) for exempt in renewals_requested()]
    claims = list(claims_pending())
    page_read_record(
        actor=page_user(request), action="clerk_queue.viewed", rows=len(rows) + len(renewals) + len(claims)
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
            "alarms": open_alarm_banners(),
            "assurance": last_assurance_run(),
            **identity_queue(),
        },
        status=status,
    )


@clerk_page
@require_POST
def clerk_decide(request: HttpRequest, number_id: int, decision: str) -> HttpResponseBase:
    clerk = page_user(request)
    exempt = get_in_scope_or_404(
        ExemptNumber.objects.all(), number_id, actor=clerk, action=f"exempt_number.{decision}"
    )
    window = forms.WindowForm(request.POST)
    try:
        if decision in {"verify", "renew"} and not window.is_valid():
            return _clerk_queue_page(request, failed=(exempt.pk, window), status=400)
        until = window.cleaned_data["effective_until"] if decision in {"verify", "renew"} else None
        if decision in CONFIRMED_DECISIONS and not confirmed(request):
            if decision == "verify":
                services.window_end(timezone.now(), until)  # an impossible window: say so first
            return _clerk_confirmation(request, exempt, decision)
        if decision == "verify":
            exempt, quarantined = registry_actions.exempt_number_verify(
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
            exempt = registry_actions.exempt_number_renewal_approve(
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
        fail(request, exc)
    return redirect("attorneys:clerk-queue")


# Approve and Reject ask first (issue 15, item 12); the page says what will happen.
CONFIRMED_DECISIONS = {"verify", "reject"}


def _clerk_confirmation(request: HttpRequest, exempt: ExemptNumber, decision: str) -> HttpResponseBase:
    carry = {name: str(request.POST.get(name, "")) for name in ("effective_until", "reason")}
    if decision == "reject" and not carry["reason"].strip():
        messages.error(request, "A reason is required to reject.")
        return redirect("attorneys:clerk-queue")
    who = exempt.attorney.full_name
    number = display_phone_number(exempt.number, settings.DEFAULT_PHONE_REGION)
    if decision == "verify":
        title = format_html('Approve <span class="phone">{}</span> for {}?', number, who)
        scope = "every facility" if exempt.facility_id is None else str(exempt.facility)
        consequence = (
            f"Calls to {number} from {scope} stop being recorded at once, and its earlier "
            "recordings are quarantined (nobody can play them). The attorney is notified."
        )
        button, tone = "Approve", "ok"
    else:
        title = format_html('Reject <span class="phone">{}</span>?', number)
        consequence = (
            f"Calls to {number} go on being recorded. {who} is notified with your reason "
            "and may register the number again."
        )
        button, tone = "Reject", "danger"
    return confirmation(
        request,
        title=title,
        consequence=consequence,
        button=button,
        tone=tone,
        area="registry desk",
        cancel_url=f"{reverse('attorneys:clerk-queue')}#reg-{exempt.pk}",
        carry={k: v for k, v in carry.items() if v},
    )


@clerk_page
@require_POST
def clerk_alarm_acknowledge(request: HttpRequest, alarm_id: int) -> HttpResponse:
    """A clerk says what was done about a list alarm; it leaves the banners, and stays on record."""
    clerk = page_user(request)
    alarm = get_in_scope_or_404(
        open_list_alarms(), alarm_id, actor=clerk, action="registry.list_alarm_acknowledge"
    )
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say what was done about the alarm before acknowledging it.")
        return redirect("attorneys:clerk-queue")
    list_alarm_acknowledge(alarm_id=alarm.pk, user=clerk, note=form.cleaned_data["reason"])
    messages.success(request, f"Alarm {alarm.pk} acknowledged; it stays in the compliance record.")
    return redirect("attorneys:clerk-queue")


@clerk_page
@require_POST
def clerk_claim(request: HttpRequest, claim_id: int, decision: str) -> HttpResponse:
    clerk = page_user(request)
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
        fail(request, exc)
    return redirect("attorneys:clerk-queue")


@clerk_page
def clerk_evidence(request: HttpRequest, evidence_id: int) -> HttpResponse:
    evidence = get_in_scope_or_404(
        Evidence.objects.all(), evidence_id, actor=page_user(request), action="evidence.view"
    )
    data = evidence_read(evidence=evidence, actor=page_user(request))
    response = HttpResponse(data, content_type=evidence.content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="evidence-{evidence.pk}.{evidence.content_type.split("/")[1]}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
