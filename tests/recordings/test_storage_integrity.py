"""Issue 13, findings 3 and 4: nothing unauthenticated is served, nothing truncated is stored.

Finding 3: a stored object altered at rest (a flipped byte) must never reach a listener, nor a
Range of it, nor an export package; the failure is audited. Finding 4: an upload whose body is
shorter than its Content-Length, or that names no checksum, is refused and stores nothing.
The tampering works on the raw stored bytes of whichever backend the run uses (local disk, or
the S3 object through its own SSE-C key), so the same tests cover both.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.facilities.models import Facility
from apps.inmates.services import inmate_grant_create
from apps.recordings import crypto
from apps.recordings.errors import IncompleteBodyError, RecordingIntegrityError
from apps.recordings.models import Recording
from apps.recordings.services import recording_store
from apps.recordings.storage import RecordingStorage, S3Storage
from tests.actors import Actor, staff_member
from tests.conftest import Switch
from tests.factories import CallFactory, InmateFactory

SMALL = os.urandom(2000)
LARGE = os.urandom(200_000)  # several 64 KiB chunks


def _raw(storage: Any, key: str, data_key: bytes) -> bytes:
    if isinstance(storage, S3Storage):
        sse = storage._sse(data_key, key)  # the object's own SSE-C key
        return storage.client.get_object(Bucket=storage.bucket, Key=key, **sse)["Body"].read()
    return bytes((storage.root / key).read_bytes())


def _write_raw(storage: Any, key: str, data_key: bytes, raw: bytes) -> None:
    if isinstance(storage, S3Storage):
        storage.client.put_object(Bucket=storage.bucket, Key=key, Body=raw, **storage._sse(data_key, key))
    else:
        (storage.root / key).write_bytes(raw)


def _flip(storage: Any, recording: Recording, *, from_end: int) -> None:
    """Flip one stored (encrypted) byte, ``from_end`` bytes before the end of the object."""
    data_key = crypto.unwrap_data_key(bytes(recording.wrapped_key), storage_key=recording.storage_key)
    raw = bytearray(_raw(storage, recording.storage_key, data_key))
    raw[len(raw) - from_end] ^= 0x01
    _write_raw(storage, recording.storage_key, data_key, bytes(raw))


@pytest.fixture
def scene(facility: Facility, store_recording: Any) -> dict[str, Any]:
    admin = staff_member(
        "int-admin",
        "facility_admin",
        facility,
        perms=["manage_facility", "view_facility_calls", "approve_facility_exports"],
    )
    investigator = staff_member("int-investigator", "investigator", facility, perms=["view_facility_calls"])
    inmate = InmateFactory(facility=facility)
    inmate_grant_create(
        granted_by=admin.user,
        investigator=investigator.user,
        inmate=inmate,
        case_reference="INT-1",
        expires_at=timezone.now() + timedelta(days=1),
    )
    small = store_recording(CallFactory(inmate=inmate), SMALL)
    large = store_recording(CallFactory(inmate=inmate), LARGE)
    return {"admin": admin, "investigator": investigator, "small": small, "large": large}


def _stream(who: Actor, recording: Recording, **headers: str) -> Any:
    url = who.client.post(f"/api/v1/recordings/{recording.pk}/playback/").json()["url"]
    parsed = urlparse(url)
    return who.client.get(f"{parsed.path}?{parsed.query}", headers=headers)


def _received_until_failure(chunks: Iterator[bytes]) -> tuple[bytes, bool]:
    received = bytearray()
    try:
        for chunk in chunks:
            received += chunk
    except RecordingIntegrityError:
        return bytes(received), True
    return bytes(received), False


# --- Finding 3: integrity of what is served


@pytest.mark.django_db
def test_a_range_over_a_flipped_byte_is_refused_before_any_byte_is_sent(
    scene: dict[str, Any], storage: RecordingStorage
) -> None:
    recording = scene["small"]
    _flip(storage, recording, from_end=len(SMALL) // 2)
    who = scene["investigator"]
    r = _stream(who, recording, Range=f"bytes={len(SMALL) // 2 - 40}-{len(SMALL) // 2 + 40}")
    assert r.status_code == 502
    assert r.json()["reason"] == "integrity_failed"
    event = AuditEvent.objects.get(action="recording.integrity_failed")
    assert event.target_id == str(recording.pk) and event.outcome == "failed"


@pytest.mark.django_db
def test_a_full_read_of_a_flipped_object_is_refused_before_any_byte_is_sent(
    scene: dict[str, Any], storage: RecordingStorage
) -> None:
    recording = scene["small"]
    _flip(storage, recording, from_end=len(SMALL) // 2)
    r = _stream(scene["investigator"], recording)
    assert r.status_code == 502
    assert r.json()["reason"] == "integrity_failed"
    assert AuditEvent.objects.filter(action="recording.integrity_failed").count() == 1


@pytest.mark.django_db
def test_a_failure_after_the_first_chunk_ends_the_stream_having_sent_only_verified_bytes(
    scene: dict[str, Any], storage: RecordingStorage
) -> None:
    recording = scene["large"]
    _flip(storage, recording, from_end=100)  # inside the last chunk
    r = _stream(scene["investigator"], recording)
    assert r.status_code == 200  # the first chunk verified; headers are gone by the time it fails
    received, failed = _received_until_failure(iter(r.streaming_content))
    assert failed, "the stream must end with an error, not a complete-looking body"
    assert len(received) < len(LARGE)
    assert LARGE.startswith(received), "a byte that was never verified reached the listener"
    assert AuditEvent.objects.filter(action="recording.integrity_failed").count() == 1


@pytest.mark.django_db
def test_an_export_package_altered_at_rest_is_never_handed_out(
    scene: dict[str, Any], django_capture_on_commit_callbacks: Any, celery_eager: None, settings: Any
) -> None:
    investigator, admin = scene["investigator"], scene["admin"]
    r = investigator.client.post(
        "/api/v1/exports/",
        {"recording_ids": [scene["small"].pk], "case_reference": "INT-1", "justification": "Court order"},
        format="json",
    )
    export_id = r.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.client.post(f"/api/v1/exports/{export_id}/approve/").status_code == 200
    from apps.access.models import ExportRequest

    export = ExportRequest.objects.get(pk=export_id)
    assert export.status == "ready"
    path = settings.EXPORT_PACKAGE_DIR / export.package_name
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    download = investigator.client.get(f"/api/v1/exports/{export_id}/download/")
    received = b""
    if download.status_code == 200:
        received, failed = _received_until_failure(iter(download.streaming_content))
        assert failed
    assert received == b"", "unauthenticated package bytes reached the requester"
    # Refused before any header, as playback is, and the altered package is gone.
    assert download.status_code == 502 and download.json()["reason"] == "integrity_failed"
    assert not path.exists()
    from apps.audit.models import AuditEvent

    assert AuditEvent.objects.filter(action="export.integrity_failed", target_id=str(export_id)).exists()


# --- Finding 4: a dropped upload is never stored as complete


def _keys(storage: RecordingStorage) -> set[str]:
    return {key for key, _ in storage.list_keys()}  # the S3 bucket is shared between tests


def _put_short(switch: Switch, call_id: int, audio: bytes, *, sent: int, sha: bool) -> Any:
    headers = {"Content-SHA256": hashlib.sha256(audio).hexdigest()} if sha else {}
    return switch.client.put(
        f"/api/v1/calls/{call_id}/recording/",
        audio,
        content_type="audio/wav",
        headers=headers,
        CONTENT_LENGTH=str(len(audio)),
        **{"wsgi.input": io.BytesIO(audio[:sent])},
    )


def _setup_call(switch: Switch, inmate_booking: str, switch_call_id: str) -> int:
    r = switch.client.post(
        "/api/v1/calls/",
        {
            "switch_call_id": switch_call_id,
            "inmate": inmate_booking,
            "dialed_number": "(718) 555-0142",
            "started_at": "2026-11-25T10:00:00Z",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    return int(r.json()["id"])


@pytest.mark.django_db
def test_a_short_body_is_refused_and_the_retry_is_stored(switch: Switch, storage: RecordingStorage) -> None:
    inmate = InmateFactory(facility=switch.facility)
    call_id = _setup_call(switch, inmate.booking_number, "short-1")
    audio = os.urandom(100_000)
    before = _keys(storage)
    r = _put_short(switch, call_id, audio, sent=4000, sha=True)
    assert r.status_code == 400
    assert r.json()["reason"] == "incomplete_body"
    assert not Recording.objects.filter(call_id=call_id).exists()
    assert _keys(storage) == before
    retry = _put_short(switch, call_id, audio, sent=len(audio), sha=True)
    assert retry.status_code == 201, retry.content
    assert retry.json()["size_bytes"] == len(audio)


@pytest.mark.django_db
def test_an_upload_without_a_checksum_is_refused(switch: Switch, storage: RecordingStorage) -> None:
    inmate = InmateFactory(facility=switch.facility)
    call_id = _setup_call(switch, inmate.booking_number, "nosha-1")
    audio = os.urandom(100_000)
    r = _put_short(switch, call_id, audio, sent=4000, sha=False)
    assert r.status_code == 400
    assert r.json()["reason"] == "checksum_required"
    assert not Recording.objects.filter(call_id=call_id).exists()


@pytest.mark.django_db
def test_the_gate_refuses_a_body_shorter_than_its_declared_length(
    facility: Facility, storage: RecordingStorage
) -> None:
    from tests.factories import UserFactory

    call = CallFactory(inmate=InmateFactory(facility=facility))
    before = _keys(storage)
    with pytest.raises(IncompleteBodyError):
        recording_store(
            call=call,
            body=io.BytesIO(b"RIFF" * 1000),
            content_type="audio/wav",
            content_length=100_000,
            expected_sha256=None,
            actor=UserFactory(),
        )
    assert not Recording.objects.filter(call=call).exists()
    assert _keys(storage) == before


def _raw_put(base_url: str, path: str, token: str, *, declared: int, body: bytes, sha: str | None) -> bytes:
    """A PUT over a real socket that sends ``body`` and half-closes, as a dropped switch does."""
    parsed = urlparse(base_url)
    lines = [
        f"PUT {path} HTTP/1.1",
        f"Host: {parsed.hostname}:{parsed.port}",
        f"Authorization: Token {token}",
        "Content-Type: audio/wav",
        f"Content-Length: {declared}",
        "Connection: close",
    ]
    if sha:
        lines.append(f"Content-SHA256: {sha}")
    with socket.create_connection((parsed.hostname, parsed.port), timeout=20) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sha", [True, False], ids=["with-checksum", "without-checksum"])
def test_a_half_closed_upload_over_a_real_socket_stores_nothing(
    live_server: Any, facility: Facility, storage: RecordingStorage, sha: bool
) -> None:
    from tests.factories import SwitchAccountFactory, UserFactory, token_for

    account = SwitchAccountFactory(facility=facility, user=UserFactory(username="switch-live"))
    inmate = InmateFactory(facility=facility)
    call = CallFactory(inmate=inmate)
    audio = os.urandom(100_000)
    before = _keys(storage)
    answer = _raw_put(
        live_server.url,
        f"/api/v1/calls/{call.pk}/recording/",
        token_for(account.user),
        declared=len(audio),
        body=audio[:4000],
        sha=hashlib.sha256(audio).hexdigest() if sha else None,
    )
    status_line = answer.split(b"\r\n", 1)[0]
    assert b" 400 " in status_line, answer[:300]
    assert (b"incomplete_body" if sha else b"checksum_required") in answer
    assert not Recording.objects.filter(call=call).exists()
    assert _keys(storage) == before


@pytest.fixture
def gunicorn_url(settings: Any, tmp_path: Any) -> Iterator[str]:
    """gunicorn (as deployed and benchmarked) serving this test's database and storage."""
    import subprocess
    import sys
    import time

    from django.db import connection

    db = connection.settings_dict
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "callplatform.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "RECORDINGS_DIR": str(settings.RECORDINGS_DIR),
        "S3_BUCKET": settings.S3_BUCKET,
    }
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(  # noqa: S603 - fixed argv
        [
            sys.executable,
            "-m",
            "gunicorn",
            "callplatform.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError((tmp_path / "gunicorn.log").read_text()) from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_half_closed_upload_to_gunicorn_stores_nothing_and_the_retry_succeeds(
    gunicorn_url: str, facility: Facility, storage: RecordingStorage
) -> None:
    from tests.factories import SwitchAccountFactory, UserFactory, token_for

    account = SwitchAccountFactory(facility=facility, user=UserFactory(username="switch-gunicorn"))
    call = CallFactory(inmate=InmateFactory(facility=facility))
    token = token_for(account.user)
    audio = os.urandom(100_000)
    sha = hashlib.sha256(audio).hexdigest()
    path = f"/api/v1/calls/{call.pk}/recording/"
    before = _keys(storage)
    # The reproduction: no checksum, 4,000 of 100,000 bytes, half-closed (was a 201).
    bare = _raw_put(gunicorn_url, path, token, declared=len(audio), body=audio[:4000], sha=None)
    assert bare.split(b"\r\n", 1)[0].endswith(b"400 Bad Request"), bare[:300]
    assert b"checksum_required" in bare
    answer = _raw_put(gunicorn_url, path, token, declared=len(audio), body=audio[:4000], sha=sha)
    assert answer.split(b"\r\n", 1)[0].endswith(b"400 Bad Request"), answer[:300]
    assert b"incomplete_body" in answer
    assert not Recording.objects.filter(call=call).exists()
    assert _keys(storage) == before
    retry = _raw_put(gunicorn_url, path, token, declared=len(audio), body=audio, sha=sha)
    assert b" 201 " in retry.split(b"\r\n", 1)[0], retry[:300]
    assert Recording.objects.get(call=call).size_bytes == len(audio)
