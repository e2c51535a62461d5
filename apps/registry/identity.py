"""Who an attorney is: bar-number claims and disputes, profile changes, identity changes.

A verified attorney's name and bar number are what clerks, the registry export and the
privilege decisions show next to their verified numbers, so they change only through a request
a registry clerk approves; two accounts wanting one bar number become a dispute the clerk
decides. A new contact address takes effect only once confirmed from that address (decisions
are e-mailed there). Every change is audited with its before and after values. Answers to the
attorney never depend on whether a bar number is held by someone else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.emails import account_email_enqueue
from apps.accounts.throttle import email_request_admit
from apps.audit.services import record_event
from apps.common.errors import ConflictError
from apps.common.locks import advisory_xact_lock
from apps.registry.models import (
    Attorney,
    BarDispute,
    ChangeStatus,
    DisputeStatus,
    ExemptNumber,
    ExemptStatus,
    IdentityChangeRequest,
)
from apps.registry.notifications import attorney_address, notify_on_commit

FREE_FIELDS = ("firm", "contact_phone")


class AlreadyDecidedError(ConflictError):
    reason = "already_decided"
    default_message = "This request was already decided."


def _change(before: str, after: str) -> dict[str, str]:
    return {"before": before, "after": after}


def bar_claim(*, attorney: Attorney, bar_state: str, bar_number: str, source: str) -> BarDispute | None:
    """Give ``attorney`` the bar number, or open (or move) their dispute if another holds it.

    The caller holds ``attorney``'s row lock and saves it afterwards. The per-bar lock makes
    two concurrent claims of one free number run one after the other on PostgreSQL; the
    unique constraint is the backstop (and SQLite's guard).
    """
    advisory_xact_lock("bar-number", f"{bar_state}:{bar_number}")
    holder = (
        Attorney.objects.filter(bar_state=bar_state, bar_number=bar_number).exclude(pk=attorney.pk).first()
    )
    if holder is None:
        try:
            with transaction.atomic():
                Attorney.objects.filter(pk=attorney.pk).update(bar_state=bar_state, bar_number=bar_number)
        except IntegrityError:
            holder = Attorney.objects.filter(bar_state=bar_state, bar_number=bar_number).first()
    if holder is None:
        attorney.bar_state, attorney.bar_number = bar_state, bar_number
        attorney.requested_bar_state = attorney.requested_bar_number = ""
        BarDispute.objects.filter(claimant=attorney, status=DisputeStatus.OPEN).update(
            status=DisputeStatus.WITHDRAWN
        )
        return None
    attorney.requested_bar_state, attorney.requested_bar_number = bar_state, bar_number
    dispute, _ = BarDispute.objects.update_or_create(
        claimant=attorney,
        status=DisputeStatus.OPEN,
        defaults={"holder": holder, "bar_state": bar_state, "bar_number": bar_number, "source": source},
    )
    record_event(
        action="bar_dispute.opened",
        target=dispute,
        details={
            "bar": f"{bar_state} {bar_number}",
            "claimant": attorney.pk,
            "holder": holder.pk,
            "source": source,
        },
    )
    return dispute


@dataclass
class ProfileOutcome:
    saved: list[str] = field(default_factory=list)
    identity_requested: bool = False
    email_confirmation_sent: bool = False


def attorney_profile_update(
    *,
    attorney: Attorney,
    actor: User,
    full_name: str,
    bar_state: str,
    bar_number: str,
    firm: str = "",
    contact_email: str = "",
    contact_phone: str = "",
    base_url: str,
) -> ProfileOutcome:
    """Apply what an attorney may change alone (firm, phone), queue a name or bar change for
    a clerk, and send a confirmation link to a new contact address. ``bar_state`` and
    ``bar_number`` must already be canonical (validate_bar). May raise TooManyRequestsError
    (the confirmation e-mail counts against the recipient's limit)."""
    outcome = ProfileOutcome()
    with transaction.atomic():
        attorney = Attorney.objects.select_for_update().get(pk=attorney.pk)
        changes: dict[str, Any] = {}
        for name, value in (("firm", firm.strip()), ("contact_phone", contact_phone.strip())):
            if getattr(attorney, name) != value:
                changes[name] = _change(getattr(attorney, name), value)
                setattr(attorney, name, value)
        address = contact_email.strip()
        if address.lower() != attorney.contact_email.lower():
            if not address:  # back to the account's own, verified address
                changes["contact_email"] = _change(attorney.contact_email, "")
                attorney.contact_email = attorney.pending_contact_email = ""
            elif address.lower() != attorney.pending_contact_email.lower():
                email_request_admit(email=address)
                attorney.pending_contact_email = address
                record_event(
                    action="attorney.contact_email_change_requested",
                    actor=actor,
                    target=attorney,
                    details={"contact_email": _change(attorney.contact_email, address)},
                )
                account_email_enqueue(
                    kind="email_change", email=address, user_id=attorney.user_id, base_url=base_url
                )
                outcome.email_confirmation_sent = True
        attorney.full_clean(validate_constraints=False)
        attorney.save()
        if changes:
            record_event(action="attorney.profile_updated", actor=actor, target=attorney, details=changes)
            outcome.saved = sorted(changes)
        wanted = (full_name.strip(), f"{bar_state} {bar_number}")
        if wanted != (attorney.full_name, attorney.shown_bar):
            _identity_change_request(attorney, actor, full_name.strip(), bar_state, bar_number)
            outcome.identity_requested = True
    return outcome


def _identity_change_request(
    attorney: Attorney, actor: User, full_name: str, state: str, number: str
) -> None:
    """Create the attorney's pending request, or replace what the pending one asks for."""
    request, created = IdentityChangeRequest.objects.select_for_update().get_or_create(
        attorney=attorney,
        status=ChangeStatus.PENDING,
        defaults={
            "full_name": full_name,
            "bar_state": state,
            "bar_number": number,
            "previous_full_name": attorney.full_name,
            "previous_bar": attorney.shown_bar,
        },
    )
    if not created:
        request.full_name, request.bar_state, request.bar_number = full_name, state, number
        request.save(update_fields=["full_name", "bar_state", "bar_number"])
    record_event(
        action="attorney.identity_change_requested",
        actor=actor,
        target=request,
        details={
            "full_name": _change(attorney.full_name, full_name),
            "bar": _change(attorney.shown_bar, f"{state} {number}"),
        },
    )


def identity_change_decide(
    *, change_id: int, clerk: User, approve: bool, reason: str = ""
) -> BarDispute | None:
    """Approve (apply the name; claim the bar number, or open a dispute if another account
    holds it) or reject a pending identity change. Returns the dispute it opened, if any."""
    with transaction.atomic():
        change = IdentityChangeRequest.objects.select_for_update().get(pk=change_id)
        if change.status != ChangeStatus.PENDING:
            raise AlreadyDecidedError()
        attorney = Attorney.objects.select_for_update().get(pk=change.attorney_id)
        dispute = None
        if approve:
            before = {
                "full_name": attorney.full_name,
                "bar_state": attorney.bar_state,
                "bar_number": attorney.bar_number,
            }
            attorney.full_name = change.full_name
            if (change.bar_state, change.bar_number) != (attorney.bar_state, attorney.bar_number):
                dispute = bar_claim(
                    attorney=attorney,
                    bar_state=change.bar_state,
                    bar_number=change.bar_number,
                    source="identity_change",
                )
            attorney.save()
            details: dict[str, Any] = {
                name: _change(value, getattr(attorney, name))
                for name, value in before.items()
                if getattr(attorney, name) != value
            }
            details.update(request=change.pk, dispute=dispute.pk if dispute else None)
            record_event(action="attorney.identity_changed", actor=clerk, target=attorney, details=details)
        change.status = ChangeStatus.APPROVED if approve else ChangeStatus.REJECTED
        change.decided_by, change.decided_at, change.decided_reason = clerk, timezone.now(), reason
        change.save()
        record_event(
            action=f"identity_change.{change.status}", actor=clerk, target=change, details={"reason": reason}
        )
        verdict = "approved" if approve else f"not approved.\nReason: {reason}"
        notify_on_commit(
            attorney_address(attorney),
            "Your attorney portal profile change",
            f"Your request to change your name or bar number was {verdict}\n"
            + ("A registry clerk still reviews the bar number.\n" if dispute else ""),
        )
    return dispute


def bar_dispute_decide(*, dispute_id: int, clerk: User, award_to: str, reason: str) -> BarDispute:
    """Award the disputed bar number to the claimant (the current holder, if any, loses it)
    or leave it with its holder. Both attorneys are told; the holder's verified numbers stay
    as they are (the clerk revokes them separately if the account was a squatter)."""
    if award_to not in ("claimant", "holder"):
        raise ValueError(award_to)
    with transaction.atomic():
        dispute = BarDispute.objects.select_for_update().get(pk=dispute_id)
        if dispute.status != DisputeStatus.OPEN:
            raise AlreadyDecidedError()
        advisory_xact_lock("bar-number", f"{dispute.bar_state}:{dispute.bar_number}")
        claimant = Attorney.objects.select_for_update().get(pk=dispute.claimant_id)
        holder = (
            Attorney.objects.select_for_update()
            .filter(bar_state=dispute.bar_state, bar_number=dispute.bar_number)
            .exclude(pk=claimant.pk)
            .first()
        )
        bar = f"{dispute.bar_state} {dispute.bar_number}"
        if award_to == "claimant":
            if holder is not None:
                holder.bar_state = holder.bar_number = ""
                holder.save(update_fields=["bar_state", "bar_number"])
            claimant.bar_state, claimant.bar_number = dispute.bar_state, dispute.bar_number
            dispute.status = DisputeStatus.AWARDED_CLAIMANT
        else:
            dispute.status = DisputeStatus.AWARDED_HOLDER
        claimant.requested_bar_state = claimant.requested_bar_number = ""
        claimant.save()
        dispute.decided_by, dispute.decided_at, dispute.decided_reason = clerk, timezone.now(), reason
        dispute.save()
        holder_numbers = (
            ExemptNumber.objects.filter(attorney=holder, status=ExemptStatus.VERIFIED).count()
            if holder
            else 0
        )
        record_event(
            action="bar_dispute.decided",
            actor=clerk,
            target=dispute,
            details={
                "bar": bar,
                "awarded_to": claimant.pk if award_to == "claimant" else (holder.pk if holder else None),
                "claimant": claimant.pk,
                "previous_holder": holder.pk if holder else None,
                "holder_verified_numbers": holder_numbers,
                "reason": reason,
            },
        )
        won = award_to == "claimant"
        notify_on_commit(
            attorney_address(claimant),
            f"Bar number {bar}",
            f"A registry clerk {'confirmed' if won else 'did not confirm'} bar number {bar} "
            "for your account.\n"
            + ("" if won else f"Reason: {reason}\nContact the registry if this is wrong.\n"),
        )
        if holder is not None and won:
            notify_on_commit(
                attorney_address(holder),
                f"Bar number {bar}",
                f"A registry clerk gave bar number {bar} to another account.\nReason: {reason}\n",
            )
    dispute.holder_verified_numbers = holder_numbers  # type: ignore[attr-defined]
    return dispute


def contact_email_confirm(*, attorney: Attorney) -> Attorney:
    """The confirmation link was opened at the new address: it becomes the contact address.
    The old address is told, so a hijacked session cannot move mail away silently."""
    with transaction.atomic():
        attorney = Attorney.objects.select_for_update().get(pk=attorney.pk)
        if not attorney.pending_contact_email:
            return attorney
        before = attorney_address(attorney)
        attorney.contact_email, attorney.pending_contact_email = attorney.pending_contact_email, ""
        attorney.save(update_fields=["contact_email", "pending_contact_email"])
        record_event(
            action="attorney.contact_email_changed",
            actor=attorney.user,
            target=attorney,
            details={"contact_email": _change(before, attorney.contact_email)},
        )
        if before:
            notify_on_commit(
                before,
                "Your attorney portal contact address changed",
                f"From now on the registry writes to {attorney.contact_email}.\n"
                "If you did not ask for this, contact the registry at once.\n",
            )
    return attorney


def identity_queue() -> dict[str, Any]:
    """What the clerk queue shows of identities: open disputes (with who holds the number
    now) and pending identity changes (with who holds a bar number asked for)."""
    disputes = list(BarDispute.objects.filter(status=DisputeStatus.OPEN).select_related("claimant"))
    for dispute in disputes:
        dispute.current_holder = (  # type: ignore[attr-defined]
            Attorney.objects.filter(bar_state=dispute.bar_state, bar_number=dispute.bar_number)
            .exclude(pk=dispute.claimant_id)
            .first()
        )
    changes = list(
        IdentityChangeRequest.objects.filter(status=ChangeStatus.PENDING).select_related("attorney")
    )
    for change in changes:
        change.current_holder = (  # type: ignore[attr-defined]
            Attorney.objects.filter(bar_state=change.bar_state, bar_number=change.bar_number)
            .exclude(pk=change.attorney_id)
            .first()
        )
    return {"disputes": disputes, "identity_changes": changes}
