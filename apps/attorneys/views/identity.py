"""The registry desk's decisions on who an attorney is: bar-number disputes and identity
changes (both listed in the clerk queue, apps.attorneys.views.clerk)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.attorneys import forms
from apps.attorneys.pages import clerk_page, fail, page_user
from apps.audit.scoped import get_in_scope_or_404
from apps.common.errors import DomainError, NotFoundError
from apps.registry.identity import bar_dispute_decide, identity_change_decide
from apps.registry.models import BarDispute, IdentityChangeRequest


@clerk_page
@require_POST
def clerk_dispute(request: HttpRequest, dispute_id: int, award_to: str) -> HttpResponse:
    clerk = page_user(request)
    if award_to not in ("claimant", "holder"):
        raise NotFoundError()
    dispute = get_in_scope_or_404(
        BarDispute.objects.all(), dispute_id, actor=clerk, action="bar_dispute.decide"
    )
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A reason is required to decide a dispute.")
        return redirect("attorneys:clerk-queue")
    try:
        decided = bar_dispute_decide(
            dispute_id=dispute.pk, clerk=clerk, award_to=award_to, reason=form.cleaned_data["reason"]
        )
    except DomainError as exc:
        fail(request, exc)
        return redirect("attorneys:clerk-queue")
    bar = f"{decided.bar_state} {decided.bar_number}"
    if award_to == "claimant":
        held = getattr(decided, "holder_verified_numbers", 0)
        messages.success(
            request,
            f"{bar} now belongs to {decided.claimant.full_name}. The former holder keeps {held} verified "
            "number(s): revoke them if the account was not a real attorney's.",
        )
    else:
        messages.success(request, f"{bar} stays with its holder; the claimant is told.")
    return redirect("attorneys:clerk-queue")


@clerk_page
@require_POST
def clerk_identity(request: HttpRequest, change_id: int, decision: str) -> HttpResponse:
    clerk = page_user(request)
    if decision not in ("approve", "reject"):
        raise NotFoundError()
    change = get_in_scope_or_404(
        IdentityChangeRequest.objects.all(), change_id, actor=clerk, action=f"identity_change.{decision}"
    )
    reason = ""
    if decision == "reject":
        form = forms.ReasonForm(request.POST)
        if not form.is_valid():
            messages.error(request, "A reason is required to reject.")
            return redirect("attorneys:clerk-queue")
        reason = form.cleaned_data["reason"]
    try:
        dispute = identity_change_decide(
            change_id=change.pk, clerk=clerk, approve=decision == "approve", reason=reason
        )
    except DomainError as exc:
        fail(request, exc)
        return redirect("attorneys:clerk-queue")
    if dispute is not None:
        messages.warning(
            request, "Name changed. The bar number is held by another account: it is now a dispute."
        )
    else:
        messages.success(request, f"Identity change {'approved' if decision == 'approve' else 'rejected'}.")
    return redirect("attorneys:clerk-queue")
