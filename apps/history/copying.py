"""Copy the vendor's recordings of imported calls through the storage gate (issue 14, section 1).

Every recording the import left ``to_copy`` or ``to_quarantine`` goes through
``recordings.services.recording_store``, the switch's own upload path: the gate decides again
under the number's lock (a number verified since the import is refused before a byte is read
from the vendor, and the refusal is audited), a pending claim's audio lands in quarantine, the
bytes are encrypted like every upload and checked against the manifest's SHA-256 when there is
one. A privileged call's recording (``not_copied``) is never opened.

Resumable: a row's fate changes only after its act committed, so a stopped run picks up where it
stopped; a recording already stored for the call (a crash between the two) counts as copied.
Parallel: ``workers`` threads, each with its own database connection, take disjoint rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.contrib.auth.models import User
from django.db import connection, transaction

from apps.audit.services import record_event
from apps.common.errors import DomainError
from apps.common.s3 import S3_ERRORS, s3_client
from apps.history.models import ImportedCall, RecordingFate
from apps.recordings.errors import RecordingExistsError
from apps.recordings.services import recording_store

PENDING = (RecordingFate.TO_COPY, RecordingFate.TO_QUARANTINE)
CONTENT_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".opus": "audio/ogg"}


class SourceMissingError(Exception):
    pass


@dataclass(frozen=True)
class Source:
    """Where the vendor's recordings are: ``s3://bucket/key`` references are read from the S3
    endpoint; any other reference is a path under ``root`` (never outside it)."""

    root: Path | None = None

    @contextmanager
    def open(self, ref: str) -> Iterator[IO[bytes]]:
        if ref.startswith("s3://"):
            bucket, _, key = ref.removeprefix("s3://").partition("/")
            try:
                body = s3_client().get_object(Bucket=bucket, Key=key)["Body"]
            except S3_ERRORS as exc:
                raise SourceMissingError(f"cannot read {ref}: {exc}") from exc
            try:
                yield body  # type: ignore[misc]
            finally:
                body.close()
            return
        if self.root is None:
            raise SourceMissingError("a file reference needs --source-dir")
        path = (self.root / ref).resolve()
        if not path.is_relative_to(self.root.resolve()) or not path.is_file():
            raise SourceMissingError(f"no file {ref} under the source directory")
        with path.open("rb") as handle:
            yield handle


@dataclass
class CopyFigures:
    copied: int = 0
    quarantined: int = 0
    refused: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        return self.copied + self.quarantined + self.refused + self.failed


MANIFEST_COLUMNS = ("recording_ref", "size", "sha256")
_MANIFEST_STAGING = "history_manifest_staging"


class ManifestError(Exception):
    pass


def manifest_apply(path: Path, *, batch_rows: int = 20_000) -> int:
    """Read the vendor's object manifest (``recording_ref,size,sha256``) into the imported calls
    it names, a batch at a time (constant memory); returns the rows it matched. A malformed row
    stops it with its line number (what was applied before stays: applying again is harmless)."""
    import csv

    matched = 0
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        if [h.strip() for h in next(reader, [])] != list(MANIFEST_COLUMNS):
            raise ManifestError(f"the manifest's header must be {','.join(MANIFEST_COLUMNS)}")
        batch: list[tuple[str, int, str]] = []
        for row in reader:
            if len(row) != 3 or not row[1].isdigit() or not _is_sha256(row[2]):
                raise ManifestError(f"line {reader.line_num}: expected recording_ref,size,sha256")
            batch.append((row[0].strip(), int(row[1]), row[2].lower()))
            if len(batch) >= batch_rows:
                matched += _apply(batch)
                batch = []
        if batch:
            matched += _apply(batch)
    return matched


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)


def _apply(batch: list[tuple[str, int, str]]) -> int:
    temp = "TEMP TABLE IF NOT EXISTS"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE {temp} {_MANIFEST_STAGING} (ref varchar(512) NOT NULL, size bigint NOT NULL,"
            " sha256 varchar(64) NOT NULL)"
        )
        cursor.execute(f"DELETE FROM {_MANIFEST_STAGING}")  # noqa: S608 - constant table name
        cursor.executemany(f"INSERT INTO {_MANIFEST_STAGING} VALUES (%s, %s, %s)", batch)  # noqa: S608
        cursor.execute(
            f"""UPDATE history_importedcall SET source_size = m.size, source_sha256 = m.sha256
                FROM {_MANIFEST_STAGING} m WHERE history_importedcall.recording_ref = m.ref"""  # noqa: S608
        )
        return int(cursor.rowcount)


def _content_type(ref: str) -> str:
    return CONTENT_TYPES.get(Path(ref.split("?")[0]).suffix.lower(), "audio/wav")


def _copy_one(row: ImportedCall, source: Source, actor: User) -> str:
    """Copy one recording; returns the row's new fate (already saved)."""
    fate, error = RecordingFate.COPIED, ""
    try:
        with source.open(row.recording_ref) as body:
            recording = recording_store(
                call=row.call,
                body=body,
                content_type=_content_type(row.recording_ref),
                content_length=row.source_size,
                expected_sha256=row.source_sha256 or None,
                actor=actor,
            )
        if recording.state == "quarantined":
            fate = RecordingFate.COPIED_TO_QUARANTINE
    except RecordingExistsError:
        fate = RecordingFate.COPIED  # stored by a run that stopped before saving the fate
    except DomainError as exc:
        privileged = getattr(exc, "reason", "") == "privileged"
        fate = RecordingFate.REFUSED if privileged else RecordingFate.FAILED
        error = f"{getattr(exc, 'reason', 'error')}: {exc}"[:200]
    except SourceMissingError as exc:
        fate, error = RecordingFate.FAILED, str(exc)[:200]
    ImportedCall.objects.filter(pk=row.pk).update(recording_fate=fate, copy_error=error)
    return fate


