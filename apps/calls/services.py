"""Call setup and teardown, as driven by a facility's telephone switch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from apps.audit.services import event_insert_sql, events_written, record_event
from apps.calls.errors import (
    CallConflictError,
    InvalidCallEndError,
    PromptVersionError,
    UnknownInmateError,
    UnknownPromptError,
)
from apps.calls.models import Call
from apps.common.db import fetchone_prepared
from apps.common.phone import normalize_phone_number
from apps.facilities.models import Facility, PromptKind, PromptText
from apps.facilities.stations import normalize_station
from apps.registry.privilege import (
    CALL_PRIVILEGED_SQL,
    CALL_REASON_SQL,
    DECISION_SQL,
    STATION_JOIN_SQL,
    decision_params,
)

# The call row, decided by the registry's own rule (``DECISION_SQL``) in the same statement:
# no decision can be taken on one snapshot and written on another. ON CONFLICT makes a retry
# of the same switch_call_id insert nothing (then the caller looks the call up). No row is
# inserted when the inmate is unknown (the JOIN finds nothing). Portable (PostgreSQL, SQLite).
#
# The prompt the switch must play rides in the same statement (issue 11, section 7): the
# facility's current version of the notice that matches the decision, read from the unique
# (facility, kind, version) index, so the prompt named is the one current when the call was
# decided (no cache to go stale after a publish, no extra round trip). RETURNING reads its
# version and kind back for the answer.
#
# The decision is the most restrictive of the number (DECISION_SQL, ``d``), the station the
# switch named (a live privileged station of this facility, ``s``, LEFT JOINed on the partial
# unique index of live stations) and the inmate's "do not record" setting (``i``): the
# registry's CALL_PRIVILEGED_SQL / CALL_REASON_SQL, still one statement.
_STATION_JOIN = STATION_JOIN_SQL.format(facility="%(facility)s", station="%(station)s")
_PROMPT_KIND_SQL = f"""CASE WHEN {CALL_PRIVILEGED_SQL} THEN '{PromptKind.PRIVATE_CALL_NOTICE.value}'
    ELSE '{PromptKind.RECORDING_NOTICE.value}' END"""
_INSERT_CALL_SQL = f"""
    WITH decision AS ({DECISION_SQL})
    INSERT INTO calls_call (facility_id, inmate_id, switch_call_id, dialed_number,
        started_at, decision, reason, privileged, exempt_number_id, created_at, synthetic, prompt_id,
        station)
    SELECT i.facility_id, i.id, %(switch_call_id)s, %(number)s, %(started_at)s,
        CASE WHEN {CALL_PRIVILEGED_SQL} THEN 'exempt' ELSE 'record' END,
        {CALL_REASON_SQL}, {CALL_PRIVILEGED_SQL}, d.exempt_number_id, %(created_at)s, %(synthetic)s,
        (SELECT p.id FROM facilities_prompttext p
         WHERE p.facility_id = %(facility)s AND p.kind = {_PROMPT_KIND_SQL}
         ORDER BY p.version DESC LIMIT 1),
        %(station)s
    FROM inmates_inmate i CROSS JOIN decision d
    {_STATION_JOIN}
    WHERE i.facility_id = %(facility)s AND i.booking_number = %(booking_number)s
    ON CONFLICT (facility_id, switch_call_id) DO NOTHING
    RETURNING id, inmate_id, decision, reason, privileged, exempt_number_id, prompt_id,
        (SELECT p.kind FROM facilities_prompttext p WHERE p.id = calls_call.prompt_id) AS prompt_kind,
        (SELECT p.version FROM facilities_prompttext p WHERE p.id = calls_call.prompt_id) AS prompt_version
