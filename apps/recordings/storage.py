"""Where encrypted recordings live: local disk (embedded default) or S3 through boto3.

Both backends take the plaintext plus the object's data key, keep no plaintext at rest, and
release no byte they have not verified:

* both write the chunked authenticated format of ``chunked`` (v2): every 64 KiB chunk is
  AES-256-GCM sealed on its own, so a full read or any Range is verified chunk by chunk
  before it is yielded;
* on S3 the v2 object is sent with SSE-C on top (a key derived from the data key, not the
  sealing key): the server keeps only a salted HMAC of that key, so a copy of the bucket, a
  replica or an old version is unreadable without our database, and whatever bytes the
  server returns are still authenticated by us.

Objects written before v2 (``LEGACY_*``) stay readable through ``legacy``, which verifies the
whole object before releasing any of it; ``manage.py reencrypt_recordings`` rewrites them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from django.conf import settings

from apps.common.s3 import s3_client
from apps.recordings import chunked, legacy
from apps.recordings.errors import RecordingIntegrityError, StorageUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CHUNK_SIZE = 1024 * 1024
_KEY_PATTERN = re.compile(r"^[a-z0-9]{2}/[a-z0-9]{32}$")
# S3 error codes that say the object is not the one we wrote (missing, shorter, other key).
_NOT_OUR_OBJECT = {"NoSuchKey", "InvalidRange", "InvalidArgument", "404", "416"}
ByteRange = tuple[int, int] | None


class RecordingStorage(Protocol):
    name: str
    encryption: str

    def put(self, key: str, body: IO[bytes], *, size: int, data_key: bytes) -> None: ...

    def iter_plaintext(
        self,
        key: str,
        *,
        data_key: bytes,
        byte_range: ByteRange = None,
        sha256: str | None = None,
        encryption: str | None = None,
    ) -> Iterator[bytes]: ...

    def delete(self, key: str) -> None: ...

    def list_keys(self) -> Iterator[tuple[str, datetime]]: ...


def _checked_key(key: str) -> str:
    if not _KEY_PATTERN.match(key):
        raise ValueError(f"malformed storage key {key!r}")
    return key


def digest_checked(
    chunks: Iterator[bytes], sha256: str | None, key: str, byte_range: ByteRange = None
) -> Iterator[bytes]:
    """Yield a full read, holding its last piece back until the SHA-256 of the whole matches
    (a range, or a read without a digest, passes through: its chunks are authenticated).

    With v2 the chunk authentication already proves the object is the one we sealed; this
    also proves it is the audio whose digest the database (and the switch) recorded.
    """
    if sha256 is None or byte_range is not None:
        yield from chunks
        return
    hasher = hashlib.sha256()
    held: bytes | None = None
    for chunk in chunks:
        hasher.update(chunk)
        if held is not None:
            yield held
        held = chunk
    if hasher.hexdigest() != sha256.lower():
        raise RecordingIntegrityError(f"{key}: SHA-256 of the plaintext does not match")
    if held is not None:
        yield held


class LocalDiskStorage:
    name = "local"
    encryption = "aes-256-gcm-stream-v2"
    LEGACY_ENCRYPTION = "aes-256-gcm"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _checked_key(key)

    def put(self, key: str, body: IO[bytes], *, size: int, data_key: bytes) -> None:
        """Seal ``body`` under ``data_key``, which must be fresh (never used for another write)."""
        path = self._path(key)
        partial = path.with_name(path.name + ".part")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as out:
                for piece in chunked.seal(body, data_key=data_key, storage_key=key):
                    out.write(piece)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            raise StorageUnavailableError() from exc

    def iter_plaintext(
        self,
        key: str,
        *,
        data_key: bytes,
        byte_range: ByteRange = None,
        sha256: str | None = None,
        encryption: str | None = None,
    ) -> Iterator[bytes]:
        """Yield the verified plaintext, or only bytes ``first..last`` (inclusive).

        The file's own magic says its format (``encryption`` is not needed on disk). With
        ``sha256`` a full read is also checked against the plaintext digest.
        """
        yield from digest_checked(self._verified(key, data_key, byte_range), sha256, key, byte_range)

    def _verified(self, key: str, data_key: bytes, byte_range: ByteRange) -> Iterator[bytes]:
        path = self._path(key)
        try:
            src = open(path, "rb")  # noqa: SIM115 - closed by the with below
        except FileNotFoundError as exc:
            raise RecordingIntegrityError(f"{key}: the file is missing") from exc
        with src:
            magic = src.read(chunked.HEADER)
            size = os.fstat(src.fileno()).st_size
            if magic == chunked.MAGIC:
                _, _, start, end = chunked.record_span(size, byte_range)
                src.seek(start)
                records = _file_records(src, end - start)
                yield from chunked.open_records(
                    records, data_key=data_key, storage_key=key, object_size=size, byte_range=byte_range
                )
            elif magic == legacy.LOCAL_MAGIC:
                yield from legacy.local_v1(src, size, data_key=data_key, key=key, byte_range=byte_range)
            else:
                raise RecordingIntegrityError(f"{key}: not a recording file")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list_keys(self) -> Iterator[tuple[str, datetime]]:
        if not self.root.exists():
            return
        for path in self.root.glob("*/*"):
            key = path.relative_to(self.root).as_posix()
            if _KEY_PATTERN.match(key):
                yield key, datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def _file_records(src: IO[bytes], length: int) -> Iterator[bytes]:
    while length > 0:
        record = src.read(min(chunked.RECORD, length))
        if not record:
            return
        length -= len(record)
        yield record


class S3Storage:
    name = "s3"
    encryption = "sse-c+aes-256-gcm-stream-v2"
    LEGACY_ENCRYPTION = "sse-c-aes256"
    MULTIPART_THRESHOLD = 16 * CHUNK_SIZE

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def _sse(self, data_key: bytes, key: str | None = None) -> dict[str, str | bytes]:
        """SSE-C parameters: the raw data key for a legacy object (``key`` None), else a key
        derived for this object, so the server never sees what seals the chunks."""
        sse = data_key if key is None else chunked.sse_key(data_key, key)
        return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": sse}

    def put(self, key: str, body: IO[bytes], *, size: int, data_key: bytes) -> None:
        """Seal ``body`` under ``data_key`` (fresh for this write) and upload it with SSE-C."""
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError

        key = _checked_key(key)
        extra: dict[str, Any] = {**self._sse(data_key, key), "ContentType": "application/octet-stream"}
        sealed_size = chunked.sealed_size(size)
        # Only ciphertext is ever spooled (in memory up to the multipart threshold).
        with tempfile.SpooledTemporaryFile(max_size=self.MULTIPART_THRESHOLD + chunked.RECORD) as sealed:
            for piece in chunked.seal(body, data_key=data_key, storage_key=key):
                sealed.write(piece)
            if sealed.tell() != sealed_size:
                raise RecordingIntegrityError(f"{key}: sealed {sealed.tell()} bytes, expected {sealed_size}")
            sealed.seek(0)
            try:
                if sealed_size <= self.MULTIPART_THRESHOLD:
                    # One request; s3transfer's manager and thread pool cost more than the put.
                    self.client.put_object(
                        Bucket=self.bucket, Key=key, Body=sealed, ContentLength=sealed_size, **extra
                    )
                else:
                    config = TransferConfig(
                        multipart_threshold=self.MULTIPART_THRESHOLD, multipart_chunksize=8 * CHUNK_SIZE
                    )
                    self.client.upload_fileobj(sealed, self.bucket, key, ExtraArgs=extra, Config=config)
            except (BotoCoreError, ClientError) as exc:
                raise StorageUnavailableError() from exc

    def iter_plaintext(
        self,
        key: str,
        *,
        data_key: bytes,
        byte_range: ByteRange = None,
        sha256: str | None = None,
        encryption: str | None = None,
    ) -> Iterator[bytes]:
        """Yield the verified plaintext (or bytes ``first..last``). ``encryption`` is the
        format recorded with the object; a legacy object needs its ``sha256``."""
        key = _checked_key(key)
        if encryption == self.LEGACY_ENCRYPTION:
            if sha256 is None:
                raise RecordingIntegrityError(f"{key}: a legacy object cannot be verified without its digest")
            yield from legacy.s3_v1(
                self._get, key, sha256=sha256, byte_range=byte_range, sse=self._sse(data_key)
            )
            return
        yield from digest_checked(self._verified(key, data_key, byte_range), sha256, key, byte_range)

    def _get(self, key: str, sse: dict[str, str | bytes], start: int | None, end: int | None) -> Any:
        """GET bytes ``start..end`` (end exclusive; both None = the whole object).

        A missing object, a range past its end or an SSE-C key the object refuses means it is
        not what we wrote (integrity); anything else is S3 being unavailable (a 503)."""
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key, **sse}
        if start is not None and end is not None:
            kwargs["Range"] = f"bytes={start}-{end - 1}"
        try:
            return self.client.get_object(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NOT_OUR_OBJECT:
                raise RecordingIntegrityError(f"{key}: {exc}") from exc
            raise StorageUnavailableError() from exc
        except BotoCoreError as exc:
            raise StorageUnavailableError() from exc

    def _verified(self, key: str, data_key: bytes, byte_range: ByteRange) -> Iterator[bytes]:
        sse = self._sse(data_key, key)
        if byte_range is None:
            response = self._get(key, sse, None, None)
            size = int(response["ContentLength"])
            body = response["Body"]
            if body.read(chunked.HEADER) != chunked.MAGIC:
                raise RecordingIntegrityError(f"{key}: not a v2 recording object")
        else:
            # One ranged GET of the records holding the range; the object's size comes back in
            # Content-Range. It is not trusted: a wrong size only makes authentication fail.
            start, end = chunked.record_bounds(byte_range)
            response = self._get(key, sse, start, end)
            size = _total_size(response.get("ContentRange", ""), key)
            body = response["Body"]
        records = chunked.regroup(body.iter_chunks(chunked.RECORD), chunked.RECORD)
        yield from chunked.open_records(
            records, data_key=data_key, storage_key=key, object_size=size, byte_range=byte_range
        )

    def delete(self, key: str) -> None:
        """Delete every version of the object (versioned buckets keep old ones otherwise)."""
        paginator = self.client.get_paginator("list_object_versions")
        deleted = False
        for page in paginator.paginate(Bucket=self.bucket, Prefix=_checked_key(key)):
            for version in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if version["Key"] == key:
                    self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version["VersionId"])
                    deleted = True
        if not deleted:
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def list_keys(self) -> Iterator[tuple[str, datetime]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket):
            for obj in page.get("Contents", []):
                if _KEY_PATTERN.match(obj["Key"]):
                    yield obj["Key"], obj["LastModified"]

    def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)


def _total_size(content_range: str, key: str) -> int:
    _, _, total = content_range.rpartition("/")
    if not total.isdigit():
        raise RecordingIntegrityError(f"{key}: S3 answered a range without the object's size")
    return int(total)


@functools.cache
def get_storage() -> LocalDiskStorage | S3Storage:
    if settings.RECORDINGS_STORAGE == "s3":
        return S3Storage(s3_client(), settings.S3_BUCKET)
    return LocalDiskStorage(Path(settings.RECORDINGS_DIR))
