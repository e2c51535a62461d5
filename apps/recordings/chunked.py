"""Chunked authenticated encryption of stored objects (format v2), STREAM-style.

An object is ``MAGIC`` followed by records: the plaintext cut into 64 KiB chunks, each sealed
on its own with AES-256-GCM (chunk + 16-byte tag). Chunk ``i`` of ``n`` is sealed with

* nonce = 7 zero bytes || i (4 bytes) || final flag (1 byte), and
* associated data = the object's storage key || i (8 bytes) || final flag,

so every chunk, and therefore every byte range, can be verified before a byte of it is
released, and moving a chunk (reorder, swap between positions), dropping the tail (the chunk
that is now last was sealed as not final) or appending (the old last chunk was sealed final)
all fail authentication. This is the STREAM construction of Hoang, Reyhanitabar, Rogaway and
Vizár, as age and Tink use it.

The nonce carries no random prefix because the sealing key is single-use: it is derived with
HKDF from the object's random data key *and its storage key*, and a data key is made fresh for
every object written (``crypto.new_data_key``). A random prefix in the header would cost every
S3 Range read a second request to fetch it. On S3 the object is also sent with SSE-C, under a
second key derived the same way, so the S3 server, which sees the SSE-C key on each request,
never learns the sealing key and cannot forge a chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from apps.recordings.errors import RecordingIntegrityError

MAGIC = b"CPREC2"
HEADER = len(MAGIC)
CHUNK = 64 * 1024
TAG = 16
RECORD = CHUNK + TAG
_AAD_PREFIX = b"callplatform-recording-v2:"


def _derive(data_key: bytes, storage_key: str, purpose: bytes) -> bytes:
    info = b"callplatform/recording/" + purpose + b"/v2\x00" + storage_key.encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(data_key)


def sealing_key(data_key: bytes, storage_key: str) -> bytes:
    return _derive(data_key, storage_key, b"chunks")


def sse_key(data_key: bytes, storage_key: str) -> bytes:
    """The SSE-C key for a v2 object on S3 (never the sealing key: the server sees it)."""
    return _derive(data_key, storage_key, b"sse-c")


def chunk_count(plain_size: int) -> int:
    return max(1, -(-plain_size // CHUNK))


def sealed_size(plain_size: int) -> int:
    return HEADER + plain_size + TAG * chunk_count(plain_size)


def plain_size(object_size: int) -> int:
    """The plaintext size an object of ``object_size`` bytes must hold (not yet verified)."""
    body = object_size - HEADER
    full, rest = divmod(body, RECORD)
    if body < TAG or (rest != 0 and rest < TAG) or (rest == 0 and full == 0):
        raise RecordingIntegrityError(f"an object of {object_size} bytes is not a v2 recording")
    chunks = full + (1 if rest else 0)
    return body - TAG * chunks


def _nonce_and_aad(storage_key: str, index: int, final: bool) -> tuple[bytes, bytes]:
    flag = b"\x01" if final else b"\x00"
    nonce = bytes(7) + index.to_bytes(4, "big") + flag
    return nonce, _AAD_PREFIX + storage_key.encode() + index.to_bytes(8, "big") + flag


def _read_exact(body: IO[bytes], size: int) -> bytes:
    parts, missing = [], size
    while missing:
        part = body.read(missing)
        if not part:
            break
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


def seal(body: IO[bytes], *, data_key: bytes, storage_key: str) -> Iterator[bytes]:
    """The v2 object for the plaintext in ``body``, piece by piece (header first)."""
    aead = AESGCM(sealing_key(data_key, storage_key))
    yield MAGIC
    chunk, index = _read_exact(body, CHUNK), 0
    while True:
        following = _read_exact(body, CHUNK) if len(chunk) == CHUNK else b""
        final = not following
        nonce, aad = _nonce_and_aad(storage_key, index, final)
        yield aead.encrypt(nonce, chunk, aad)
        if final:
            return
        chunk, index = following, index + 1


def regroup(pieces: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Cut a byte stream into pieces of exactly ``size`` bytes (the last may be shorter)."""
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def record_span(object_size: int, byte_range: tuple[int, int] | None) -> tuple[int, int, int, int]:
    """For plaintext ``byte_range`` of an object: (first chunk, last chunk, start, end) where
    ``start..end`` (end exclusive) are the object bytes holding those chunks' records."""
    size = plain_size(object_size)
    first, last = byte_range if byte_range is not None else (0, max(size - 1, 0))
    if first < 0 or last >= max(size, 1) or first > last:
        raise RecordingIntegrityError(f"range {first}-{last} is outside an object of {size} bytes")
    start, end = record_bounds((first, last))
    return first // CHUNK, last // CHUNK, start, min(end, object_size)


def record_bounds(byte_range: tuple[int, int]) -> tuple[int, int]:
    """The object bytes (start, end exclusive) holding plaintext ``byte_range``, whatever the
    object's size (a store clamps ``end`` to the object)."""
    first, last = byte_range
    return HEADER + (first // CHUNK) * RECORD, HEADER + (last // CHUNK + 1) * RECORD


def open_records(
    records: Iterable[bytes],
    *,
    data_key: bytes,
    storage_key: str,
    object_size: int,
    byte_range: tuple[int, int] | None,
) -> Iterator[bytes]:
    """Verify and decrypt the records of ``record_span``; yield only the requested bytes.

    Each chunk is authenticated before any of its bytes is yielded; a failure raises
    RecordingIntegrityError, so a caller never holds an unverified byte.
    """
    size = plain_size(object_size)
    first_chunk, last_chunk, _, _ = record_span(object_size, byte_range)
    first, last = byte_range if byte_range is not None else (0, size - 1)
    final_index = chunk_count(size) - 1
    aead = AESGCM(sealing_key(data_key, storage_key))
    index = first_chunk
    for record in records:
        if index > last_chunk:
            raise RecordingIntegrityError(f"{storage_key}: more data than the range holds")
        nonce, aad = _nonce_and_aad(storage_key, index, index == final_index)
        try:
            plain = aead.decrypt(nonce, record, aad)
        except InvalidTag as exc:
            raise RecordingIntegrityError(f"{storage_key}: chunk {index} failed authentication") from exc
        offset = index * CHUNK
        piece = plain[max(first - offset, 0) : max(min(last + 1 - offset, len(plain)), 0)]
        if piece:
            yield piece
        index += 1
    if index != last_chunk + 1:
        raise RecordingIntegrityError(f"{storage_key}: the object ended at chunk {index}")
