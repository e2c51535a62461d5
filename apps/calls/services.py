"""Call setup and teardown, as driven by a facility's telephone switch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from apps.audit.services import event_insert_sql, events_written, record_event
from apps.calls.errors import CallConflictError, InvalidCallEndError, UnknownInmateError
from apps.calls.models import Call
from apps.common.db import fetchone_prepared
from apps.common.phone import normalize_phone_number
from apps.facilities.models import Facility
from apps.registry.privilege import DECISION_SQL, decision_params

# The call row, decided by the registry's own rule (``DECISION_SQL``) in the same statement:
# no decision can be taken on one snapshot and written on another. ON CONFLICT makes a retry
# of the same switch_call_id insert nothing (then the caller looks the call up). No row is
# inserted when the inmate is unknown (the JOIN finds nothing). Portable (PostgreSQL, SQLite).
_INSERT_CALL_SQL = f"""
    WITH decision AS ({DECISION_SQL})
    INSERT INTO calls_call (facility_id, inmate_id, switch_call_id, dialed_number,
        started_at, decision, reason, privileged, exempt_number_id, created_at, synthetic)
    SELECT i.facility_id, i.id, %(switch_call_id)s, %(number)s, %(started_at)s,
        CASE WHEN d.privileged THEN 'exempt' ELSE 'record' END,
        d.reason, d.privileged, d.exempt_number_id, %(created_at)s, %(synthetic)s
    FROM inmates_inmate i CROSS JOIN decision d
    WHERE i.facility_id = %(facility)s AND i.booking_number = %(booking_number)s
    ON CONFLICT (facility_id, switch_call_id) DO NOTHING
    RETURNING id, inmate_id, decision, reason, privileged, exempt_number_id
"""  # noqa: S608 - constant SQL, values are parameters
_CALL_COLUMNS = ("id", "inmate_id", "decision", "reason", "privileged", "exempt_number_id")
Row = tuple[Any, ...]


def call_setup(
    *,
    facility: Facility,
    switch_call_id: str,
    booking_number: str,
    dialed_number: str,
    started_at: datetime,
    actor: User,
    synthetic: bool = False,
) -> tuple[Call, bool]:
    """Decide record/exempt for a new call. Returns (call, created).

    Idempotent on (facility, switch_call_id): a retry with the same payload gets the same
    call back; a different payload under the same id is a conflict, never a silent overwrite.
    The decision is taken against the registry as it is *now*; the storage gate checks again.

    This is the hot path (every call placed in every facility), so on PostgreSQL the decision,
    the call row and its audit event are one statement: one round trip, atomic on its own.
    Elsewhere (SQLite, the embedded default) the same INSERT and ``record_event`` share a
    transaction.

    ``synthetic`` marks the call as the nightly assurance run's (apps/actions/assurance.py) in
    the very INSERT that creates it, so it is never visible as a real call, not even briefly.
    """
    number = normalize_phone_number(dialed_number, facility.phone_region)
    now = timezone.now()
    params = {
        **decision_params(number, now, facility.pk),
        "switch_call_id": switch_call_id,
        "booking_number": booking_number,
        "started_at": connection.ops.adapt_datetimefield_value(started_at),
        "created_at": connection.ops.adapt_datetimefield_value(now),
        "synthetic": synthetic,
    }
    if connection.vendor == "postgresql":
        row = _insert_call_with_event(params, facility=facility, actor=actor)
    else:
        row = _insert_call_then_event(params, facility=facility, actor=actor)
    if row is None:
        # A retry (or a concurrent duplicate), or an unknown inmate: new calls are the common
        # case, so only these pay for a lookup.
        existing = _existing_call(facility, switch_call_id, booking_number, number)
        if existing is None:
            raise UnknownInmateError(booking_number=booking_number)
        return existing, False
    values = dict(zip(_CALL_COLUMNS, row, strict=True))
    call = Call(
        facility=facility,
        switch_call_id=switch_call_id,
        dialed_number=number,
        started_at=started_at,
        **{**values, "privileged": bool(values["privileged"])},
        created_at=now,
        synthetic=synthetic,
    )
    call._state.adding = False
    call._state.db = connection.alias
    return call, True


def _insert_call_with_event(
    params: dict[str, Any], *, facility: Facility, actor: User
) -> tuple[Any, ...] | None:
    event_sql, event_params = event_insert_sql(
        source="new_call",
        target_id="new_call.id::text",
        facility_id="%(facility)s",
        details="jsonb_build_object('decision', new_call.decision, 'reason', new_call.reason)",
        action="call.setup",
        actor=actor,
        target_type=Call._meta.label_lower,
    )
    sql = f"WITH new_call AS ({_INSERT_CALL_SQL}), event AS ({event_sql}) SELECT * FROM new_call"  # noqa: S608
    row = fetchone_prepared(sql, {**params, **event_params})
    if row is not None:
        events_written()
    return row


def _insert_call_then_event(
    params: dict[str, Any], *, facility: Facility, actor: User
) -> tuple[Any, ...] | None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_INSERT_CALL_SQL, params)
        row = cursor.fetchone()
        if row is not None:
            decision, reason = row[2], row[3]
            record_event(
                action="call.setup",
                actor=actor,
                target_type=Call._meta.label_lower,
                target_id=row[0],
                facility_id=facility.pk,
                details={"decision": decision, "reason": reason},
            )
    return row


def _existing_call(facility: Facility, switch_call_id: str, booking_number: str, number: str) -> Call | None:
    call = (
        Call.objects.select_related("inmate").filter(facility=facility, switch_call_id=switch_call_id).first()
    )
    if call is None:
        return None
    if call.inmate.booking_number != booking_number or call.dialed_number != number:
        raise CallConflictError(switch_call_id=switch_call_id)
    return call


def call_end(*, call: Call, ended_at: datetime, actor: User) -> Call:
    """Record the end of a call. Repeating the same end is harmless; a different one is not."""
    if ended_at < call.started_at:
        raise InvalidCallEndError()
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        if call.ended_at is not None:
            if call.ended_at != ended_at:
                raise CallConflictError("This call has already ended at another time.")
            return call
        call.ended_at = ended_at
        call.duration_seconds = int((ended_at - call.started_at).total_seconds())
        call.save(update_fields=["ended_at", "duration_seconds"])
        record_event(
            action="call.end",
            actor=actor,
            target=call,
            facility_id=call.facility_id,
            details={"duration_seconds": call.duration_seconds},
        )
    return call
