"""Inmate-initiated claims: "the inmate says this number is their attorney".

pending --verify--> verified (number privileged for the facility; recordings that arrived into
quarantine under the claim are purged, earlier stored ones are quarantined for review)
pending --reject--> rejected (recordings quarantined on arrival are released)

Decisions run under the number's lock, like verification, so an upload racing a decision is
either quarantined on arrival and then settled by it, or sees the decided claim.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.audit.references import protect_inmate, protect_number
from apps.audit.services import record_event
from apps.common.errors import DomainError
from apps.common.phone import normalize_phone_number
from apps.facilities.models import Facility
from apps.inmates.models import Inmate
from apps.recordings.models import Recording, RecordingState
from apps.recordings.review import recording_purge, recording_release
from apps.recordings.services import recordings_quarantine_for_number
from apps.registry.errors import IllegalTransitionError
from apps.registry.models import ClaimStatus, InmateClaim
from apps.registry.privilege import is_privileged, lock_number


class UnknownInmateError(DomainError):
    status_code = 404
    reason = "unknown_inmate"
    default_message = "No inmate with this booking number at the facility."


@dataclass(frozen=True)
class ClaimOutcome:
    claim: InmateClaim
    purged: int = 0
    released: int = 0
    quarantined: int = 0


def claim_report(
    *, facility: Facility, booking_number: str, number: str, actor: User
) -> tuple[InmateClaim, bool]:
    """Record a claim from the switch; a repeat for an open claim returns it (created=False)."""
    e164 = normalize_phone_number(number, facility.phone_region)
    inmate = Inmate.objects.filter(facility=facility, booking_number=booking_number).first()
    if inmate is None:
        raise UnknownInmateError(booking_number=booking_number)
    try:
        with transaction.atomic():
            lock_number(e164)
            existing = InmateClaim.objects.filter(
                facility=facility, number=e164, status=ClaimStatus.PENDING
            ).first()
            if existing is not None:
                return existing, False
            claim = InmateClaim.objects.create(
                facility=facility, inmate=inmate, number=e164, reported_by=actor
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
    except IntegrityError:
        # Lost a race with an identical report (SQLite has no advisory lock): return the winner.
        return InmateClaim.objects.get(facility=facility, number=e164, status=ClaimStatus.PENDING), False
    return claim, True


def _arrived_under(claim: InmateClaim) -> QuerySet[Recording]:
    return Recording.objects.select_for_update().filter(
        facility_id=claim.facility_id,
        call__dialed_number=claim.number,
        state=RecordingState.QUARANTINED,
        quarantine_reason=claim.quarantine_reason,
    )


def _locked_pending(claim_id: int) -> InmateClaim:
    claim = InmateClaim.objects.get(pk=claim_id)
    lock_number(claim.number)
    claim = InmateClaim.objects.select_for_update().get(pk=claim_id)
    if claim.status != ClaimStatus.PENDING:
        raise IllegalTransitionError(status=claim.status)
    return claim


def claim_verify(*, claim_id: int, clerk: User) -> ClaimOutcome:
    """The clerk confirms the number is the inmate's attorney's: it becomes privileged for the
    facility, the audio that arrived under the claim is purged (every version, key destroyed,
    tombstone kept) and any earlier stored recording of it there is quarantined (I1)."""
    with transaction.atomic():
        claim = _locked_pending(claim_id)
        claim.status = ClaimStatus.VERIFIED
        claim.decided_by = clerk
        claim.decided_at = timezone.now()
        claim.save(update_fields=["status", "decided_by", "decided_at"])
        purged = 0
        for recording in _arrived_under(claim):
            recording_purge(recording=recording, actor=clerk, reason=f"inmate claim #{claim.pk} verified")
            purged += 1
        quarantined = recordings_quarantine_for_number(
            number=claim.number,
            facility_id=claim.facility_id,
            reason=f"inmate claim #{claim.pk} verified",
            actor=clerk,
        )
        record_event(
            action="inmate_claim.verified",
            actor=clerk,
            target=claim,
            facility_id=claim.facility_id,
            details={
                "number_ref": protect_number(claim.number),
                "purged": purged,
                "quarantined": quarantined,
            },
        )
    return ClaimOutcome(claim, purged=purged, quarantined=quarantined)


def claim_reject(*, claim_id: int, clerk: User, reason: str) -> ClaimOutcome:
    """The clerk rejects the claim: the audio quarantined on arrival is released. If the number
    has meanwhile become privileged (an attorney's verified registration), the recordings stay
    quarantined and go to privilege review instead of being released."""
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
        released = 0
        privileged = is_privileged(claim.number, timezone.now(), facility_id=claim.facility_id).privileged
        for recording in _arrived_under(claim).select_related("call"):
            if privileged:
                recording.quarantine_reason = f"inmate claim #{claim.pk} rejected; number now privileged"
                recording.save(update_fields=["quarantine_reason"])
                continue
            recording_release(recording=recording, actor=clerk, reason=f"inmate claim #{claim.pk} rejected")
            released += 1
        record_event(
            action="inmate_claim.rejected",
            actor=clerk,
            target=claim,
            facility_id=claim.facility_id,
            details={"number_ref": protect_number(claim.number), "reason": reason, "released": released},
        )
    return ClaimOutcome(claim, released=released)
