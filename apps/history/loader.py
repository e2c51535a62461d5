"""``import_history``'s engine: stream a vendor's call-detail file into calls, set-based, with
the registry applied retroactively (issue 14, section 1).

Per batch of rows, in one transaction:

1. rows are checked in Python (``apps.history.columns``); bad ones go to the reject file with
   their line number, the good ones into a session-local staging table (PostgreSQL ``COPY``;
   SQLite, the embedded default, ``executemany``);
2. one statement adds the inmates the history names and we do not know yet;
3. one statement inserts the calls, carrying the privilege decision as of *now* for the whole
   set: the registry's rule (``REGISTRATION_COVERS_SQL`` and ``CLAIM_COVERS_SQL``, the same
   fragments ``DECISION_SQL`` is built from) as correlated subqueries, so a number verified
   today makes every earlier call to it privileged, whatever format the vendor wrote it in;
4. one statement records, per call, the vendor's recording and its fate: a privileged call's
   recording is never copied (it is listed in the report), a pending claim's arrives in
   quarantine, the rest wait to be copied through the storage gate;
5. rows that collide with an already imported call holding other data are rejected;
6. one audit event for the batch: the file's hash, the line range and the counts.

A re-run inserts nothing (``switch_call_id`` = ``hist-`` + the vendor id, unique per facility)
and says so in its counts. Memory does not grow with the file: one batch at a time, and the
number cache is bounded.

Size: the set statements are the engine; they read best beside the code that runs them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from apps.audit import signing
from apps.audit.canonical import canonical_bytes
from apps.audit.services import record_event
from apps.history.columns import RejectedRow, StagedRow, header_problem, parse_row
from apps.history.models import HistoryImport, ImportStatus, RecordingFate
from apps.registry.privilege import CLAIM_COVERS_SQL, REGISTRATION_COVERED_THEN_SQL, REGISTRATION_COVERS_SQL

BATCH_ROWS = 20_000
STAGING = "history_staging"
CALL_ID_PREFIX = "hist-"
REPORT_VERSION = 1

_STAGING_COLUMNS = (
    "line_number",
    "vendor_call_id",
    "facility_id",
    "booking_number",
    "last_name",
    "first_name",
    "account_number",
    "number",
    "started_at",
    "ended_at",
    "duration_seconds",
    "recording_ref",
)

_CREATE_STAGING = {
    "postgresql": f"""CREATE TEMP TABLE IF NOT EXISTS {STAGING} (
        line_number bigint NOT NULL, vendor_call_id varchar(58) NOT NULL, facility_id bigint NOT NULL,
        booking_number varchar(32) NOT NULL, last_name varchar(100) NOT NULL,
        first_name varchar(100) NOT NULL, account_number varchar(32) NOT NULL,
        number varchar(16) NOT NULL, started_at timestamptz NOT NULL, ended_at timestamptz NOT NULL,
        duration_seconds integer NOT NULL, recording_ref varchar(512) NOT NULL
    ) ON COMMIT DELETE ROWS""",
    "sqlite": f"""CREATE TEMP TABLE IF NOT EXISTS {STAGING} (
        line_number integer NOT NULL, vendor_call_id text NOT NULL, facility_id integer NOT NULL,
        booking_number text NOT NULL, last_name text NOT NULL, first_name text NOT NULL,
        account_number text NOT NULL, number text NOT NULL, started_at text NOT NULL,
        ended_at text NOT NULL, duration_seconds integer NOT NULL, recording_ref text NOT NULL
    )""",
}

# "WHERE true" before ON CONFLICT: SQLite needs it to parse an INSERT ... SELECT ... ON CONFLICT.
_INSERT_INMATES = f"""
INSERT INTO inmates_inmate (facility_id, booking_number, first_name, last_name, account_number, created_at,
    do_not_record_reason)
SELECT s.facility_id, s.booking_number, MIN(s.first_name), MIN(s.last_name), MIN(s.account_number),
    %(now)s, ''