"""  # noqa: S608 - constant SQL, values are parameters
_CALL_COLUMNS = ("id", "inmate_id", "decision", "reason", "privileged", "exempt_number_id", "prompt_id")
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
    station: str = "",
) -> tuple[Call, bool]:
    """Decide record/exempt for a new call. Returns (call, created).

    Idempotent on (facility, switch_call_id): a retry with the same payload gets the same
    call back; a different payload under the same id is a conflict, never a silent overwrite.
    The decision is taken against the registry as it is *now*; the storage gate checks again.

    This is the hot path (every call placed in every facility), so on PostgreSQL the decision,
    the call row and its audit event are one statement: one round trip, atomic on its own.
    Elsewhere (SQLite, the embedded default) the same INSERT and ``record_event`` share a
    transaction.

    ``station`` is what the switch says the call is placed from (a phone number or a station
    id, normalised by apps.facilities.stations.normalize_station; "" when not sent): a live
    privileged station of the facility makes the call exempt whatever number it dials.

    ``synthetic`` marks the call as the nightly assurance run's (apps/actions/assurance.py) in
    the very INSERT that creates it, so it is never visible as a real call, not even briefly.
    """
    number = normalize_phone_number(dialed_number, facility.phone_region)
    station_id = normalize_station(station, facility.phone_region) if station.strip() else ""
    now = timezone.now()
    params = {
        **decision_params(number, now, facility.pk),
        "switch_call_id": switch_call_id,
        "booking_number": booking_number,
        "started_at": connection.ops.adapt_datetimefield_value(started_at),
        "created_at": connection.ops.adapt_datetimefield_value(now),
        "synthetic": synthetic,
        "station": station_id,
    }
    if connection.vendor == "postgresql":
        row = _insert_call_with_event(params, facility=facility, actor=actor)
    else:
        row = _insert_call_then_event(params, facility=facility, actor=actor)
    if row is None:
        # A retry (or a concurrent duplicate), or an unknown inmate: new calls are the common
        # case, so only these pay for a lookup.
        existing = _existing_call(facility, switch_call_id, booking_number, number, station_id)
        if existing is None:
            raise UnknownInmateError(booking_number=booking_number)
        return existing, False
    values = dict(zip(_CALL_COLUMNS, row[: len(_CALL_COLUMNS)], strict=True))
    prompt_kind, prompt_version = row[len(_CALL_COLUMNS) :]
    call = Call(
        facility=facility,
        switch_call_id=switch_call_id,
        dialed_number=number,
        started_at=started_at,
        **{**values, "privileged": bool(values["privileged"])},
        created_at=now,
        synthetic=synthetic,
        station=station_id,
    )
    call._state.adding = False
    call._state.db = connection.alias
    if values["prompt_id"] is not None:
        # The prompt as the answer needs it (id, kind, version), without reading it again.
        prompt = PromptText(
            id=values["prompt_id"], facility=facility, kind=prompt_kind, version=prompt_version
        )
        prompt._state.adding = False
        prompt._state.db = connection.alias
        call.prompt = prompt
    return call, True


def _insert_call_with_event(
    params: dict[str, Any], *, facility: Facility, actor: User
) -> tuple[Any, ...] | None:
    event_sql, event_params = event_insert_sql(
        source="new_call",
        target_id="new_call.id::text",
        facility_id="%(facility)s",
        details=(
            "jsonb_build_object('decision', new_call.decision, 'reason', new_call.reason,"
            " 'prompt', new_call.prompt_id)"
        ),
        action="call.setup",
        actor=actor,
        target_type=Call._meta.label_lower,
    )
    sql = f"WITH new_call AS ({_INSERT_CALL_SQL}), event AS ({event_sql}) SELECT * FROM new_call"  # noqa: S608
    row = fetchone_prepared(sql, {**params, **event_params})
    if row is not None:
        events_written()
    return row


# The lean endpoint's statement (apps/calls/setup_endpoint.py, issue 14 section 3): the same
# INSERT and audit event, with the token check folded in. ``switch_auth`` is the one row the
# token authentication and IsSwitchAccount would accept (an active user, its switch account
# and that account's facility), read in the same snapshot as the INSERT: a switch suspended a
# moment ago is refused on its next request, without any cache to expire. The facility every
# part of the statement is scoped to is *this* row's; with no row (unknown or inactive token,
# not a switch, a facility in another phone region than the number was read in) the facility
# is NULL, nothing is inserted or audited, and the caller answers through the full DRF path,
# which refuses (and audits) or decides as always.
_SWITCH_AUTH_SQL = """
    SELECT s.facility_id, u.id AS user_id, u.username
    FROM authtoken_token t
    JOIN auth_user u ON u.id = t.user_id
    JOIN facilities_switchaccount s ON s.user_id = u.id
    JOIN facilities_facility f ON f.id = s.facility_id
    WHERE t.key = %(token)s AND u.is_active AND f.phone_region = %(region)s
"""
_AUTH_FACILITY = "(SELECT a.facility_id FROM switch_auth a)"
_SETUP_ANSWER_COLUMNS = (
    "id",
    "decision",
    "privileged",
    "reason",
    "prompt_id",
    "prompt_kind",
    "prompt_version",
)


def _authenticated_setup_sql() -> tuple[str, dict[str, Any]]:
    """The statement (the same text each time, so prepared once per connection) and the audit
    event's parameters."""
    event_sql, event_params = event_insert_sql(
        source="new_call",
        target_id="new_call.id::text",
        facility_id="%(facility)s",
        details=(
            "jsonb_build_object('decision', new_call.decision, 'reason', new_call.reason,"
            " 'prompt', new_call.prompt_id)"
        ),
        action="call.setup",
        actor=None,
        actor_sql=("(SELECT a.user_id FROM switch_auth a)", "(SELECT a.username FROM switch_auth a)"),
        target_type=Call._meta.label_lower,
    )
    sql = (
        f"WITH switch_auth AS ({_SWITCH_AUTH_SQL}), new_call AS ({_INSERT_CALL_SQL}), "  # noqa: S608
        f"event AS ({event_sql}) SELECT id, decision, privileged, reason, prompt_id, prompt_kind, "
        "prompt_version FROM new_call"
    )
    return sql.replace("%(facility)s", _AUTH_FACILITY), event_params


