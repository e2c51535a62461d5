"""The storage gate (invariant I1) and the recording lifecycle.

Order of checks for an upload, each before the next costs anything:
1. headers (type, declared size, checksum format);
2. the privilege decision without a lock: a privileged call is refused *before the body is
   read*;
3. the body is spooled to a private temporary file while hashing, bounded by the size limit;
4. under the number's advisory lock and the call's row lock, the decision is taken again:
   this is the authoritative check. Verification takes the same lock, so a registration
   racing the upload either lands first (the upload is refused) or after (the new recording is
   quarantined by the verification). A database trigger refuses a stored recording of a
   privileged call as the last line of defence.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.models import Outcome
from apps.audit.services import record_event
from apps.calls.models import Call
from apps.common.db import fetchone_prepared
from apps.facilities.stations import lock_station
from apps.inmates.recording_setting import lock_inmate_recordings
from apps.recordings import crypto
from apps.recordings.errors import (
    ChecksumMismatchError,
    EmptyRecordingError,
    IncompleteBodyError,
    InvalidChecksumHeaderError,
    PrivilegedCallError,
    RecordingExistsError,
    RecordingIntegrityError,
    RecordingTooLargeError,
    UnsupportedAudioTypeError,
)
from apps.recordings.models import HoldKind, Recording, RecordingState
from apps.recordings.quarantine import hold_add
from apps.recordings.storage import CHUNK_SIZE, get_storage
from apps.registry.privilege import (
    CALL_PRIVILEGED_SQL,
    CALL_REASON_SQL,
    DECISION_SQL,
    STATION_JOIN_SQL,
    PrivilegeDecision,
    decision_params,
    lock_number,
)

logger = logging.getLogger(__name__)
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_AUDIO_TYPE = re.compile(r"^audio/[A-Za-z0-9.+-]{1,50}$")


def new_storage_key() -> str:
    """A random key: it says nothing about the inmate, the facility or the number."""
    token = uuid.uuid4().hex
    return f"{token[:2]}/{token}"


def recording_store(
    *,
    call: Call,
    body: IO[bytes],
    content_type: str,
    content_length: int | None,
    expected_sha256: str | None,
    actor: User,
) -> Recording:
    """Store the audio of ``call`` through the gate, or raise a DomainError.

    Guarantees: nothing reaches storage for a privileged call; a failed storage write leaves
    no Recording row; a failed commit after the write deletes the object (and
    ``reconcile_storage`` finds any that a crash left behind).
    """
    media_type = content_type.split(";")[0].strip().lower()
    if not _AUDIO_TYPE.match(media_type):
        raise UnsupportedAudioTypeError(received=content_type[:80])
    if content_length is not None and content_length > settings.RECORDING_MAX_BYTES:
        raise RecordingTooLargeError(limit_bytes=settings.RECORDING_MAX_BYTES)
    if expected_sha256 is not None and not _SHA256_HEX.match(expected_sha256):
        raise InvalidChecksumHeaderError()

    gate = _gate_state(call)
    if gate.privileged:
        _refuse(call=call, actor=actor, stage="before_read")
    if gate.recording_exists:
        raise RecordingExistsError()

    with tempfile.SpooledTemporaryFile(max_size=8 * CHUNK_SIZE) as spool:
        size, digest = _spool(body, spool)
        if size == 0:
            raise EmptyRecordingError()
        if content_length is not None and size != content_length:
            # A dropped connection (the server saw EOF early): never store a truncated recording.
            raise IncompleteBodyError(declared_bytes=content_length, received_bytes=size)
        if expected_sha256 is not None and expected_sha256.lower() != digest:
            raise ChecksumMismatchError(computed_sha256=digest)
        spool.seek(0)
        return _store_under_lock(
            call=call, spool=spool, size=size, digest=digest, media_type=media_type, actor=actor
        )


@dataclass(frozen=True)
class _GateState:
    call_privileged: bool
    call_exempt_number_id: int | None
    decision: PrivilegeDecision
    recording_exists: bool

    @property
    def privileged(self) -> bool:
        return self.call_privileged or self.decision.privileged


# Everything the gate checks, in one statement: the call as it is now, the registry's decision
# for it (the registry's own rule: DECISION_SQL for the number, made the most restrictive with
# the call's station and the inmate's "do not record" setting as they are *now*) and whether
# audio is already stored.
_GATE_SQL = f"""
    WITH decision AS ({DECISION_SQL})
    SELECT c.privileged, c.exempt_number_id,
        {CALL_PRIVILEGED_SQL}, {CALL_REASON_SQL}, d.exempt_number_id, d.pending_claim_id,
        EXISTS (SELECT 1 FROM recordings_recording r WHERE r.call_id = c.id)
    FROM calls_call c JOIN inmates_inmate i ON i.id = c.inmate_id CROSS JOIN decision d
    {STATION_JOIN_SQL.format(facility="c.facility_id", station="c.station")}
    WHERE c.id = CAST(%(call)s AS bigint)
