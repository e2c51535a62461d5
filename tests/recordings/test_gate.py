"""The storage gate (I1) through the switch API, on whatever storage the environment selects
(local disk by default, the real S3 server under `make test`)."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from apps.actions.registry import exempt_number_verify
from apps.audit.models import AuditEvent
from apps.calls.models import Call
from apps.inmates.models import Inmate
from apps.recordings.models import Recording, RecordingState
from apps.recordings.services import recording_read
from apps.recordings.storage import RecordingStorage
from apps.registry.models import ExemptStatus
from apps.registry.services import exempt_number_register
from tests.conftest import Switch
from tests.factories import AttorneyFactory, CallFactory, ExemptNumberFactory, InmateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def call(switch: Switch, inmate: Inmate) -> Call:
    r = switch.client.post(
        "/api/v1/calls/",
        {
            "switch_call_id": "sw-1",
            "inmate": inmate.booking_number,
            "dialed_number": "(718) 555-0142",
            "started_at": "2026-11-25T10:00:00Z",
        },
        format="json",
    )
    assert r.status_code == 201
    return Call.objects.get(pk=r.json()["id"])


def _put(
    switch: Switch,
    call_id: int,
    audio: bytes,
    *,
    content_type: str = "audio/wav",
    sha: str | None = "auto",
    **extra: Any,
) -> Any:
    headers = {}
    if sha == "auto":
        headers["Content-SHA256"] = hashlib.sha256(audio).hexdigest()
    elif sha is not None:
        headers["Content-SHA256"] = sha
    return switch.client.put(
        f"/api/v1/calls/{call_id}/recording/", audio, content_type=content_type, headers=headers, **extra
    )


def _keys(storage: RecordingStorage) -> set[str]:
    return {key for key, _ in storage.list_keys()}


def _verify_number(number: str, clerk: User) -> int:
    attorney = AttorneyFactory()
    exempt = exempt_number_register(attorney=attorney, number=number, actor=attorney.user)
    return exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)[1]


def test_audio_of_an_ordinary_call_is_stored_encrypted_and_reads_back(
    switch: Switch, call: Call, storage: RecordingStorage
) -> None:
    audio = os.urandom(300_000)
    r = _put(switch, call.pk, audio)
    assert r.status_code == 201, r.content
    recording = Recording.objects.get(call=call)
    assert recording.sha256 == hashlib.sha256(audio).hexdigest() == r.json()["sha256"]
    assert recording.size_bytes == len(audio)
    assert recording.storage_backend == storage.name
    assert str(call.inmate.booking_number) not in recording.storage_key
    assert recording_read(recording=recording) == audio
    assert AuditEvent.objects.filter(action="recording.stored", target_id=str(recording.pk)).exists()


def test_an_upload_without_a_checksum_header_is_refused_and_stores_nothing(
    switch: Switch, call: Call, storage: RecordingStorage
) -> None:
    before = _keys(storage)
    r = _put(switch, call.pk, b"RIFF" + os.urandom(1000), sha=None)
    assert r.status_code == 400 and r.json()["reason"] == "checksum_required"
    assert not Recording.objects.filter(call=call).exists() and _keys(storage) == before


def test_privileged_audio_is_refused_and_nothing_is_stored(
    switch: Switch, inmate: Inmate, clerk: User, storage: RecordingStorage
) -> None:
    ExemptNumberFactory(
        number="+12125550101", status=ExemptStatus.VERIFIED, verified_by=clerk, effective_from=timezone.now()
    )
    r = switch.client.post(
        "/api/v1/calls/",
        {
            "switch_call_id": "sw-2",
            "inmate": inmate.booking_number,
            "dialed_number": "212.555.0101",
            "started_at": "2026-11-25T10:00:00Z",
        },
        format="json",
    )
    assert r.json()["record"] is False
    before = _keys(storage)
    refused = _put(switch, r.json()["id"], os.urandom(5000))
    assert refused.status_code == 403
    assert refused.json()["reason"] == "privileged"
    assert Recording.objects.count() == 0
    assert _keys(storage) == before
    event = AuditEvent.objects.get(action="recording.upload_refused")
    assert event.outcome == "refused" and event.details["stage"] == "before_read"


def test_a_number_verified_after_setup_is_refused_at_upload(
    switch: Switch, call: Call, clerk: User, storage: RecordingStorage
) -> None:
    assert call.decision == "record"
    _verify_number("+17185550142", clerk)
    before = _keys(storage)
    r = _put(switch, call.pk, os.urandom(4000))
    assert r.status_code == 403 and r.json()["reason"] == "privileged"
    assert _keys(storage) == before
    call.refresh_from_db()
    assert call.privileged is True and call.decision == "record"


def test_a_recording_that_predates_verification_is_quarantined(
    switch: Switch, call: Call, clerk: User
) -> None:
    assert _put(switch, call.pk, os.urandom(4000)).status_code == 201
    assert _verify_number("718-555-0142", clerk) == 1
    recording = Recording.objects.get(call=call)
    assert recording.state == RecordingState.QUARANTINED
    assert recording.quarantined_at is not None
    call.refresh_from_db()
    assert call.privileged is True


def test_a_second_upload_is_a_conflict(switch: Switch, call: Call) -> None:
    assert _put(switch, call.pk, b"first-audio").status_code == 201
    r = _put(switch, call.pk, b"second-audio")
    assert r.status_code == 409 and r.json()["reason"] == "recording_exists"
    assert Recording.objects.get().size_bytes == len(b"first-audio")


def test_a_checksum_mismatch_stores_nothing(switch: Switch, call: Call, storage: RecordingStorage) -> None:
    before = _keys(storage)
    r = _put(switch, call.pk, b"audio-bytes", sha="0" * 64)
    assert r.status_code == 400 and r.json()["reason"] == "checksum_mismatch"
    assert r.json()["computed_sha256"] == hashlib.sha256(b"audio-bytes").hexdigest()
    assert Recording.objects.count() == 0 and _keys(storage) == before
    # The switch can retry with the right checksum: nothing was lost.
    assert _put(switch, call.pk, b"audio-bytes").status_code == 201


@pytest.mark.parametrize(
    ("kwargs", "status", "reason"),
    [
        ({"audio": b""}, 400, "empty_body"),
        ({"content_type": "text/plain"}, 415, "unsupported_media_type"),
        ({"content_type": "application/json"}, 415, "unsupported_media_type"),
        ({"sha": "not-hex"}, 400, "invalid_checksum_header"),
    ],
)
def test_bad_uploads_get_a_4xx_with_a_reason(
    switch: Switch, call: Call, kwargs: dict[str, Any], status: int, reason: str
) -> None:
    audio = kwargs.pop("audio", b"some audio")
    r = _put(switch, call.pk, audio, **kwargs)
    assert r.status_code == status, r.content
    assert r.json()["reason"] == reason
    assert Recording.objects.count() == 0


def test_an_oversized_upload_is_refused(
    switch: Switch, call: Call, settings: Any, storage: RecordingStorage
) -> None:
    settings.RECORDING_MAX_BYTES = 1000
    before = _keys(storage)
    r = _put(switch, call.pk, os.urandom(1001))
    assert r.status_code == 413 and r.json()["reason"] == "too_large"
    # Also when the body is larger than a (lying) Content-Length-free stream says.
    r = _put(switch, call.pk, os.urandom(1001), CONTENT_LENGTH="")
    assert r.status_code in {400, 413}
    assert Recording.objects.count() == 0 and _keys(storage) == before


def test_a_call_of_another_facility_cannot_receive_audio(
    switch: Switch, other_facility: Any, storage: RecordingStorage
) -> None:
    foreign = CallFactory(inmate=InmateFactory(facility=other_facility))
    r = _put(switch, foreign.pk, b"audio")
    assert r.status_code == 404
    assert Recording.objects.count() == 0


def test_a_failed_storage_write_leaves_no_recording_row(
    switch: Switch, call: Call, settings: Any, tmp_path: Any
) -> None:
    from apps.recordings.storage import get_storage

    if settings.RECORDINGS_STORAGE == "s3":
        settings.S3_BUCKET = "no-such-bucket-callplatform"
    else:
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("x")
        settings.RECORDINGS_DIR = blocker
    get_storage.cache_clear()
    r = _put(switch, call.pk, os.urandom(2000))
    assert r.status_code == 503 and r.json()["reason"] == "storage_unavailable"
    assert Recording.objects.count() == 0


@pytest.mark.postgres
def test_the_database_refuses_a_stored_recording_of_a_privileged_call(clerk: User) -> None:
    """The trigger backstop: even code that skips the gate cannot store privileged audio."""
    from django.db import DatabaseError, transaction

    call = CallFactory(dialed_number="+12125550177")
    ExemptNumberFactory(
        number="+12125550177",
        status=ExemptStatus.VERIFIED,
        verified_by=clerk,
        effective_from=timezone.now() - timezone.timedelta(minutes=1),
    )
    with pytest.raises(DatabaseError, match="verified attorney number"), transaction.atomic():
        Recording.objects.create(
            call=call,
            storage_backend="s3",
            storage_key="ab/" + "a" * 32,
            size_bytes=1,
            sha256="0" * 64,
            content_type="audio/wav",
            encryption="x",
            wrapped_key=b"k",
        )
    assert connection.vendor == "postgresql"


@pytest.mark.postgres
def test_a_failed_commit_after_the_write_leaves_no_object(
    switch: Switch, call: Call, storage: RecordingStorage
) -> None:
    """Fault injected in the database itself: the row insert fails after the object was put."""
    import io

    from django.db import DatabaseError

    from apps.recordings.services import recording_store

    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE FUNCTION test_fail_insert() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_fail_insert BEFORE INSERT ON recordings_recording
                FOR EACH ROW EXECUTE FUNCTION test_fail_insert();
        """)
    before = _keys(storage)
    with pytest.raises(DatabaseError, match="injected failure"):
        recording_store(
            call=call,
            body=io.BytesIO(b"audio" * 100),
            content_type="audio/wav",
            content_length=500,
            expected_sha256=None,
            actor=switch.user,
        )
    assert _keys(storage) == before
    assert Recording.objects.count() == 0


