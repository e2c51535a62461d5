"""Envelope encryption of recordings.

Each recording has its own random 256-bit data key. The database keeps that key only wrapped
(AES-256-GCM) by the master key from settings, bound to the object's storage key as associated
data so a wrapped key cannot be moved onto another object. In production the master key
belongs in a KMS; this module is the one place that would call it.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

_WRAP_VERSION = b"\x01"
_AAD_PREFIX = b"callplatform-recording-key:"


class KeyUnwrapError(Exception):
    pass


def new_data_key() -> bytes:
    return os.urandom(32)


def wrap_data_key(data_key: bytes, *, storage_key: str) -> bytes:
    nonce = os.urandom(12)
    sealed = AESGCM(settings.RECORDINGS_MASTER_KEY).encrypt(
        nonce, data_key, _AAD_PREFIX + storage_key.encode()
    )
    return _WRAP_VERSION + nonce + sealed


def unwrap_data_key(wrapped: bytes, *, storage_key: str) -> bytes:
    wrapped = bytes(wrapped)
    if not wrapped.startswith(_WRAP_VERSION) or len(wrapped) != 1 + 12 + 32 + 16:
        raise KeyUnwrapError("unknown wrapped-key format")
    try:
        return AESGCM(settings.RECORDINGS_MASTER_KEY).decrypt(
            wrapped[1:13], wrapped[13:], _AAD_PREFIX + storage_key.encode()
        )
    except InvalidTag as exc:
        raise KeyUnwrapError("wrapped key does not match the master key or object") from exc