def call_setup_as_token(
    *,
    token_key: str,
    region: str,
    switch_call_id: str,
    booking_number: str,
    dialed_number: str,
    started_at: datetime,
    station: str,
) -> dict[str, Any] | None:
    """A new call set up by the switch holding ``token_key``, in one PostgreSQL statement, or
    None when that statement inserted nothing (see _SWITCH_AUTH_SQL: the caller then answers
    through ``call_setup`` behind the DRF view, which refuses, replays or decides as always).

    ``region`` is the phone region the number and station are read in; the statement checks it
    is the switch's facility's. Raises what ``call_setup`` raises for an unreadable number or
    station (InvalidPhoneNumberError, InvalidStationError). Builds no model instance: returns
    the columns of the answer.
    """
    number = normalize_phone_number(dialed_number, region)
    station_id = normalize_station(station, region) if station.strip() else ""
    now = timezone.now()
    sql, event_params = _authenticated_setup_sql()
    params = {
        **decision_params(number, now, None),
        **event_params,
        "token": token_key,
        "region": region,
        "switch_call_id": switch_call_id,
        "booking_number": booking_number,
        "started_at": started_at,
        "created_at": now,
        "synthetic": False,
        "station": station_id,
    }
    del params["facility"]
    row = fetchone_prepared(sql, params)
    if row is None:
        return None
    events_written()
    return dict(zip(_SETUP_ANSWER_COLUMNS, row, strict=True))


def _insert_call_then_event(
    params: dict[str, Any], *, facility: Facility, actor: User
) -> tuple[Any, ...] | None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_INSERT_CALL_SQL, params)
        row = cursor.fetchone()
        if row is not None:
            decision, reason, prompt_id = row[2], row[3], row[6]
            record_event(
                action="call.setup",
                actor=actor,
                target_type=Call._meta.label_lower,
                target_id=row[0],
                facility_id=facility.pk,
                details={"decision": decision, "reason": reason, "prompt": prompt_id},
            )
    return row


def _existing_call(
    facility: Facility, switch_call_id: str, booking_number: str, number: str, station_id: str
) -> Call | None:
    call = (
        Call.objects.select_related("inmate").filter(facility=facility, switch_call_id=switch_call_id).first()
    )
    if call is None:
        return None
    if (
        call.inmate.booking_number != booking_number
        or call.dialed_number != number
        or call.station != station_id
    ):
        raise CallConflictError(switch_call_id=switch_call_id)
    return call


@dataclass(frozen=True)
class PromptReport:
    """What the switch says it played: a prompt id and the version it believes that id is."""

    id: int
    version: int


def _played_prompt(call: Call, report: PromptReport) -> PromptText:
    prompt = PromptText.objects.filter(pk=report.id, facility_id=call.facility_id).first()
    if prompt is None:
        raise UnknownPromptError()
    if prompt.version != report.version:
        raise PromptVersionError(expected_version=prompt.version)
    return prompt


def call_end(
    *, call: Call, ended_at: datetime, actor: User, prompt_played: PromptReport | None = None
) -> Call:
    """Record the end of a call and, when the switch reports it, the prompt it played.

    Repeating the same end is harmless; a different one (another time, another prompt) is a
    conflict. ``prompt_played`` None means "not reported" (switches older than prompts): the
    end is still recorded, and its audit event says the prompt went unreported, so the
    compliance report can count calls without proof. A prompt other than the one setup named is
    stored as reported (it is the evidence) and audited as ``call.prompt_mismatch``.
    """
    if ended_at < call.started_at:
        raise InvalidCallEndError()
    played = _played_prompt(call, prompt_played) if prompt_played is not None else None
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        if call.ended_at is not None:
            if call.ended_at != ended_at or (played is not None and played.pk != call.prompt_played_id):
                raise CallConflictError("This call has already ended at another time or with another prompt.")
            return call
        call.ended_at = ended_at
        call.duration_seconds = int((ended_at - call.started_at).total_seconds())
        fields = ["ended_at", "duration_seconds"]
        if played is not None:
            call.prompt_played = played
            call.prompt_reported_at = timezone.now()
            fields += ["prompt_played", "prompt_reported_at"]
        call.save(update_fields=fields)
        record_event(
            action="call.end",
            actor=actor,
            target=call,
            facility_id=call.facility_id,
            details={
                "duration_seconds": call.duration_seconds,
                "prompt_played": played.pk if played is not None else None,
            },
        )
        if call.prompt_mismatch:
            record_event(
                action="call.prompt_mismatch",
                actor=actor,
                target=call,
                facility_id=call.facility_id,
                details={
                    "told": call.prompt_id,
                    "played": call.prompt_played_id,
                    "played_kind": played.kind if played is not None else None,
                    "played_version": played.version if played is not None else None,
                },
            )
    return call
