"""Ed25519 keys for checkpoints. The private key comes from settings.AUDIT_SIGNING_KEY.

Verifiers need only the public key (``public_key_b64``, also served at
/api/v1/audit/public-key/ and written into every export's manifest); they should compare it
with a copy obtained out of band, since whoever can rewrite the database or an export can
also rewrite a key stored next to it.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings


def _private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(settings.AUDIT_SIGNING_KEY)


def public_key_bytes() -> bytes:
    return (
        _private_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def public_key_b64() -> str:
    return base64.b64encode(public_key_bytes()).decode()


def key_id(public_key: bytes) -> str:
    """A short fingerprint so a verifier can tell which key signed (key rotation)."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def sign(payload: bytes) -> str:
    return base64.b64encode(_private_key().sign(payload)).decode()


def verify_signature(*, public_key: bytes, payload: bytes, signature_b64: str) -> bool:
    """Pure check usable offline (no settings needed)."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(base64.b64decode(signature_b64), payload)
    except (InvalidSignature, ValueError):
        return False
    return True