"""  # noqa: S608 - constant SQL, values are parameters


def _gate_state(call: Call, *, lock_call: bool = False) -> _GateState:
    """The gate's view of ``call``; with ``lock_call``, also the call's row lock.

    Under the number lock this is the authoritative check. It must be a statement of its own,
    *after* the one taking the number lock: PostgreSQL (read committed) takes a statement's
    snapshot when the statement starts, so a lock taken inside the same statement would not
    make a verification committed while we waited visible to it.
    """
    sql = _GATE_SQL
    if lock_call and connection.features.has_select_for_update:
        sql += " FOR UPDATE OF c"
    params = {**decision_params(call.dialed_number, timezone.now(), call.facility_id), "call": call.pk}
    row = fetchone_prepared(sql, params)
    if row is None:  # the call row cannot disappear (PROTECT), but never store on a guess
        raise RuntimeError(f"call {call.pk} vanished during its upload")
    return _GateState(
        call_privileged=bool(row[0]),
        call_exempt_number_id=row[1],
        decision=PrivilegeDecision.from_row(row[2:6]),
        recording_exists=bool(row[6]),
    )


def _lock_call_rules(call: Call) -> None:
    """Take the lock of every rule that can make ``call`` privileged, always in this order
    (number, station, inmate): each act that changes one rule takes that rule's lock, so it
    either lands before the gate's check (refused) or sees the stored recording."""
    lock_number(call.dialed_number)
    if call.station:
        lock_station(call.facility_id, call.station)
    lock_inmate_recordings(call.inmate_id)


def _spool(body: IO[bytes], spool: IO[bytes]) -> tuple[int, str]:
    hasher = hashlib.sha256()
    size = 0
    while chunk := body.read(CHUNK_SIZE):
        size += len(chunk)
        if size > settings.RECORDING_MAX_BYTES:
            raise RecordingTooLargeError(limit_bytes=settings.RECORDING_MAX_BYTES)
        hasher.update(chunk)
        spool.write(chunk)
    return size, hasher.hexdigest()


def _store_under_lock(
    *,
    call: Call,
    spool: IO[bytes],
    size: int,
    digest: str,
    media_type: str,
    actor: User,
) -> Recording:
    storage = get_storage()
    key = new_storage_key()
    data_key = crypto.new_data_key()
    written = False
    refused = False
    try:
        with transaction.atomic():
            _lock_call_rules(call)
            gate = _gate_state(call, lock_call=True)
            call.privileged, call.exempt_number_id = gate.call_privileged, gate.call_exempt_number_id
            decision = gate.decision
            if gate.privileged:
                _mark_refused(call=call, decision=decision, actor=actor, stage="under_lock")
                refused = True
            else:
                # Definitive: every writer of a recording holds this number's lock, so no other
                # upload of this call can commit now (and the one-to-one constraint backs it up).
                if gate.recording_exists:
                    raise RecordingExistsError()
                storage.put(key, spool, size=size, data_key=data_key)
                written = True
                # A pending inmate claim on the number: stored, but into quarantine on arrival.
                arrival = _arrival_state(decision)
                recording = Recording.objects.create(
                    call=call,
                    facility_id=call.facility_id,
                    inmate_id=call.inmate_id,
                    storage_backend=storage.name,
                    storage_key=key,
                    size_bytes=size,
                    sha256=digest,
                    content_type=media_type,
                    encryption=storage.encryption,
                    wrapped_key=crypto.wrap_data_key(data_key, storage_key=key),
                    retention_until=timezone.now() + timedelta(days=settings.RECORDING_RETENTION_DAYS),
                    **arrival,
                )
                if decision.quarantine_on_arrival and decision.claim_id is not None:
                    hold_add(
                        recording=recording,
                        kind=HoldKind.CLAIM,
                        reason=decision.claim_hold_reason,
                        actor=actor,
                        claim_id=decision.claim_id,
                    )
                record_event(
                    action="recording.stored",
                    actor=actor,
                    target=recording,
                    facility_id=call.facility_id,
                    details={
                        "call_id": call.pk,
                        "size_bytes": size,
                        "sha256": digest,
                        "state": recording.state,
                        **({"claim_id": decision.claim_id} if decision.quarantine_on_arrival else {}),
                    },
                )
    except BaseException:
        if written:
            _delete_orphan(storage_key=key)
        raise
    if refused:
        raise PrivilegedCallError()
    return recording


def _arrival_state(decision: PrivilegeDecision) -> dict[str, object]:
    if not decision.quarantine_on_arrival:
        return {"state": RecordingState.STORED}
    # The claim's hold (apps.recordings.quarantine) is added right after the row.
    return {"state": RecordingState.QUARANTINED, "quarantined_at": timezone.now()}


