"""The privilege decision: the one function every other part of the platform calls (I1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, Value

from apps.common.locks import advisory_xact_lock
from apps.common.phone import normalize_phone_number
from apps.registry.models import ClaimStatus, ExemptNumber, ExemptStatus, InmateClaim

LOCK_NAMESPACE = "exempt-number"


@dataclass(frozen=True)
class PrivilegeDecision:
    privileged: bool
    reason: str
    exempt_number_id: int | None = None
    # Not privileged (yet), but an inmate's claim on the number is pending: the audio is
    # stored straight into quarantine, readable by no one until a clerk decides the claim.
    quarantine_on_arrival: bool = False
    claim_id: int | None = None


def lock_number(number_e164: str) -> None:
    """Serialise every registry change and every recording write for one number.

    Verification and the storage gate both take this lock, so either the gate sees the
    verification (and refuses) or the verification sees the recording (and quarantines it).
    """
    advisory_xact_lock(LOCK_NAMESPACE, number_e164)


def is_privileged(
    number: str, at: datetime, *, facility_id: int | None = None, region: str = "US"
) -> PrivilegeDecision:
    """Is a call to ``number`` at ``at`` (from ``facility_id``) privileged?

    ``number`` may be written in any format; it is normalised first, so formatting can never
    hide a registered number. Privileged means: a verified registration, global or for this
    facility, whose effective window contains ``at``. Expiry needs no job: the window is part
    of the query. A *verified* inmate claim makes the number privileged for the claim's
    facility; a *pending* one sets ``quarantine_on_arrival``. Run it under ``lock_number`` when
    the answer guards a write.
    """
    e164 = normalize_phone_number(number, region)
    scope = Q(facility__isnull=True)
    if facility_id is not None:
        scope |= Q(facility_id=facility_id)
    exempt = (
        ExemptNumber.objects.filter(number=e164, status=ExemptStatus.VERIFIED, effective_from__lte=at)
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gt=at))
        .filter(scope)
        .annotate(source=Value("exempt"))
        .order_by()
        .values_list("source", "id", "status")
    )
    claims = InmateClaim.objects.filter(number=e164, status__in=[ClaimStatus.VERIFIED, ClaimStatus.PENDING])
    if facility_id is not None:
        claims = claims.filter(facility_id=facility_id)
    # One round trip for registrations and claims: this runs on every call setup and upload.
    rows = list(
        exempt.union(
            claims.annotate(source=Value("claim")).order_by().values_list("source", "id", "status"), all=True
        )
    )
    exempt_ids = sorted(row[1] for row in rows if row[0] == "exempt")
    if exempt_ids:
        return PrivilegeDecision(True, "verified_attorney_number", exempt_ids[0])
    claim_rows = sorted((row[1], row[2]) for row in rows if row[0] == "claim")
    if any(status == ClaimStatus.VERIFIED for _, status in claim_rows):
        return PrivilegeDecision(True, "verified_inmate_claim")
    if claim_rows:
        return PrivilegeDecision(
            False, "pending_inmate_claim", quarantine_on_arrival=True, claim_id=claim_rows[0][0]
        )
    return PrivilegeDecision(False, "not_exempt")