@pytest.mark.postgres
def test_the_database_refuses_a_stored_recording_after_a_verified_claim(clerk: User) -> None:
    from django.db import DatabaseError, transaction

    from apps.registry.models import InmateClaim

    call = CallFactory(dialed_number="+12125550178")
    InmateClaim.objects.create(
        facility=call.facility,
        inmate=call.inmate,
        number=call.dialed_number,
        status="verified",
        reported_by=clerk,
        decided_by=clerk,
        decided_at=timezone.now(),
    )
    with pytest.raises(DatabaseError, match="inmate claim"), transaction.atomic():
        Recording.objects.create(
            call=call,
            facility=call.facility,
            inmate=call.inmate,
            storage_backend="s3",
            storage_key="ab/" + "b" * 32,
            size_bytes=1,
            sha256="0" * 64,
            content_type="audio/wav",
            encryption="x",
            wrapped_key=b"k",
        )


@pytest.mark.postgres
def test_the_trigger_applies_the_registrys_own_window_rule() -> None:
    """The backstop and the privilege rule cannot drift apart (issue 9): the installed trigger
    holds REGISTRATION_COVERS_SQL, read at now()."""
    from apps.registry.privilege import REGISTRATION_COVERS_SQL

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef('recordings_refuse_privileged'::regproc)")
        installed = " ".join(cursor.fetchone()[0].split())
    assert " ".join(REGISTRATION_COVERS_SQL.format(at="now()").split()) in installed


@pytest.mark.postgres
def test_the_database_refuses_audio_while_a_renewal_is_pending_past_the_window(clerk: User) -> None:
    from django.db import DatabaseError, transaction

    now = timezone.now()
    call = CallFactory(dialed_number="+12125550179")
    ExemptNumberFactory(
        number="+12125550179",
        status=ExemptStatus.VERIFIED,
        verified_by=clerk,
        effective_from=now - timezone.timedelta(days=60),
        effective_until=now - timezone.timedelta(minutes=1),
        reminder_sent_at=now - timezone.timedelta(days=31),
        renewal_requested_at=now - timezone.timedelta(days=2),
    )
    with pytest.raises(DatabaseError, match="verified attorney number"), transaction.atomic():
        Recording.objects.create(
            call=call,
            facility=call.facility,
            inmate=call.inmate,
            storage_backend="s3",
            storage_key="ab/" + "c" * 32,
            size_bytes=1,
            sha256="0" * 64,
            content_type="audio/wav",
            encryption="x",
            wrapped_key=b"k",
        )
