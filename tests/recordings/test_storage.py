from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.recordings import crypto
from apps.recordings.errors import RecordingIntegrityError
from apps.recordings.services import new_storage_key, storage_orphans
from apps.recordings.storage import LocalDiskStorage, RecordingStorage, S3Storage
from tests.factories import UserFactory


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
        with pytest.raises(ClientError):
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