def history_recordings_copy(
    *,
    actor: User,
    source: Source,
    history_import_id: int | None = None,
    workers: int = 1,
    limit: int | None = None,
    progress: Callable[[CopyFigures], None] | None = None,
) -> CopyFigures:
    """Copy what is still to copy (of one import, or of all); see the module docstring."""
    pending = ImportedCall.objects.filter(recording_fate__in=PENDING).order_by("pk")
    if history_import_id is not None:
        pending = pending.filter(history_import_id=history_import_id)
    ids = list(
        pending.values_list("pk", flat=True)[:limit] if limit else pending.values_list("pk", flat=True)
    )
    figures = CopyFigures()
    lock = threading.Lock()

    def work(chunk: list[int]) -> None:
        try:
            for row in ImportedCall.objects.filter(pk__in=chunk).select_related("call").order_by("pk"):
                fate = _copy_one(row, source, actor)
                with lock:
                    _count(figures, fate)
                    if progress is not None:
                        progress(figures)
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()

    chunks = [ids[i : i + 200] for i in range(0, len(ids), 200)]
    if workers <= 1:
        for chunk in chunks:
            work(chunk)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(work, chunks))
    with transaction.atomic():
        record_event(
            action="history.recordings_copied",
            actor=actor,
            details={"import_id": history_import_id, "rows": len(ids), **_as_dict(figures)},
        )
    return figures


def _count(figures: CopyFigures, fate: str) -> None:
    if fate == RecordingFate.COPIED:
        figures.copied += 1
    elif fate == RecordingFate.COPIED_TO_QUARANTINE:
        figures.quarantined += 1
    elif fate == RecordingFate.REFUSED:
        figures.refused += 1
    else:
        figures.failed += 1


def _as_dict(figures: CopyFigures) -> dict[str, Any]:
    return {
        "copied": figures.copied,
        "quarantined": figures.quarantined,
        "refused": figures.refused,
        "failed": figures.failed,
    }
