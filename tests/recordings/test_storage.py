from __future__ import annotations

import hashlib
import io
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.recordings import chunked, crypto, legacy
from apps.recordings.errors import RecordingIntegrityError
from apps.recordings.models import Recording
from apps.recordings.services import new_storage_key, recording_read, storage_orphans
from apps.recordings.storage import LocalDiskStorage, RecordingStorage, S3Storage
from tests.factories import CallFactory, UserFactory


def test_local_files_hold_no_plaintext_and_read_back(tmp_path: Path) -> None:
    storage = LocalDiskStorage(tmp_path)
    key, data_key = new_storage_key(), crypto.new_data_key()
    audio = b"RIFF-plaintext-marker-" * 5000
    storage.put(key, io.BytesIO(audio), size=len(audio), data_key=data_key)
    on_disk = (tmp_path / key).read_bytes()
    assert b"plaintext-marker" not in on_disk
    assert b"".join(storage.iter_plaintext(key, data_key=data_key)) == audio


def test_a_tampered_local_file_is_detected(tmp_path: Path) -> None:
    storage = LocalDiskStorage(tmp_path)
    key, data_key = new_storage_key(), crypto.new_data_key()
    storage.put(key, io.BytesIO(b"x" * 10000), size=10000, data_key=data_key)
    raw = bytearray((tmp_path / key).read_bytes())
    raw[100] ^= 1
    (tmp_path / key).write_bytes(bytes(raw))
    with pytest.raises(RecordingIntegrityError):
        b"".join(storage.iter_plaintext(key, data_key=data_key))


def test_a_wrapped_key_only_unwraps_for_its_own_object() -> None:
    data_key = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(data_key, storage_key="ab/" + "1" * 32)
    assert crypto.unwrap_data_key(wrapped, storage_key="ab/" + "1" * 32) == data_key
    with pytest.raises(crypto.KeyUnwrapError):
        crypto.unwrap_data_key(wrapped, storage_key="ab/" + "2" * 32)


def test_storage_keys_are_random_and_checked(tmp_path: Path) -> None:
    assert new_storage_key() != new_storage_key()
    with pytest.raises(ValueError):
        LocalDiskStorage(tmp_path).delete("../../etc/passwd")


@pytest.mark.s3
def test_an_s3_object_cannot_be_read_without_its_key(storage: RecordingStorage) -> None:
    from botocore.exceptions import ClientError

    assert isinstance(storage, S3Storage)
    key, data_key = new_storage_key(), crypto.new_data_key()
    storage.put(key, io.BytesIO(b"secret audio"), size=12, data_key=data_key)
    try:
        with pytest.raises(ClientError):
            storage.client.get_object(Bucket=storage.bucket, Key=key)
        with pytest.raises(RecordingIntegrityError):
            b"".join(storage.iter_plaintext(key, data_key=crypto.new_data_key()))
        assert b"".join(storage.iter_plaintext(key, data_key=data_key)) == b"secret audio"
    finally:
        storage.delete(key)
    assert key not in {k for k, _ in storage.list_keys()}


@pytest.mark.django_db
def test_reconcile_storage_removes_objects_without_a_row(storage: RecordingStorage) -> None:
    key = new_storage_key()
    storage.put(key, io.BytesIO(os.urandom(100)), size=100, data_key=crypto.new_data_key())
    future = timezone.now() + timedelta(minutes=5)
    assert key in storage_orphans(older_than=future)
    assert key not in storage_orphans(older_than=timezone.now() - timedelta(hours=1))
    out = io.StringIO()
    operator = UserFactory(username="operator", is_superuser=True)
    call_command("reconcile_storage", "--min-age-minutes", "0", "--as", operator.username, stdout=out)
    assert key in out.getvalue()
    assert key not in {k for k, _ in storage.list_keys()}


# --- The chunked format (v2) and the objects written before it (v1)

CHUNK = chunked.CHUNK


def _sealed(storage: RecordingStorage, audio: bytes) -> tuple[str, bytes]:
    key, data_key = new_storage_key(), crypto.new_data_key()
    storage.put(key, io.BytesIO(audio), size=len(audio), data_key=data_key)
    return key, data_key


def _raw(storage: RecordingStorage, key: str, data_key: bytes) -> bytes:
    if isinstance(storage, S3Storage):
        sse = storage._sse(data_key, key)
        return storage.client.get_object(Bucket=storage.bucket, Key=key, **sse)["Body"].read()  # type: ignore[arg-type]
    assert isinstance(storage, LocalDiskStorage)
    return (storage.root / key).read_bytes()


