"""The privilege decision: the one rule every other part of the platform applies (I1).

The rule is written once, as SQL (``DECISION_SQL``), because it runs in two places: on its own
in ``is_privileged`` (storage gate, review, claims) and inside the single statement that sets
up a call (``apps.calls.services``), where a separate round trip would be the slowest part of
the hot path. The PostgreSQL backstop trigger (recordings migrations 0002, 0007 and
0008_renewal_window) repeats the registration half of it (``REGISTRATION_COVERS_SQL`` at
``now()``) on purpose: the database must refuse privileged audio even if this code were wrong.
A test compares the installed trigger with ``REGISTRATION_COVERS_SQL``, so they cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Q

from apps.common.db import fetchone_prepared
from apps.common.locks import advisory_xact_lock
from apps.common.phone import normalize_phone_number
from apps.registry.models import CLAIM_QUARANTINE_PREFIX, ExemptStatus

LOCK_NAMESPACE = "exempt-number"

# When a verified registration ``e`` covers the instant {at} (issue 9, the renewal window):
# from its start until its end, and past its end for as long as a renewal is pending (the
# clerk has not decided yet) or the attorney has not been reminded (a registration never lapses
# unannounced; the reminder moves the end to at least REGISTRY_REMINDER_DAYS after itself).
# Expiry needs no job: the window is in the query. ``registration_lapsed`` is its complement.
REGISTRATION_COVERS_SQL = """e.status = 'verified' AND e.effective_from <= {at}
            AND (e.effective_until IS NULL OR e.effective_until > {at}
                 OR e.renewal_requested_at IS NOT NULL OR e.reminder_sent_at IS NULL)"""

# When a registration ``e`` covered a call placed at ``{at}`` in the past, whatever became of
# it since (verified still, or expired): the call was privileged when it took place, as the
# switch decided it then. History imports use it beside REGISTRATION_COVERS_SQL at now.
REGISTRATION_COVERED_THEN_SQL = """e.status IN ('verified', 'expired') AND e.effective_from <= {at}
            AND (e.effective_until IS NULL OR e.effective_until > {at})"""

# When an inmate claim ``c`` makes its number privileged for the claim's facility (a pending
# claim does not: its audio is stored straight into quarantine instead).
CLAIM_COVERS_SQL = "c.status = 'verified'"

# One row for (number, at, facility): privileged?, why, and which registration or claim.
# - A verified registration counts if it is global or for this facility and it covers ``at``
#   (REGISTRATION_COVERS_SQL).
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
          WHERE e.number = %(number)s AND {covers}
            AND (e.facility_id IS NULL OR e.facility_id = %(facility)s)) AS exempt_number_id,
        (SELECT MIN(c.id) FROM registry_inmateclaim c
          WHERE c.number = %(number)s AND {claim_covers}
            AND (CAST(%(facility)s AS bigint) IS NULL OR c.facility_id = %(facility)s)) AS verified_claim_id,
        (SELECT MIN(c.id) FROM registry_inmateclaim c
          WHERE c.number = %(number)s AND c.status = 'pending'
            AND (CAST(%(facility)s AS bigint) IS NULL OR c.facility_id = %(facility)s)) AS pending_claim_id
    LIMIT 1
) d
""".replace("{covers}", REGISTRATION_COVERS_SQL.format(at="%(at)s")).replace(
    "{claim_covers}", CLAIM_COVERS_SQL
)


def registration_lapsed(at: datetime) -> Q:
    """Verified registrations that no longer cover ``at``: the complement of
    REGISTRATION_COVERS_SQL among verified rows whose window has started (the expiry job marks
    them expired; a renewal request on one starts a new registration instead of reviving it)."""
    return Q(
        status=ExemptStatus.VERIFIED,
        effective_until__lte=at,
        renewal_requested_at__isnull=True,
        reminder_sent_at__isnull=False,
    )


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

    @property
    def claim_hold_reason(self) -> str:
        """The reason of the hold a pending claim puts on audio arriving under it."""
        return f"{CLAIM_QUARANTINE_PREFIX}{self.claim_id}"


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


# --- The most restrictive rule wins (issue 11, section 6) -------------------------------------
# A call is also privileged when it is placed from a live privileged station of its facility
# (apps.facilities.models.PrivilegedStation) or by an inmate set "do not record"
# (apps.inmates.recording_setting). These are properties of the *call*, not of the number, so
# they are not part of DECISION_SQL (which answers for a number, and which the decision list,
# claims and review also use). Call setup and the storage gate combine them with it in their own
# single statement, with these expressions over three aliases:
#   d  a row of DECISION_SQL (the number's decision),
#   s  the live privileged station of the call's facility, LEFT JOINed (STATION_JOIN_SQL):
#      NULL columns when the call names no station or a station that is not registered,
#   i  the call's inmate row.
# The number's reasons come first (they name the registration), then the station, then the
# inmate. The backstop trigger (recordings migration 0012) holds STATION_LIVE_SQL and
# INMATE_DO_NOT_RECORD_SQL verbatim (a test compares them).
STATION_LIVE_SQL = "s.retired_at IS NULL"
INMATE_DO_NOT_RECORD_SQL = "i.do_not_record_since IS NOT NULL"
STATION_JOIN_SQL = (
    "LEFT JOIN facilities_privilegedstation s ON s.facility_id = {facility}"
    " AND s.station_id = {station} AND " + STATION_LIVE_SQL
)
CALL_PRIVILEGED_SQL = f"(d.privileged OR s.id IS NOT NULL OR {INMATE_DO_NOT_RECORD_SQL})"
CALL_REASON_SQL = f"""CASE WHEN d.privileged THEN d.reason
         WHEN s.id IS NOT NULL THEN 'privileged_station'
         WHEN {INMATE_DO_NOT_RECORD_SQL} THEN 'inmate_do_not_record'
         ELSE d.reason END"""
