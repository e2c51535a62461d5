"""The hash chain's canonical form, in pure Python (no database, no Django models).

Shared by the sealer, ``verify_audit_chain`` and the offline ``verify_audit_export``, so the
three cannot drift apart. An event's hash is SHA-256 over the sorted-key compact JSON of all
its fields except ``hash`` itself (``sequence`` and ``prev_hash`` included). Times are UTC ISO
8601 with microseconds; ids are integers or null.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64

# Every column of audit_auditevent, in export order. "actor_id" is the raw user id.
EVENT_FIELDS = (
    "id",
    "sequence",
    "prev_hash",
    "hash",
    "created_at",
    "sealed_at",
    "actor_id",
    "actor_label",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "facility_id",
    "client_ip",
    "request_id",
    "details",
)


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def event_hash(record: dict[str, Any]) -> str:
    """SHA-256 of an event record (as produced by ``event_record``), ignoring its ``hash``."""
    body = {key: value for key, value in record.items() if key != "hash"}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def checkpoint_payload(*, sequence: int, hash: str, created_at: str) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    return canonical_bytes({"sequence": sequence, "hash": hash, "created_at": created_at})