def _refuse(*, call: Call, actor: User, stage: str) -> None:
    with transaction.atomic():
        _lock_call_rules(call)
        gate = _gate_state(call, lock_call=True)
        call.privileged, call.exempt_number_id = gate.call_privileged, gate.call_exempt_number_id
        _mark_refused(call=call, decision=gate.decision, actor=actor, stage=stage)
    raise PrivilegedCallError()


def _mark_refused(*, call: Call, decision: PrivilegeDecision, actor: User, stage: str) -> None:
    if not call.privileged:
        call.privileged = True
        call.exempt_number_id = call.exempt_number_id or decision.exempt_number_id
        call.save(update_fields=["privileged", "exempt_number"])
    record_event(
        action="recording.upload_refused",
        actor=actor,
        target=call,
        outcome=Outcome.REFUSED,
        facility_id=call.facility_id,
        details={"reason": "privileged", "stage": stage, "setup_decision": call.decision},
    )


def _delete_orphan(*, storage_key: str) -> None:
    try:
        get_storage().delete(storage_key)
    except Exception:
        # reconcile_storage will find it: an object with no row is never served.
        logger.exception("could not delete orphan object %s", storage_key)


def recordings_quarantine_for_number(
    *,
    number: str,
    facility_id: int | None,
    reason: str,
    actor: User,
    exempt_number_id: int | None = None,
    since: datetime | None = None,
) -> int:
    """Hold every recording of calls to ``number`` for the two-officer privilege review;
    return how many gained that hold.

    Playable recordings are quarantined; already quarantined ones (a pending claim, a flag)
    get the privileged reason too, so deciding their other reason cannot release them. Must
    run inside the transaction (and under the number lock) of the act that made the number
    privileged, so that there is no moment in which the number is verified and an earlier
    recording of it is still playable. ``since`` limits it to
    what was stored (and calls set up) from that instant on: a renewal quarantines what came
    after a lapse, without reopening what a privilege officer decided before it.
    """
    recordings = Recording.objects.select_for_update().filter(
        call__dialed_number=number, state__in=[RecordingState.STORED, RecordingState.QUARANTINED]
    )
    calls = Call.objects.filter(dialed_number=number, privileged=False)
    if since is not None:
        recordings = recordings.filter(created_at__gte=since)
        calls = calls.filter(Q(created_at__gte=since) | Q(recording__created_at__gte=since))
    if facility_id is not None:
        recordings = recordings.filter(call__facility_id=facility_id)
        calls = calls.filter(facility_id=facility_id)
    count = 0
    for recording in recordings.select_related("call"):
        count += hold_add(
            recording=recording,
            kind=HoldKind.PRIVILEGED,
            reason=reason,
            actor=actor,
            exempt_number_id=exempt_number_id,
        )
    calls.update(privileged=True, exempt_number_id=exempt_number_id)
    return count


def recording_plaintext(
    *, recording: Recording, byte_range: tuple[int, int] | None = None, actor: User | None = None
) -> Iterator[bytes]:
    """The verified plaintext of ``recording`` (or of ``byte_range``), chunk by chunk.

    Every chunk is authenticated before it is yielded and a full read is also checked against
    the SHA-256 in our database, so a caller never holds an unverified byte. A failure is
    audited (``recording.integrity_failed``, in its own transaction) and raised as
    RecordingIntegrityError: the caller refuses before sending anything, or ends the stream.
    """
    if recording.wrapped_key is None:
        raise RecordingIntegrityError("recording was purged")
    data_key = crypto.unwrap_data_key(recording.wrapped_key, storage_key=recording.storage_key)
    chunks = get_storage().iter_plaintext(
        recording.storage_key,
        data_key=data_key,
        byte_range=byte_range,
        sha256=recording.sha256,
        encryption=recording.encryption,
    )
    sent = 0
    try:
        for chunk in chunks:
            sent += len(chunk)
            yield chunk
    except RecordingIntegrityError as exc:
        logger.error("recording %s failed its integrity check: %s", recording.pk, exc)
        with transaction.atomic():
            record_event(
                action="recording.integrity_failed",
                actor=actor,
                target=recording,
                outcome=Outcome.FAILED,
                facility_id=recording.facility_id,
                details={"range": list(byte_range) if byte_range else None, "verified_bytes_sent": sent},
            )
        raise


def recording_read(*, recording: Recording, actor: User | None = None) -> bytes:
    """The whole verified plaintext of a recording (small files, tests, export packages)."""
    return b"".join(recording_plaintext(recording=recording, actor=actor))


def storage_orphans(*, older_than: datetime) -> list[str]:
    """Storage keys with no Recording row, written before ``older_than``."""
    orphans = []
    for key, modified in get_storage().list_keys():
        if modified < older_than and not Recording.objects.filter(storage_key=key).exists():
            orphans.append(key)
    return orphans
