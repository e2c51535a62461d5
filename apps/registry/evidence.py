"""Evidence files (letterhead, bar card): checked by content, encrypted at rest, never public.

Stored with the recordings' envelope encryption (a random data key per file, kept only wrapped
by the master key) on a LocalDiskStorage of its own under EVIDENCE_DIR. A separate root keeps
evidence out of the recordings bucket, where reconcile_storage would take it for an orphan.
Files are only ever served to registry clerks, as attachments, through an audited view.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from apps.audit.services import record_event
from apps.common.errors import DomainError
from apps.recordings import crypto
from apps.recordings.services import new_storage_key
from apps.recordings.storage import LocalDiskStorage
from apps.registry.models import Evidence, ExemptNumber

# Type by content, never by the name or the browser's claim.
MAGIC = [(b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg")]
EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


class EvidenceRejectedError(DomainError):
    reason = "evidence_rejected"
    default_message = "Upload a PDF, PNG or JPEG file."


def evidence_storage() -> LocalDiskStorage:
    return LocalDiskStorage(Path(settings.EVIDENCE_DIR))


def sniff(head: bytes) -> str | None:
    return next((kind for magic, kind in MAGIC if head.startswith(magic)), None)


def evidence_upload(*, exempt_number: ExemptNumber, data: bytes, filename: str, actor: User) -> Evidence:
    limit = settings.EVIDENCE_MAX_BYTES
    if not data:
        raise EvidenceRejectedError("The file is empty.")
    if len(data) > limit:
        raise EvidenceRejectedError(
            f"The file is larger than {limit // (1024 * 1024)} MB.", limit_bytes=limit
        )
    kind = sniff(data[:16])
    if kind is None:
        raise EvidenceRejectedError()
    storage = evidence_storage()
    key = new_storage_key()
    data_key = crypto.new_data_key()
    storage.put(key, io.BytesIO(data), size=len(data), data_key=data_key)
    try:
        with transaction.atomic():
            evidence = Evidence.objects.create(
                exempt_number=exempt_number,
                storage_key=key,
                content_type=kind,
                size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                wrapped_key=crypto.wrap_data_key(data_key, storage_key=key),
                original_name=Path(filename).name[:200],
                uploaded_by=actor,
            )
            record_event(
                action="evidence.uploaded",
                actor=actor,
                target=evidence,
                details={"registration": exempt_number.pk, "type": kind, "size_bytes": len(data)},
            )
    except BaseException:
        storage.delete(key)
        raise
    return evidence


def evidence_read(*, evidence: Evidence, actor: User) -> bytes:
    """Decrypt for a clerk; the read is audited in its own transaction."""
    data_key = crypto.unwrap_data_key(bytes(evidence.wrapped_key), storage_key=evidence.storage_key)
    data = b"".join(evidence_storage().iter_plaintext(evidence.storage_key, data_key=data_key))
    if hashlib.sha256(data).hexdigest() != evidence.sha256:
        raise DomainError("The evidence file failed its integrity check.")
    with transaction.atomic():
        record_event(action="evidence.viewed", actor=actor, target=evidence)
    return data
