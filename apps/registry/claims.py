"""Inmate-initiated claims: "the inmate says this number is their attorney".

pending --verify--> verified (number privileged for the facility; every recording of it there,
including what arrived under the claim, is held for the two-officer privilege review: one clerk
never purges)
pending --reject--> rejected (the claim's hold is lifted; a recording is released only if no
other reason, such as an attorney's flag or a verified number, still holds it)

Reports are rate-limited per facility and per inmate (INMATE_CLAIM_LIMITS): a switch, or an
inmate, filing claims in bulk would otherwise quarantine any number's audio at will. Bursts are
also an anomaly rule (apps.access.anomaly, "claim_burst").

Decisions run under the number's lock, like verification, so an upload racing a decision is
either quarantined on arrival and then settled by it, or sees the decided claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.models import Outcome
from apps.audit.references import protect_inmate, protect_number
from apps.audit.services import record_event
from apps.common.errors import DomainError
from apps.common.phone import normalize_phone_number
from apps.facilities.models import Facility
from apps.inmates.models import Inmate
from apps.recordings.models import HoldOutcome
from apps.recordings.quarantine import claim_holds_close
from apps.recordings.services import recordings_quarantine_for_number
from apps.registry.errors import ClaimRateLimitedError, IllegalTransitionError
from apps.registry.models import ClaimStatus, InmateClaim
from apps.registry.privilege import lock_number


class UnknownInmateError(DomainError):
    status_code = 404
    reason = "unknown_inmate"
    default_message = "No inmate with this booking number at the facility."


@dataclass(frozen=True)
class ClaimOutcome:
    claim: InmateClaim
    released: int = 0
    # Recordings of the number now held for the two-officer privilege review.
    queued_for_review: int = 0


def claim_report(
    *, facility: Facility, booking_number: str, number: str, actor: User, now: datetime | None = None
) -> tuple[InmateClaim, bool]:
    """Record a claim from the switch; a repeat for an open claim returns it (created=False).

    A new claim past the facility's or the inmate's limit is refused (429) and the refusal is
    audited, so anomaly analysis sees the attempts too.
    """
    e164 = normalize_phone_number(number, facility.phone_region)
    inmate = Inmate.objects.filter(facility=facility, booking_number=booking_number).first()
    if inmate is None:
        raise UnknownInmateError(booking_number=booking_number)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            # The facility's row lock serialises its reports, so two cannot both pass the limit.
            Facility.objects.select_for_update().filter(pk=facility.pk).first()
            lock_number(e164)
            existing = InmateClaim.objects.filter(
                facility=facility, number=e164, status=ClaimStatus.PENDING
            ).first()
            if existing is not None:
                return existing, False
            _check_limits(facility=facility, inmate=inmate, now=now)
            claim = InmateClaim.objects.create(
                facility=facility, inmate=inmate, number=e164, reported_by=actor, created_at=now
            )
            record_event(
                action="inmate_claim.reported",
                actor=actor,
                target=claim,
                facility_id=facility.pk,
                details={
                    "number_ref": protect_number(e164),
                    "inmate_ref": protect_inmate(inmate.booking_number),
                },
            )
    except ClaimRateLimitedError as exc:
        with transaction.atomic():
            record_event(
                action="inmate_claim.rate_limited",
                actor=actor,
                outcome=Outcome.DENIED,
                facility_id=facility.pk,
                details={"inmate_ref": protect_inmate(inmate.booking_number), **exc.extra},
            )
        raise
    except IntegrityError:
        # Lost a race with an identical report (SQLite has no advisory lock): return the winner.
        return InmateClaim.objects.get(facility=facility, number=e164, status=ClaimStatus.PENDING), False
    return claim, True


def _check_limits(*, facility: Facility, inmate: Inmate, now: datetime) -> None:
    limits = settings.INMATE_CLAIM_LIMITS
    recent = {
        "facility": InmateClaim.objects.filter(facility=facility),
        "inmate": InmateClaim.objects.filter(inmate=inmate),
    }
    for scope, claims in recent.items():
        window, limit = limits[scope]["window"], limits[scope]["limit"]
        if claims.filter(created_at__gt=now - timedelta(seconds=window)).count() >= limit:
            raise ClaimRateLimitedError(scope=scope, limit=limit, window_seconds=window)


def _locked_pending(claim_id: int) -> InmateClaim:
    claim = InmateClaim.objects.get(pk=claim_id)
    lock_number(claim.number)
    claim = InmateClaim.objects.select_for_update().get(pk=claim_id)
    if claim.status != ClaimStatus.PENDING:
        raise IllegalTransitionError(status=claim.status)
    return claim


def claim_verify(*, claim_id: int, clerk: User) -> ClaimOutcome:
    """The clerk confirms the number is the inmate's attorney's: it becomes privileged for the
    facility, and every recording of it there (what arrived under the claim and anything
    earlier) is held for the two-officer privilege review, which alone may purge (I1, and two
    people for every purge)."""
    with transaction.atomic():
        claim = _locked_pending(claim_id)
        claim.status = ClaimStatus.VERIFIED
        claim.decided_by = clerk
        claim.decided_at = timezone.now()
        claim.save(update_fields=["status", "decided_by", "decided_at"])
        reason = f"inmate claim #{claim.pk} verified"
        # The privileged hold first: closing the claim's hold must never leave a moment in
        # which nothing holds the recording.
        queued = recordings_quarantine_for_number(
            number=claim.number, facility_id=claim.facility_id, reason=reason, actor=clerk
        )
        claim_holds_close(claim_id=claim.pk, outcome=HoldOutcome.CLAIM_VERIFIED, actor=clerk, reason=reason)
        record_event(
            action="inmate_claim.verified",
            actor=clerk,
            target=claim,
            facility_id=claim.facility_id,
            details={"number_ref": protect_number(claim.number), "queued_for_review": queued},
        )
    return ClaimOutcome(claim, queued_for_review=queued)


def claim_reject(*, claim_id: int, clerk: User, reason: str) -> ClaimOutcome:
    """The clerk rejects the claim: its hold is lifted. A recording it held is released only
    if nothing else holds it (an attorney's flag, a verified number); those stay quarantined
    for the two-officer privilege review."""
    reason = reason.strip()
    if not reason:
        raise DomainError("A reason is required to reject a claim.")
    with transaction.atomic():
        claim = _locked_pending(claim_id)
        claim.status = ClaimStatus.REJECTED
        claim.decided_by = clerk
        claim.decided_at = timezone.now()
        claim.decided_reason = reason
        claim.save(update_fields=["status", "decided_by", "decided_at", "decided_reason"])
        released = claim_holds_close(
            claim_id=claim.pk,
            outcome=HoldOutcome.CLAIM_REJECTED,
            actor=clerk,
            reason=f"inmate claim #{claim.pk} rejected",
        )
        record_event(
            action="inmate_claim.rejected",
            actor=clerk,
            target=claim,
            facility_id=claim.facility_id,
            details={"number_ref": protect_number(claim.number), "reason": reason, "released": released},
        )
    return ClaimOutcome(claim, released=released)