FROM {STAGING} s WHERE true
GROUP BY s.facility_id, s.booking_number
ON CONFLICT (facility_id, booking_number) DO NOTHING
"""  # noqa: S608 - constant SQL, values are parameters

# The registry's rule over a set: DECISION_SQL's three lookups, one row of the staging table
# at a time, at ``now`` (retroactive: what is verified today protects yesterday's calls), and
# at the call's own time (a registration in force then protects it, even if it lapsed since).
_INSERT_CALLS = f"""
INSERT INTO calls_call (facility_id, inmate_id, switch_call_id, dialed_number, started_at, ended_at,
    duration_seconds, decision, reason, privileged, exempt_number_id, created_at, synthetic)
SELECT d.facility_id, d.inmate_id, '{CALL_ID_PREFIX}' || d.vendor_call_id, d.number, d.started_at,
    d.ended_at, d.duration_seconds, 'record',
    CASE WHEN d.exempt_number_id IS NOT NULL THEN 'verified_attorney_number'
         WHEN d.verified_claim_id IS NOT NULL THEN 'verified_inmate_claim'
         WHEN d.pending_claim_id IS NOT NULL THEN 'pending_inmate_claim'
         ELSE 'not_exempt' END,
    (d.exempt_number_id IS NOT NULL OR d.verified_claim_id IS NOT NULL),
    d.exempt_number_id, %(now)s, false
FROM (
    SELECT s.*, i.id AS inmate_id,
        (SELECT MIN(e.id) FROM registry_exemptnumber e
          WHERE e.number = s.number AND ({REGISTRATION_COVERS_SQL.format(at="%(now)s")}
                OR {REGISTRATION_COVERED_THEN_SQL.format(at="s.started_at")})
            AND (e.facility_id IS NULL OR e.facility_id = s.facility_id)) AS exempt_number_id,
        (SELECT MIN(c.id) FROM registry_inmateclaim c
          WHERE c.number = s.number AND {CLAIM_COVERS_SQL}
            AND c.facility_id = s.facility_id) AS verified_claim_id,
        (SELECT MIN(c.id) FROM registry_inmateclaim c
          WHERE c.number = s.number AND c.status = 'pending'
            AND c.facility_id = s.facility_id) AS pending_claim_id
    FROM {STAGING} s
    JOIN inmates_inmate i ON i.facility_id = s.facility_id AND i.booking_number = s.booking_number
    {{fence}}
) d WHERE true
ON CONFLICT (facility_id, switch_call_id) DO NOTHING
"""  # noqa: S608 - constant SQL, values are parameters

# ``{fence}``: on PostgreSQL "OFFSET 0", which would otherwise inline ``d`` and run each registry
# lookup once per use.

_RETURNING_CALLS = " RETURNING id, privileged, reason"

_CALL_OF_ROW = f"c.facility_id = s.facility_id AND c.switch_call_id = '{CALL_ID_PREFIX}' || s.vendor_call_id"

_INSERT_IMPORTED = f"""
INSERT INTO history_importedcall (call_id, history_import_id, line_number, recording_ref, recording_fate)
SELECT c.id, %(import_id)s, s.line_number, s.recording_ref,
    CASE WHEN s.recording_ref = '' THEN '{RecordingFate.NONE}'
         WHEN c.privileged THEN '{RecordingFate.NOT_COPIED}'
         WHEN c.reason = 'pending_inmate_claim' THEN '{RecordingFate.TO_QUARANTINE}'
         ELSE '{RecordingFate.TO_COPY}' END
