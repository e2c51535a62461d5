"""Where encrypted recordings live: local disk (embedded default) or S3 through boto3.

Both backends take the plaintext plus the recording's
data key and make sure no plaintext is ever at rest:

* local disk: AES-256-GCM in our process (file = magic, nonce, ciphertext, tag);
* S3: SSE-C, the data key travels with each request and the server encrypts; the server keeps
  only a salted HMAC of the key, so without our wrapped key the object cannot be read, in
  the bucket, in a replica, or in an old version.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings

from apps.common.s3 import s3_client
from apps.recordings.errors import RecordingIntegrityError, StorageUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CHUNK_SIZE = 1024 * 1024
_KEY_PATTERN = re.compile(r"^[a-z0-9]{2}/[a-z0-9]{32}$")


class RecordingStorage(Protocol):
    name: str
    encryption: str

    def put(self, key: str, body: IO[bytes], *, size: int, data_key: bytes) -> None: ...

    def iter_plaintext(
        self, key: str, *, data_key: bytes, byte_range: tuple[int, int] | None = None
    ) -> Iterator[bytes]: ...

    def delete(self, key: str) -> None: ...

    def list_keys(self) -> Iterator[tuple[str, datetime]]: ...


def _checked_key(key: str) -> str:
    if not _KEY_PATTERN.match(key):
        raise ValueError(f"malformed storage key {key!r}")
    return key


class LocalDiskStorage:
    name = "local"
    encryption = "aes-256-gcm"
    _MAGIC = b"CPREC1"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _checked_key(key)

    def put(self, key: str, body: IO[bytes], *, size: int, data_key: bytes) -> None:
        path = self._path(key)
        nonce = os.urandom(12)
        encryptor = Cipher(algorithms.AES(data_key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(key.encode())
        partial = path.with_name(path.name + ".part")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as out:
                out.write(self._MAGIC + nonce)
                while chunk := body.read(CHUNK_SIZE):
                    out.write(encryptor.update(chunk))
                out.write(encryptor.finalize() + encryptor.tag)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            raise StorageUnavailableError() from exc

    def iter_plaintext(
        self, key: str, *, data_key: bytes, byte_range: tuple[int, int] | None = None
    ) -> Iterator[bytes]:
        """Decrypt and yield the plaintext, or only bytes ``first..last`` (inclusive)."""
        chunks = self._decrypt(key, data_key)
        if byte_range is None:
            yield from chunks
        else:
            yield from _slice(chunks, *byte_range)

    def _decrypt(self, key: str, data_key: bytes) -> Iterator[bytes]:
        path = self._path(key)
        header = len(self._MAGIC) + 12
        with open(path, "rb") as src:
            prefix = src.read(header)
            if not prefix.startswith(self._MAGIC):
                raise RecordingIntegrityError(f"{key}: not a recording file")
            src.seek(-16, os.SEEK_END)
            tag = src.read(16)
            remaining = src.tell() - 16 - header
            src.seek(header)
            decryptor = Cipher(algorithms.AES(data_key), modes.GCM(prefix[-12:], tag)).decryptor()
            decryptor.authenticate_additional_data(key.encode())
            while remaining > 0:
                chunk = src.read(min(CHUNK_SIZE, remaining))
                remaining -= len(chunk)
                yield decryptor.update(chunk)
            try:
                yield decryptor.finalize()
            except InvalidTag as exc:
                raise RecordingIntegrityError(f"{key}: authentication tag mismatch") from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list_keys(self) -> Iterator[tuple[str, datetime]]:
        if not self.root.exists():
            return
        for path in self.root.glob("*/*"):
            key = path.relative_to(self.root).as_posix()
            if _KEY_PATTERN.match(key):
                yield key, datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def _slice(chunks: Iterator[bytes], first: int, last: int) -> Iterator[bytes]:
    offset = 0
    for chunk in chunks:
        start, end = offset, offset + len(chunk)
        offset = end
        if end <= first:
            continue
        if start > last:
            break
        yield chunk[max(first - start, 0) : min(last + 1 - start, len(chunk))]


class S3Storage:
    name = "s3"
    encryption = "sse-c-aes256"
    MULTIPART_THRESHOLD = 16 * CHUNK_SIZE

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def _sse(self, data_key: bytes) -> dict[str, str | bytes]:
        return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": data_key}

    def put(self, key: str, body: IO[bytes], *, size: int, data_key: bytes) -> None:
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError

        extra: dict[str, Any] = {**self._sse(data_key), "ContentType": "application/octet-stream"}
        try:
            if size <= self.MULTIPART_THRESHOLD:
                # One request; s3transfer's manager and thread pool cost more than the put.
                self.client.put_object(
                    Bucket=self.bucket, Key=_checked_key(key), Body=body, ContentLength=size, **extra
                )
            else:
                config = TransferConfig(
                    multipart_threshold=self.MULTIPART_THRESHOLD, multipart_chunksize=8 * CHUNK_SIZE
                )
                self.client.upload_fileobj(
                    body, self.bucket, _checked_key(key), ExtraArgs=extra, Config=config
                )
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailableError() from exc

    def iter_plaintext(
        self, key: str, *, data_key: bytes, byte_range: tuple[int, int] | None = None
    ) -> Iterator[bytes]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": _checked_key(key), **self._sse(data_key)}
        if byte_range is not None:
            kwargs["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        response = self.client.get_object(**kwargs)
        yield from response["Body"].iter_chunks(CHUNK_SIZE)

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


@functools.cache
def get_storage() -> LocalDiskStorage | S3Storage:
    if settings.RECORDINGS_STORAGE == "s3":
        return S3Storage(s3_client(), settings.S3_BUCKET)
    return LocalDiskStorage(Path(settings.RECORDINGS_DIR))
