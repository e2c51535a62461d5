"""Compliance exports of the trail: built by a Celery job, verified offline (export_verify.py).

An export is one zip archive holding ``events.jsonl`` (one canonical event record per line,
in sequence order), ``events.csv`` (the same rows for spreadsheets), ``manifest.json``
(filters, counts, first/last sequence and hash, the signed checkpoints covering the range,
the public key, the SHA-256 of each file) and ``manifest.json.sig`` (Ed25519 over the manifest
bytes). Only sealed events are exported, up to the tip sealed when the job started.

Archives live under settings.AUDIT_EXPORT_DIR rather than the recordings storage layer: that
layer is built for recordings (per-object data keys, key format, and reconcile_storage deletes
objects that have no Recording row), and an export can always be rebuilt from the database.

Memory stays flat whatever the size: rows are read by keyset pages of sealed sequences and
written (and hashed) as they come; the zip is filled from the spooled files in chunks.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit import signing
from apps.audit.canonical import EVENT_FIELDS, canonical_bytes, format_time
from apps.audit.chain import chain_tip, event_record
from apps.audit.models import AuditExport, Checkpoint, ExportStatus
from apps.audit.selectors import events_filtered
from apps.audit.services import record_event
from apps.common.broker import publish_task
from apps.common.csvsafe import SafeWriter

logger = logging.getLogger(__name__)

FORMAT = "callplatform-audit-export/1"
PAGE = 5000
PROGRESS_EVERY = 20000
_FILES = ("events.jsonl", "events.csv")


def serialize_filters(filters: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (format_time(value) if isinstance(value, datetime) else value) for key, value in filters.items()
    }


def _parse_filters(stored: dict[str, Any]) -> dict[str, Any]:
    parsed = dict(stored)
    for key in ("since", "until"):
        if parsed.get(key):
            parsed[key] = datetime.fromisoformat(parsed[key])
    return parsed


def audit_export_request(*, requested_by: User, filters: dict[str, Any]) -> AuditExport:
    """Record the request (audited) and enqueue the build after commit."""
    from apps.audit.tasks import build_audit_export

    with transaction.atomic():
        export = AuditExport.objects.create(requested_by=requested_by, filters=serialize_filters(filters))
        record_event(
            action="audit.export_requested",
            actor=requested_by,
            target=export,
            details={"filters": export.filters},
        )
        transaction.on_commit(lambda: _enqueue_build(build_audit_export, export.pk))
    return export


def _enqueue_build(task: Any, export_id: int) -> None:
    if task.app.conf.task_always_eager:
        task.apply_async(args=[export_id])
        return
    # A broker outage delays the export, never fails it: it stays pending, and beat's
    # audit.resume_exports sends it again (publish_task logs the failure and returns at once).
    publish_task(task, export_id)


def audit_exports_resume() -> int:
    """Send again the build of every export still pending after ``EXPORT_RESUME_AFTER_SECONDS``
    (its message was never sent, or was lost with the broker). Returns how many were sent.
    A duplicate is harmless: the build is idempotent."""
    from apps.audit.tasks import build_audit_export

    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.EXPORT_RESUME_AFTER_SECONDS)
    lost = now - timedelta(seconds=settings.EXPORT_BUILD_STALE_SECONDS)
    stale = AuditExport.objects.filter(
        Q(status=ExportStatus.PENDING, created_at__lt=cutoff)
        | Q(status=ExportStatus.RUNNING, started_at__lt=lost)
    ).order_by("pk")
    ids = stale.values_list("pk", flat=True)[:100]
    sent = [publish_task(build_audit_export, export_id) for export_id in ids]
    return sum(sent)


def _lost(started_at: datetime | None) -> bool:
    """A build running longer than EXPORT_BUILD_STALE_SECONDS (> the task time limit) lost its
    worker; a younger one may still be running and must not be started twice."""
    stale = timezone.now() - timedelta(seconds=settings.EXPORT_BUILD_STALE_SECONDS)
    return started_at is None or started_at < stale


def export_path(export: AuditExport) -> Path:
    return Path(settings.AUDIT_EXPORT_DIR) / export.file_name


def audit_export_build(*, export_id: int) -> None:
    """Build (or rebuild, after a lost worker) the archive of one export. Idempotent."""
    with transaction.atomic():
        export = AuditExport.objects.select_for_update().get(pk=export_id)
        if export.status == ExportStatus.DONE and export_path(export).is_file():
            return
        if export.status == ExportStatus.FAILED or (
            export.status == ExportStatus.RUNNING and not _lost(export.started_at)
        ):
            return  # failed for good, or another worker is building it right now
        export.status = ExportStatus.RUNNING
        export.started_at = timezone.now()
        export.written = 0
        export.error = ""
        export.save(update_fields=["status", "started_at", "written", "error"])
    try:
        _build(export)
    except Exception as exc:
        logger.exception("audit export %s failed", export_id)
        AuditExport.objects.filter(pk=export_id, started_at=export.started_at).update(
            status=ExportStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )


def _build(export: AuditExport) -> None:
    root = Path(settings.AUDIT_EXPORT_DIR)
    root.mkdir(parents=True, exist_ok=True)
    sealed_through, _ = chain_tip()
    queryset = events_filtered(_parse_filters(export.filters)).filter(
        sequence__isnull=False, sequence__lte=sealed_through
    )
    total = queryset.count()
    AuditExport.objects.filter(pk=export.pk).update(total=total)
    work = Path(tempfile.mkdtemp(prefix=f".export-{export.pk}-", dir=root))
    try:
        summary = _write_event_files(export, queryset, work)
        checkpoints = _covering_checkpoints(summary.get("first_sequence"), summary.get("last_sequence"))
        public_key = signing.public_key_bytes()
        manifest = {
            "format": FORMAT,
            "export_id": export.pk,
            "created_at": format_time(timezone.now()),
            "requested_by": export.requested_by.get_username(),
            "filters": export.filters,
            "sealed_through": sealed_through,
            "counts": {"events": summary["count"]},
            "first": {"sequence": summary.get("first_sequence"), "hash": summary.get("first_hash")},
            "last": {"sequence": summary.get("last_sequence"), "hash": summary.get("last_hash")},
            "checkpoints": checkpoints,
            "public_key": base64.b64encode(public_key).decode(),
            "key_id": signing.key_id(public_key),
            "hash": "sha256 over sorted-key compact JSON of each record without its 'hash' key",
            "files": summary["files"],
        }
        manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode()
        file_name = f"audit-export-{export.pk}.zip"
        partial = work / file_name
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            for name in _FILES:
                archive.write(work / name, arcname=name)
            archive.writestr("manifest.json", manifest_bytes)
            archive.writestr("manifest.json.sig", signing.sign(manifest_bytes) + "\n")
        digest, size = _file_sha256(partial)
        os.replace(partial, root / file_name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # Only the build that still owns the export (a stale one may have been replaced) finishes it.
    owned = AuditExport.objects.filter(pk=export.pk, started_at=export.started_at)
    owned.filter(status=ExportStatus.RUNNING).update(
        status=ExportStatus.DONE,
        written=summary["count"],
        file_name=file_name,
        size_bytes=size,
        sha256=digest,
        finished_at=timezone.now(),
    )


class _HashingWriter(io.RawIOBase):
    """A binary file that hashes what passes through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.sha.update(chunk)
        self.size += len(chunk)
        self.raw.write(chunk)
        return len(chunk)