FROM {STAGING} s JOIN calls_call c ON {_CALL_OF_ROW}
WHERE c.created_at = %(now)s AND c.dialed_number = s.number AND c.started_at = s.started_at
ON CONFLICT (call_id) DO NOTHING
"""  # noqa: S608 - constant SQL, values are parameters

# PostgreSQL: the calls just inserted, and their imported-call rows, in one statement. The
# second insert joins the staging table to the first insert's RETURNING rows (the batch), not to
# calls_call (the whole history): a join on calls_call grew with every imported million.
_INSERT_CALLS_AND_IMPORTED_PG = f"""
WITH ins AS (
    {_INSERT_CALLS.replace("{fence}", "OFFSET 0")}
    RETURNING id, facility_id, switch_call_id, privileged, reason
), imp AS (
    INSERT INTO history_importedcall (call_id, history_import_id, line_number, recording_ref, recording_fate)
    SELECT ins.id, %(import_id)s, s.line_number, s.recording_ref,
        CASE WHEN s.recording_ref = '' THEN '{RecordingFate.NONE}'
             WHEN ins.privileged THEN '{RecordingFate.NOT_COPIED}'
             WHEN ins.reason = 'pending_inmate_claim' THEN '{RecordingFate.TO_QUARANTINE}'
             ELSE '{RecordingFate.TO_COPY}' END
    FROM ins JOIN {STAGING} s
      ON s.facility_id = ins.facility_id AND '{CALL_ID_PREFIX}' || s.vendor_call_id = ins.switch_call_id
    ON CONFLICT (call_id) DO NOTHING
    RETURNING call_id, recording_fate
)
SELECT ins.id, ins.privileged, ins.reason, imp.recording_fate FROM ins LEFT JOIN imp ON imp.call_id = ins.id
"""  # noqa: S608 - constant SQL, values are parameters

# Rows whose vendor id is already a call holding other data (a second, different row of the
# same call, in this file or an earlier one): never a silent drop.
_CONFLICTS = f"""
SELECT s.line_number FROM {STAGING} s JOIN calls_call c ON {_CALL_OF_ROW}
WHERE c.dialed_number <> s.number OR c.started_at <> s.started_at
   OR COALESCE(c.duration_seconds, -1) <> s.duration_seconds
   OR c.inmate_id <> (SELECT i.id FROM inmates_inmate i
                       WHERE i.facility_id = s.facility_id AND i.booking_number = s.booking_number)
ORDER BY s.line_number
"""  # noqa: S608 - constant SQL, values are parameters

_NOT_COPIED = f"""
SELECT h.line_number, c.switch_call_id, f.code, h.recording_ref
FROM history_importedcall h JOIN calls_call c ON c.id = h.call_id
JOIN facilities_facility f ON f.id = c.facility_id
WHERE h.history_import_id = %(import_id)s AND h.recording_fate = '{RecordingFate.NOT_COPIED}'
ORDER BY h.line_number
"""  # noqa: S608 - constant SQL, values are parameters


@dataclass
class Figures:
    rows: int = 0
    loaded: int = 0
    skipped_identical: int = 0
    privileged: int = 0
    quarantined_on_arrival: int = 0
    recordings_not_copied: int = 0
    recordings_to_copy: int = 0
    recordings_to_quarantine: int = 0
    rejects: int = 0
    batches: int = 0

    def add(self, other: Figures) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class ImportResult:
    history_import: HistoryImport
    figures: Figures
    seconds: float
    reject_path: Path
    not_copied_path: Path
    report: dict[str, Any] = field(default_factory=dict)


class _HashingReader(io.RawIOBase):
    """Reads a binary file while hashing it and counting bytes (one pass for hash and load)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.sha256, self.bytes_read = raw, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.bytes_read += n
        return n


Progress = Callable[[int, int, int], None]  # rows so far, bytes read, total bytes


def history_import(
    *,
    path: Path,
    actor: User,
    facilities: dict[str, tuple[int, str]],
    reject_path: Path,
    not_copied_path: Path,
    batch_rows: int = BATCH_ROWS,
    progress: Progress | None = None,
) -> ImportResult:
    """Import ``path`` as ``actor`` into ``facilities`` (code -> (id, phone region): the ones
    ``actor`` administers; rows naming another are rejected). Returns the signed result."""
    started = time.monotonic()
    total_bytes = path.stat().st_size
    with transaction.atomic():
        run = HistoryImport.objects.create(
            file_name=path.name[:255], file_sha256="", file_bytes=total_bytes, started_by=actor
        )
        record_event(
            action="history.import_started", actor=actor, target=run, details={"file": path.name[:255]}
        )
    figures = Figures()
    with path.open("rb") as raw, reject_path.open("w", newline="", encoding="utf-8") as rejects_file:
        reader = _HashingReader(raw)
        text = io.TextIOWrapper(io.BufferedReader(reader), encoding="utf-8", errors="strict", newline="")
        rejects = csv.writer(rejects_file)
        rejects.writerow(["line_number", "reason"])
        try:
            for batch, bad in _batches(text, facilities, batch_rows):
                for line_number, reason in bad:
                    rejects.writerow([line_number, reason])
                figures.rejects += len(bad)
                figures.rows += len(batch) + len(bad)
                if batch:
                    batch_figures, conflicts = _load_batch(run, actor, batch, len(bad))
                    for line_number in conflicts:
                        rejects.writerow(
                            [line_number, "conflicts with an imported call of the same vendor_call_id"]
                        )
                    figures.add(batch_figures)
                if progress is not None:
                    progress(figures.rows, reader.bytes_read, total_bytes)
        except (UnicodeDecodeError, csv.Error, _HeaderError) as exc:
            figures.rejects += 1
            rejects.writerow([figures.rows + 2, f"the file cannot be read on: {exc}"])
            _finish(
                run, actor, figures, reader.sha256.hexdigest(), started, ImportStatus.FAILED, not_copied_path
            )
            raise ImportFileError(str(exc)) from exc
        file_sha256 = reader.sha256.hexdigest()
    report = _finish(run, actor, figures, file_sha256, started, ImportStatus.DONE, not_copied_path)
    return ImportResult(run, figures, time.monotonic() - started, reject_path, not_copied_path, report)