def _replace(
    storage: RecordingStorage, key: str, data_key: bytes, raw: bytes, *, sse_key: bytes | None = None
) -> None:
    if isinstance(storage, S3Storage):
        sse = storage._sse(data_key, key) if sse_key is None else storage._sse(sse_key)
        storage.client.put_object(Bucket=storage.bucket, Key=key, Body=raw, **sse)  # type: ignore[arg-type]
    else:
        assert isinstance(storage, LocalDiskStorage)
        (storage.root / key).parent.mkdir(parents=True, exist_ok=True)
        (storage.root / key).write_bytes(raw)


def _read(storage: RecordingStorage, key: str, data_key: bytes, **kwargs: object) -> bytes:
    return b"".join(storage.iter_plaintext(key, data_key=data_key, **kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5])
def test_every_size_round_trips_and_every_range_reads_back(storage: RecordingStorage, size: int) -> None:
    audio = os.urandom(size)
    key, data_key = _sealed(storage, audio)
    try:
        assert len(_raw(storage, key, data_key)) == chunked.sealed_size(size)
        assert _read(storage, key, data_key) == audio
        for first, last in {
            (0, 0),
            (0, size - 1),
            (size - 1, size - 1),
            (CHUNK - 2, CHUNK + 1),
            (1, 2 * CHUNK),
        }:
            last = min(last, size - 1)
            if first <= last:
                assert _read(storage, key, data_key, byte_range=(first, last)) == audio[first : last + 1]
    finally:
        storage.delete(key)


def _chunks(raw: bytes) -> list[bytes]:
    body = raw[chunked.HEADER :]
    return [body[i : i + chunked.RECORD] for i in range(0, len(body), chunked.RECORD)]


@pytest.mark.parametrize("attack", ["drop_last_chunk", "swap_chunks", "repeat_a_chunk", "append_a_chunk"])
def test_moving_whole_chunks_is_detected(storage: RecordingStorage, attack: str) -> None:
    audio = os.urandom(3 * CHUNK)
    key, data_key = _sealed(storage, audio)
    records = _chunks(_raw(storage, key, data_key))
    tampered = {
        "drop_last_chunk": records[:-1],
        "swap_chunks": [records[1], records[0], records[2]],
        "repeat_a_chunk": [records[0], records[0], records[2]],
        "append_a_chunk": [*records, records[1]],
    }[attack]
    _replace(storage, key, data_key, chunked.MAGIC + b"".join(tampered))
    try:
        with pytest.raises(RecordingIntegrityError):
            _read(storage, key, data_key)
        # A range over a moved chunk fails too (after appending, the old last chunk was sealed
        # final; untouched chunks elsewhere are still authentic bytes and may be served).
        near = (3 * CHUNK - 10, 3 * CHUNK - 1) if attack == "append_a_chunk" else (CHUNK - 10, CHUNK + 10)
        with pytest.raises(RecordingIntegrityError):
            _read(storage, key, data_key, byte_range=near)
    finally:
        storage.delete(key)


def test_a_range_of_an_intact_chunk_still_plays_when_another_chunk_is_damaged(
    storage: RecordingStorage,
) -> None:
    audio = os.urandom(3 * CHUNK)
    key, data_key = _sealed(storage, audio)
    raw = bytearray(_raw(storage, key, data_key))
    raw[-100] ^= 1  # inside the last chunk
    _replace(storage, key, data_key, bytes(raw))
    try:
        assert _read(storage, key, data_key, byte_range=(10, 99)) == audio[10:100]
        with pytest.raises(RecordingIntegrityError):
            _read(storage, key, data_key, byte_range=(3 * CHUNK - 50, 3 * CHUNK - 1))
    finally:
        storage.delete(key)


def test_a_full_read_is_held_to_the_plaintext_digest(storage: RecordingStorage) -> None:
    audio = os.urandom(CHUNK + 10)
    key, data_key = _sealed(storage, audio)
    try:
        assert _read(storage, key, data_key, sha256=hashlib.sha256(audio).hexdigest()) == audio
        released = []
        with pytest.raises(RecordingIntegrityError):
            for piece in storage.iter_plaintext(key, data_key=data_key, sha256="0" * 64):
                released.append(piece)
        assert b"".join(released) == audio[:CHUNK]  # the last piece was held back
    finally:
        storage.delete(key)


