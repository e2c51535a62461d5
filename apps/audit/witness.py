"""The checkpoint witness: a copy of every signed checkpoint outside the database.

Signed checkpoints catch a truncated tail only while their rows survive, and whoever can delete
the newest events can delete the newest checkpoint rows too. The witness keeps each checkpoint
as a small JSON document in the S3 bucket (``AUDIT_WITNESS_PREFIX``) or, on the embedded
default, in a local folder (``AUDIT_WITNESS_DIR``), written once and never rewritten by us.
In production the prefix belongs under S3 Object Lock or versioning with a role that cannot
delete (infra/README.md). ``verify_audit_chain`` compares both sides: a checkpoint missing from
the database, or differing from its copy, is tampering.

Copying is best-effort and catches up: a failure is logged, and every checkpoint run copies
whatever the newest checkpoints lack (an S3 outage delays the copy, it never blocks sealing).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

from apps.audit.canonical import format_time
from apps.audit.models import Checkpoint

logger = logging.getLogger(__name__)
SYNC_RECENT = 20


class Witness(Protocol):
    def put(self, name: str, data: bytes) -> None: ...

    def names(self, *, after: str = "") -> list[str]: ...

    def read(self, name: str) -> bytes: ...


class LocalWitness:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, name: str, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.root / f".{name}.part"
        partial.write_bytes(data)
        partial.replace(self.root / name)

    def names(self, *, after: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.glob("*.json") if p.name > after)

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()


class S3Witness:
    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def put(self, name: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self.prefix + name, Body=data, ContentType="application/json"
        )

    def names(self, *, after: str = "") -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=self.prefix, StartAfter=self.prefix + after)
        keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
        return sorted(key.removeprefix(self.prefix) for key in keys if key.endswith(".json"))

    def read(self, name: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)["Body"].read()
        return body


def get_witness() -> Witness | None:
    """The configured witness: ``AUDIT_WITNESS`` = ``storage`` (S3 when recordings are on S3,
    else the local folder) or ``off``."""
    if settings.AUDIT_WITNESS == "off":
        return None
    if settings.RECORDINGS_STORAGE == "s3":
        from apps.common.s3 import s3_client

        return S3Witness(s3_client(), settings.S3_BUCKET, settings.AUDIT_WITNESS_PREFIX)
    return LocalWitness(Path(settings.AUDIT_WITNESS_DIR))


def document_name(sequence: int) -> str:
    return f"{sequence:020d}.json"  # zero-padded: name order is sequence order


def checkpoint_document(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "sequence": checkpoint.sequence,
        "hash": checkpoint.hash,
        "created_at": format_time(checkpoint.created_at),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }


def witness_sync(witness: Witness | None = None) -> int:
    """Copy the newest checkpoints the witness lacks; return how many were copied (0 on error)."""
    witness = witness if witness is not None else get_witness()
    if witness is None:
        return 0
    recent = list(Checkpoint.objects.order_by("-sequence")[:SYNC_RECENT])
    if not recent:
        return 0
    try:
        present = set(witness.names(after=document_name(recent[-1].sequence - 1)))
        missing = [c for c in reversed(recent) if document_name(c.sequence) not in present]
        for checkpoint in missing:
            data = json.dumps(checkpoint_document(checkpoint), sort_keys=True).encode()
            witness.put(document_name(checkpoint.sequence), data)
    except Exception:
        logger.warning("could not copy audit checkpoints to the witness; the next run retries", exc_info=True)
        return 0
    return len(missing)


def witnessed_checkpoints(witness: Witness) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, document) of every checkpoint copy the witness holds, in sequence order; a copy
    that is not a JSON object comes back as an empty document (the verifier reports it)."""
    for name in witness.names():
        try:
            document = json.loads(witness.read(name))
        except ValueError:
            document = {}
        yield name, document if isinstance(document, dict) else {}