class ImportFileError(Exception):
    """The file as a whole cannot be read (header, encoding, CSV syntax); what was loaded stays."""


class _HeaderError(Exception):
    pass


def _batches(
    text: IO[str], facilities: dict[str, tuple[int, str]], batch_rows: int
) -> Iterator[tuple[list[StagedRow], list[tuple[int, str]]]]:
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        raise _HeaderError("the file is empty")
    problem = header_problem(header)
    if problem:
        raise _HeaderError(problem)
    names = [h.strip() for h in header]
    batch: list[StagedRow] = []
    bad: list[tuple[int, str]] = []
    for row in reader:
        line_number = reader.line_num
        if not row or row == [""]:
            continue
        if len(row) != len(names):
            bad.append((line_number, f"{len(row)} fields, expected {len(names)}"))
        else:
            values = dict(zip(names, row, strict=True))
            try:
                batch.append(parse_row(line_number, values, facilities))
            except RejectedRow as exc:
                bad.append((line_number, exc.reason))
        if len(batch) + len(bad) >= batch_rows:
            yield batch, bad
            batch, bad = [], []
    if batch or bad:
        yield batch, bad


def _stage(cursor: Any, rows: list[StagedRow]) -> None:
    values = (
        (
            r.line_number,
            r.vendor_call_id,
            r.facility_id,
            r.booking_number,
            r.last_name,
            r.first_name,
            r.account_number,
            r.number,
            r.started_at,
            r.started_at + timedelta(seconds=r.duration_seconds),
            r.duration_seconds,
            r.recording_ref,
        )
        for r in rows
    )
    columns = ", ".join(_STAGING_COLUMNS)
    if connection.vendor == "postgresql":
        with cursor.cursor.copy(f"COPY {STAGING} ({columns}) FROM STDIN") as copy:
            for value in values:
                copy.write_row(value)
        # A temp table has no statistics: without them the planner hashes the whole calls
        # table to find one batch's rows instead of probing the (facility, call id) index.
        cursor.execute(f"ANALYZE {STAGING}")
        return
    adapt = connection.ops.adapt_datetimefield_value
    cursor.execute(f"DELETE FROM {STAGING}")  # noqa: S608 - constant table name
    cursor.executemany(
        f"INSERT INTO {STAGING} ({columns}) VALUES ({', '.join(['%s'] * len(_STAGING_COLUMNS))})",  # noqa: S608
        [(*v[:8], adapt(v[8]), adapt(v[9]), *v[10:]) for v in values],
    )


