"""Reading objects written before the chunked format (v1), without releasing unverified bytes.

v1 objects have one authenticator for the whole object (local disk: one AES-GCM tag; S3: only
the plaintext SHA-256 in our database), so nothing can be released until all of it has been
checked. Both readers make two passes over the stored bytes without keeping plaintext:

1. read everything, check the whole (the GCM tag, or the SHA-256), and note the SHA-256 of
   each 64 KiB block of what was checked;
2. read again only the blocks the caller asked for, and release each block only if it is
   byte for byte what pass 1 verified (its digest matches).

A v1 read costs two reads of the object; ``manage.py reencrypt_recordings`` rewrites v1
recordings as v2 so that this path goes out of use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from apps.recordings.chunked import regroup
from apps.recordings.errors import RecordingIntegrityError

LOCAL_MAGIC = b"CPREC1"
_LOCAL_HEADER = len(LOCAL_MAGIC) + 12
_TAG = 16
BLOCK = 64 * 1024  # a multiple of the AES block, so CTR can start at any block


def _blocks_in(byte_range: tuple[int, int] | None, size: int) -> tuple[int, int, int, int]:
    first, last = byte_range if byte_range is not None else (0, size - 1)
    if size <= 0 or first < 0 or last >= size or first > last:
        raise RecordingIntegrityError(f"range {first}-{last} is outside an object of {size} bytes")
    return first, last, first // BLOCK, last // BLOCK


def _release(
    blocks: Iterator[bytes], digests: list[bytes], first_block: int, first: int, last: int
) -> Iterator[tuple[int, bytes]]:
    """Pair each re-read block with its index after checking it against pass 1."""
    index = first_block
    for block in blocks:
        if index >= len(digests) or hashlib.sha256(block).digest() != digests[index]:
            raise RecordingIntegrityError(f"block {index} changed since it was verified")
        yield index, block
        if (index + 1) * BLOCK > last:
            return
        index += 1
    raise RecordingIntegrityError(f"the object ended at block {index}")


def _slice(index: int, plain: bytes, first: int, last: int) -> bytes:
    offset = index * BLOCK
    return plain[max(first - offset, 0) : min(last + 1 - offset, len(plain))]


def local_v1(
    src: IO[bytes], size: int, *, data_key: bytes, key: str, byte_range: tuple[int, int] | None
) -> Iterator[bytes]:
    """A v1 local file: magic, 12-byte nonce, AES-256-GCM ciphertext, 16-byte tag."""
    src.seek(len(LOCAL_MAGIC))
    nonce = src.read(12)
    body_size = size - _LOCAL_HEADER - _TAG
    if len(nonce) != 12 or body_size < 0:
        raise RecordingIntegrityError(f"{key}: truncated v1 file")
    src.seek(size - _TAG)
    tag = src.read(_TAG)
    decryptor = Cipher(algorithms.AES(data_key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(key.encode())
    digests = []
    src.seek(_LOCAL_HEADER)
    for block in _read_blocks(src, body_size):
        digests.append(hashlib.sha256(block).digest())
        decryptor.update(block)
    try:
        decryptor.finalize()
    except InvalidTag as exc:
        raise RecordingIntegrityError(f"{key}: authentication tag mismatch") from exc
    first, last, first_block, _ = _blocks_in(byte_range, body_size)
    src.seek(_LOCAL_HEADER + first_block * BLOCK)
    # GCM encrypts with CTR from counter 2 (counter 1 masks the tag).
    counter = (2 + first_block * BLOCK // 16).to_bytes(4, "big")
    ctr = Cipher(algorithms.AES(data_key), modes.CTR(nonce + counter)).decryptor()
    remaining = _read_blocks(src, body_size - first_block * BLOCK)
    for index, block in _release(remaining, digests, first_block, first, last):
        if piece := _slice(index, ctr.update(block), first, last):
            yield piece


def _read_blocks(src: IO[bytes], length: int) -> Iterator[bytes]:
    while length > 0:
        block = src.read(min(BLOCK, length))
        if not block:
            raise RecordingIntegrityError("the file ended early")
        length -= len(block)
        yield block


def s3_v1(
    get: Callable[[str, dict[str, Any], int | None, int | None], Any],
    key: str,
    *,
    sha256: str,
    byte_range: tuple[int, int] | None,
    sse: dict[str, Any],
) -> Iterator[bytes]:
    """A v1 S3 object: the plaintext under SSE-C, vouched for only by our SHA-256."""
    response = get(key, sse, None, None)
    size = int(response["ContentLength"])
    hasher, digests = hashlib.sha256(), []
    for block in regroup(response["Body"].iter_chunks(BLOCK), BLOCK):
        hasher.update(block)
        digests.append(hashlib.sha256(block).digest())
    if hasher.hexdigest() != sha256.lower():
        raise RecordingIntegrityError(f"{key}: SHA-256 of the plaintext does not match")
    first, last, first_block, last_block = _blocks_in(byte_range, size)
    again = get(key, sse, first_block * BLOCK, min((last_block + 1) * BLOCK, size))
    blocks = regroup(again["Body"].iter_chunks(BLOCK), BLOCK)
    for index, block in _release(blocks, digests, first_block, first, last):
        if piece := _slice(index, block, first, last):
            yield piece