def _write_v1(storage: RecordingStorage, key: str, data_key: bytes, audio: bytes) -> str:
    """An object as the code before v2 wrote it; returns the Recording.encryption it had."""
    if isinstance(storage, S3Storage):
        _replace(storage, key, data_key, audio, sse_key=data_key)
        return S3Storage.LEGACY_ENCRYPTION
    nonce = os.urandom(12)
    encryptor = Cipher(algorithms.AES(data_key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(key.encode())
    sealed = encryptor.update(audio) + encryptor.finalize()
    _replace(storage, key, data_key, legacy.LOCAL_MAGIC + nonce + sealed + encryptor.tag)
    return LocalDiskStorage.LEGACY_ENCRYPTION


def test_objects_written_before_v2_still_read_back_in_full_and_in_ranges(storage: RecordingStorage) -> None:
    audio = os.urandom(3 * legacy.BLOCK + 7)
    key, data_key = new_storage_key(), crypto.new_data_key()
    digest = hashlib.sha256(audio).hexdigest()
    encryption = _write_v1(storage, key, data_key, audio)
    try:
        assert _read(storage, key, data_key, sha256=digest, encryption=encryption) == audio
        for first, last in [
            (0, 9),
            (legacy.BLOCK - 3, 2 * legacy.BLOCK + 3),
            (len(audio) - 5, len(audio) - 1),
        ]:
            part = _read(
                storage, key, data_key, sha256=digest, encryption=encryption, byte_range=(first, last)
            )
            assert part == audio[first : last + 1]
    finally:
        storage.delete(key)


def test_a_damaged_v1_object_releases_nothing(storage: RecordingStorage) -> None:
    audio = os.urandom(2 * legacy.BLOCK)
    key, data_key = new_storage_key(), crypto.new_data_key()
    encryption = _write_v1(storage, key, data_key, audio)
    digest = hashlib.sha256(audio).hexdigest()
    # One byte flipped near the end, far from the range asked for below.
    if isinstance(storage, S3Storage):
        _write_v1(storage, key, data_key, audio[:-10] + bytes([audio[-10] ^ 1]) + audio[-9:])
    else:
        assert isinstance(storage, LocalDiskStorage)
        raw = bytearray((storage.root / key).read_bytes())
        raw[-30] ^= 1
        (storage.root / key).write_bytes(bytes(raw))
    try:
        for byte_range in [None, (0, 9)]:
            released = []
            with pytest.raises(RecordingIntegrityError):
                for piece in storage.iter_plaintext(
                    key, data_key=data_key, sha256=digest, encryption=encryption, byte_range=byte_range
                ):
                    released.append(piece)
            assert released == []
    finally:
        storage.delete(key)


def _as_v1(storage: RecordingStorage, recording: Recording, audio: bytes) -> None:
    """Turn a stored recording back into what the code before v2 left in storage."""
    data_key = crypto.unwrap_data_key(bytes(recording.wrapped_key), storage_key=recording.storage_key)
    encryption = _write_v1(storage, recording.storage_key, data_key, audio)
    Recording.objects.filter(pk=recording.pk).update(encryption=encryption)
    recording.refresh_from_db()


@pytest.mark.django_db
def test_reencrypt_recordings_rewrites_v1_recordings_as_v2(
    storage: RecordingStorage, store_recording: Any, django_capture_on_commit_callbacks: Any
) -> None:
    audio = os.urandom(2 * CHUNK + 3)
    recording = store_recording(CallFactory(), audio)
    _as_v1(storage, recording, audio)
    old_key = recording.storage_key
    assert recording_read(recording=recording) == audio  # still readable before the rewrite
    admin = UserFactory(username="operator", is_superuser=True)
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reencrypt_recordings", "--as", "operator", stdout=out)
    assert "1 re-encrypted" in out.getvalue()
    recording.refresh_from_db()
    assert recording.encryption == storage.encryption and recording.storage_key != old_key
    assert recording_read(recording=recording) == audio
    assert old_key not in {k for k, _ in storage.list_keys()}
    event = AuditEvent.objects.get(action="recording.reencrypted")
    assert event.actor_id == admin.pk and event.target_id == str(recording.pk)
    again = io.StringIO()
    call_command("reencrypt_recordings", "--as", "operator", "--dry-run", stdout=again)
    assert again.getvalue().startswith("0 recording(s)")


@pytest.mark.django_db
def test_reencrypt_recordings_never_launders_a_damaged_recording(
    storage: RecordingStorage, store_recording: Any
) -> None:
    audio = os.urandom(5000)
    recording = store_recording(CallFactory(), audio)
    _as_v1(
        storage, recording, audio[:-1] + bytes([audio[-1] ^ 1]) if isinstance(storage, S3Storage) else audio
    )
    if isinstance(storage, LocalDiskStorage):
        raw = bytearray((storage.root / recording.storage_key).read_bytes())
        raw[40] ^= 1
        (storage.root / recording.storage_key).write_bytes(bytes(raw))
    UserFactory(username="operator", is_superuser=True)
    with pytest.raises(CommandError, match="integrity"):
        call_command("reencrypt_recordings", "--as", "operator", stdout=io.StringIO(), stderr=io.StringIO())
    unchanged = Recording.objects.get(pk=recording.pk)
    assert (unchanged.storage_key, unchanged.encryption) == (recording.storage_key, recording.encryption)
    assert AuditEvent.objects.filter(action="recording.integrity_failed").count() == 1
    with pytest.raises(CommandError):
        call_command("reencrypt_recordings", "--as", "nobody")