def _load_batch(
    run: HistoryImport, actor: User, rows: list[StagedRow], rejected: int
) -> tuple[Figures, list[int]]:
    now = timezone.now()
    first, last = rows[0].line_number, rows[-1].line_number
    params = {"now": connection.ops.adapt_datetimefield_value(now), "import_id": run.pk}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CREATE_STAGING[connection.vendor])
        _stage(cursor, rows)
        cursor.execute(_INSERT_INMATES, params)
        if connection.vendor == "postgresql":
            cursor.execute(_INSERT_CALLS_AND_IMPORTED_PG, params)
            rows_back = cursor.fetchall()
            inserted = [(call_id, is_privileged, reason) for call_id, is_privileged, reason, _ in rows_back]
            fates = Counter(fate for *_, fate in rows_back if fate is not None)
        else:
            cursor.execute(_INSERT_CALLS.replace("{fence}", "") + _RETURNING_CALLS, params)
            inserted = cursor.fetchall()
            cursor.execute(_INSERT_IMPORTED + " RETURNING recording_fate", params)
            fates = Counter(fate for (fate,) in cursor.fetchall())
        privileged = sum(1 for _, is_privileged, _ in inserted if is_privileged)
        pending = sum(1 for _, _, reason in inserted if reason == "pending_inmate_claim")
        # Only a row that inserted nothing can collide with an imported call holding other data
        # (the first run of a file never looks; a re-run does, through the unique index).
        conflicts: list[int] = []
        if len(inserted) < len(rows):
            cursor.execute(_CONFLICTS)
            conflicts = [row[0] for row in cursor.fetchall()]
        loaded = sum(fates.values())
        not_copied, to_copy = fates[RecordingFate.NOT_COPIED], fates[RecordingFate.TO_COPY]
        to_quarantine = fates[RecordingFate.TO_QUARANTINE]
        if connection.vendor == "sqlite":
            cursor.execute(f"DELETE FROM {STAGING}")  # noqa: S608 - constant table name
        figures = Figures(
            loaded=loaded,
            skipped_identical=len(rows) - loaded - len(conflicts),
            privileged=privileged,
            quarantined_on_arrival=pending,
            recordings_not_copied=not_copied,
            recordings_to_copy=to_copy,
            recordings_to_quarantine=to_quarantine,
            rejects=len(conflicts),
            batches=1,
        )
        record_event(
            action="history.batch_imported",
            actor=actor,
            target=run,
            details={
                "first_line": first,
                "last_line": last,
                "rejected_by_checks": rejected,
                **asdict(figures),
            },
        )
        HistoryImport.objects.filter(pk=run.pk).update(rows_read=last)
    return figures, conflicts


def report_payload(report: dict[str, Any]) -> bytes:
    """The exact bytes a migration report's signature covers."""
    return canonical_bytes(report)


def _finish(
    run: HistoryImport,
    actor: User,
    figures: Figures,
    file_sha256: str,
    started: float,
    status: str,
    not_copied_path: Path,
) -> dict[str, Any]:
    """List the recordings not copied, then sign and keep the report."""
    digest = hashlib.sha256()
    with not_copied_path.open("w", newline="", encoding="utf-8") as out, connection.cursor() as cursor:
        writer = csv.writer(out)
        writer.writerow(["line_number", "vendor_call_id", "facility", "recording_ref"])
        digest.update(b"line_number,vendor_call_id,facility,recording_ref\r\n")
        cursor.execute(_NOT_COPIED, {"import_id": run.pk})
        while chunk := cursor.fetchmany(5000):
            for line_number, switch_call_id, code, ref in chunk:
                row = [line_number, switch_call_id.removeprefix(CALL_ID_PREFIX), code, ref]
                writer.writerow(row)
                buffer = io.StringIO()
                csv.writer(buffer).writerow(row)
                digest.update(buffer.getvalue().encode())
    finished = timezone.now()
    report = {
        "version": REPORT_VERSION,
        "import_id": run.pk,
        "file": run.file_name,
        "file_sha256": file_sha256,
        "file_bytes": run.file_bytes,
        "status": status,
        "started_at": run.started_at.isoformat(),
        "finished_at": finished.isoformat(),
        "duration_seconds": round(time.monotonic() - started, 3),
        "figures": asdict(figures),
        "not_copied_list_sha256": digest.hexdigest(),
        "run_by": actor.get_username(),
    }
    with transaction.atomic():
        HistoryImport.objects.filter(pk=run.pk).update(
            file_sha256=file_sha256,
            finished_at=finished,
            status=status,
            report=report,
            signature=signing.sign(report_payload(report)),
            key_id=signing.key_id(signing.public_key_bytes()),
        )
        record_event(
            action="history.import_finished",
            actor=actor,
            target=run,
            details={"status": status, "file_sha256": file_sha256, **asdict(figures)},
        )
    run.refresh_from_db()
    return report


def report_signature_valid(run: HistoryImport, *, public_key: bytes | None = None) -> bool:
    return signing.verify_signature(
        public_key=public_key or signing.public_key_bytes(),
        payload=report_payload(run.report),
        signature_b64=run.signature,
    )