def _write_event_files(export: AuditExport, queryset: Any, work: Path) -> dict[str, Any]:
    summary: dict[str, Any] = {"count": 0}
    with open(work / "events.jsonl", "wb") as jsonl_raw, open(work / "events.csv", "wb") as csv_raw:
        jsonl = _HashingWriter(jsonl_raw)
        csv_bytes = _HashingWriter(csv_raw)
        csv_text = io.TextIOWrapper(io.BufferedWriter(csv_bytes, 1 << 16), encoding="utf-8", newline="")
        writer = SafeWriter(csv_text)
        writer.writerow(EVENT_FIELDS)
        for record in _records(queryset):
            jsonl.write(canonical_bytes(record) + b"\n")
            writer.writerow([_csv_value(record[name]) for name in EVENT_FIELDS])
            if summary["count"] == 0:
                summary["first_sequence"], summary["first_hash"] = record["sequence"], record["hash"]
            summary["last_sequence"], summary["last_hash"] = record["sequence"], record["hash"]
            summary["count"] += 1
            if summary["count"] % PROGRESS_EVERY == 0:
                AuditExport.objects.filter(pk=export.pk).update(written=summary["count"])
        csv_text.flush()
        csv_text.detach().flush()
        summary["files"] = {
            "events.jsonl": {"sha256": jsonl.sha.hexdigest(), "bytes": jsonl.size},
            "events.csv": {"sha256": csv_bytes.sha.hexdigest(), "bytes": csv_bytes.size},
        }
    return summary


def _records(queryset: Any) -> Iterator[dict[str, Any]]:
    """Keyset pages by sequence: no long transaction, no server-side cursor, flat memory."""
    after = 0
    while True:
        page = list(queryset.filter(sequence__gt=after).order_by("sequence").values(*EVENT_FIELDS)[:PAGE])
        for row in page:
            yield event_record(row)
        if len(page) < PAGE:
            return
        after = page[-1]["sequence"]


def _csv_value(value: Any) -> Any:
    """Details as canonical JSON text; SafeWriter makes every cell formula-safe. The CSV is for
    spreadsheets only: the chain is verified over events.jsonl, never over this text."""
    if isinstance(value, dict | list):
        return canonical_bytes(value).decode()  # type: ignore[arg-type]
    return value


def _covering_checkpoints(first: int | None, last: int | None) -> list[dict[str, Any]]:
    """Checkpoints inside the exported range, plus the first one at or after its end."""
    if first is None or last is None:
        return []
    inside = list(Checkpoint.objects.filter(sequence__gte=first, sequence__lte=last))
    after = Checkpoint.objects.filter(sequence__gt=last).order_by("sequence").first()
    chosen = inside + ([after] if after is not None else [])
    return [
        {
            "sequence": c.sequence,
            "hash": c.hash,
            "created_at": format_time(c.created_at),
            "key_id": c.key_id,
            "signature": c.signature,
        }
        for c in chosen
    ]


def _file_sha256(path: Path) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size
