"""The privilege decision: the one rule every other part of the platform applies (I1).

The rule is written once, as SQL (``DECISION_SQL``), because it runs in two places: on its own
in ``is_privileged`` (storage gate, review, claims) and inside the single statement that sets
up a call (``apps.calls.services``), where a separate round trip would be the slowest part of
the hot path. The PostgreSQL backstop trigger (recordings migrations 0002 and 0007) repeats
the "verified" half of it on purpose: the database must refuse privileged audio even if this
code were wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from apps.common.db import fetchone_prepared
from apps.common.locks import advisory_xact_lock
from apps.common.phone import normalize_phone_number

LOCK_NAMESPACE = "exempt-number"

# One row for (number, at, facility): privileged?, why, and which registration or claim.
# - A verified registration counts if it is global or for this facility and its effective
#   window contains ``at`` (expiry needs no job: the window is in the query).
# - A verified inmate claim makes the number privileged for the claim's facility.
# - A pending claim is not privileged, but its audio goes straight to quarantine.
# With facility NULL only global registrations apply, and claims of any facility.
# Named parameters: number (E.164), at (adapted with ``adapt_at``), facility (id or NULL).
# Portable SQL (PostgreSQL and SQLite); the comparisons yield booleans on both. The inner
# LIMIT (it yields one row anyway) keeps PostgreSQL from inlining each lookup wherever its
# result is used, which multiplied the planning cost.
DECISION_SQL = """
SELECT
    (d.exempt_number_id IS NOT NULL OR d.verified_claim_id IS NOT NULL) AS privileged,
    CASE WHEN d.exempt_number_id IS NOT NULL THEN 'verified_attorney_number'
         WHEN d.verified_claim_id IS NOT NULL THEN 'verified_inmate_claim'
         WHEN d.pending_claim_id IS NOT NULL THEN 'pending_inmate_claim'
         ELSE 'not_exempt' END AS reason,
    d.exempt_number_id,
    d.pending_claim_id
FROM (
    SELECT
        (SELECT MIN(e.id) FROM registry_exemptnumber e
          WHERE e.number = %(number)s AND e.status = 'verified' AND e.effective_from <= %(at)s
            AND (e.effective_until IS NULL OR e.effective_until > %(at)s)
            AND (e.facility_id IS NULL OR e.facility_id = %(facility)s)) AS exempt_number_id,
        (SELECT MIN(c.id) FROM registry_inmateclaim c
          WHERE c.number = %(number)s AND c.status = 'verified'
            AND (CAST(%(facility)s AS bigint) IS NULL OR c.facility_id = %(facility)s)) AS verified_claim_id,
        (SELECT MIN(c.id) FROM registry_inmateclaim c
          WHERE c.number = %(number)s AND c.status = 'pending'
            AND (CAST(%(facility)s AS bigint) IS NULL OR c.facility_id = %(facility)s)) AS pending_claim_id
    LIMIT 1
) d
"""


@dataclass(frozen=True)
class PrivilegeDecision:
    privileged: bool
    reason: str
    exempt_number_id: int | None = None
    # Not privileged (yet), but an inmate's claim on the number is pending: the audio is
    # stored straight into quarantine, readable by no one until a clerk decides the claim.
    quarantine_on_arrival: bool = False
    claim_id: int | None = None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> PrivilegeDecision:
        """A row of ``DECISION_SQL`` (privileged, reason, exempt_number_id, pending_claim_id)."""
        privileged, reason, exempt_number_id, pending_claim_id = row
        pending = not privileged and pending_claim_id is not None
        return cls(
            privileged=bool(privileged),
            reason=reason,
            exempt_number_id=exempt_number_id,
            quarantine_on_arrival=pending,
            claim_id=pending_claim_id if pending else None,
        )


def decision_params(number_e164: str, at: datetime, facility_id: int | None) -> dict[str, Any]:
    """The named parameters of ``DECISION_SQL``, adapted for the current database."""
    return {
        "number": number_e164,
        "at": connection.ops.adapt_datetimefield_value(at),
        "facility": facility_id,
    }


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
    hide a registered number. One round trip. Run it under ``lock_number`` when the answer
    guards a write.
    """
    e164 = normalize_phone_number(number, region)
    row = fetchone_prepared(DECISION_SQL, decision_params(e164, at, facility_id))
    assert row is not None  # noqa: S101 - the statement always yields one row
    return PrivilegeDecision.from_row(row)
