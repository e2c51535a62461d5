"""The attorney's own pages: their numbers (register, evidence, revoke, renew) and privilege
flags on calls. Every object is fetched from the attorney's own rows only."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from apps.attorneys import forms
from apps.attorneys.pages import attorney_of, attorney_page, confirmation, confirmed, fail, page_user
from apps.audit.scoped import get_in_scope_or_404
from apps.common.errors import DomainError
from apps.common.phone import display_phone_number
from apps.registry import services
from apps.registry.categories import RULES, rule_for
from apps.registry.evidence import evidence_upload
from apps.registry.flags import (
    privilege_flag_submit,
)
from apps.registry.models import ExemptNumber, ExemptStatus
from apps.registry.selectors import number_history, numbers_of, renewal_opens_at

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


def _own_numbers(request: HttpRequest) -> QuerySet[ExemptNumber]:
    return numbers_of(attorney_of(request))


@attorney_page
def home(request: HttpRequest) -> HttpResponse:
    attorney = attorney_of(request)
    form = forms.NumberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            exempt = services.exempt_number_register(
                attorney=attorney,
                number=form.cleaned_data["number"],
                label=form.cleaned_data["label"],
                facility=form.cleaned_data["facility"],
                category=form.cleaned_data["category"],
                credential=form.cleaned_data["credential"],
                credential_issuer=form.cleaned_data["credential_issuer"],
                actor=page_user(request),
            )
        except DomainError as exc:
            # A credential error names its field; anything else is about the number.
            field = exc.extra.get("field", "number")
            form.add_error(field if field in form.fields else "number", exc.message)
        else:
            messages.success(request, f"{exempt.number} is registered and waits for verification.")
            return redirect("attorneys:home")
    numbers = _own_numbers(request).prefetch_related("evidence")
    return render(
        request,
        "attorneys/home.html",
        {"attorney": attorney, "numbers": numbers, "form": form, "rules": RULES.values()},
        status=400 if form.errors else 200,
    )


@attorney_page
def number_detail(request: HttpRequest, number_id: int) -> HttpResponse:
    exempt = get_in_scope_or_404(
        _own_numbers(request), number_id, actor=page_user(request), action="exempt_number.view"
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
                        exempt_number=exempt,
                        data=upload.read(),
                        filename=upload.name,
                        actor=page_user(request),
                    )
                except DomainError as exc:
                    form.add_error("file", exc.message)
                else:
                    messages.success(request, "Evidence uploaded. A registry clerk will review it.")
                    return redirect("attorneys:number-detail", number_id=exempt.pk)
    events = number_history(exempt, HISTORY_LABELS)
    history = [(e.created_at, HISTORY_LABELS[e.action], (e.details or {}).get("reason", "")) for e in events]
    return render(
        request,
        "attorneys/number_detail.html",
        {
            "exempt": exempt,
            "history": history,
            "form": form,
            "evidence": exempt.evidence.all(),
            "rule": rule_for(exempt.category),
            "renewal_opens_at": (opens := renewal_opens_at(exempt)),
            "renewal_open": opens is not None and opens <= timezone.now(),
        },
    )


@attorney_page
@require_POST
def number_revoke(request: HttpRequest, number_id: int) -> HttpResponseBase:
    exempt = get_in_scope_or_404(
        _own_numbers(request), number_id, actor=page_user(request), action="exempt_number.revoke"
    )
    if not confirmed(request):
        shown = display_phone_number(exempt.number, settings.DEFAULT_PHONE_REGION)
        return confirmation(
            request,
            title=format_html('Revoke <span class="phone">{}</span>?', shown),
            consequence=(
                "Calls to this number will be recorded again from now on. To protect it again "
                "later, you register it again and wait for a registry clerk to verify it."
            ),
            button="Revoke",
            cancel_url=reverse("attorneys:number-detail", args=[exempt.pk]),
        )
    try:
        services.exempt_number_revoke(exempt_number_id=exempt.pk, actor=page_user(request))
        messages.success(request, f"{exempt.number} is revoked: calls to it are recorded again.")
    except DomainError as exc:
        fail(request, exc)
    return redirect("attorneys:number-detail", number_id=exempt.pk)


@attorney_page
@require_POST
def number_renew(request: HttpRequest, number_id: int) -> HttpResponse:
    exempt = get_in_scope_or_404(
        _own_numbers(request), number_id, actor=page_user(request), action="exempt_number.renew"
    )
    try:
        renewed = services.exempt_number_renew(exempt_number_id=exempt.pk, actor=page_user(request))
    except DomainError as exc:
        fail(request, exc)
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
    attorney = attorney_of(request)
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
                actor=page_user(request),
            )
        except DomainError as exc:
            form.add_error(None, f"{exc.message} ({exc.reason})")
            status = exc.status_code if exc.status_code == 429 else 400
        else:
            messages.success(request, FLAG_RECEIVED)
            return redirect("attorneys:flag")
    flags = attorney.flags.select_related("facility")[:50]
    return render(request, "attorneys/flag.html", {"form": form, "flags": flags}, status=status)
