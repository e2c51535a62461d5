"""The vendor-history import (issue 14, section 1) against a raw ``COPY`` of the same file.

    python -m bench --only history [--history-rows N]

One generated file (``generate_history``'s shape, over the seeded facilities, dialling the
bench registry's verified numbers), imported twice, side by side in one run:

- the reference: ``COPY ... FROM STDIN (FORMAT csv)`` of the file into a table of its own
  columns carrying the same kinds of indexes as ``calls_call`` (unique vendor id per facility,
  facility and time, number): what the database alone costs;
- ``import_history``, the real command in a child process (its peak RSS is the child's), with
  every check, the retroactive registry decision, the inmates, the imported-call rows and one
  audit event per batch.

The issue's target is >= 0.5x the raw COPY; a 70M-row run is the full benchmark's job
(``--history-rows 70000000``: the generator writes ~9 GB).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import report
from bench.env import SETTINGS_MODULE, prepare

RAW_TABLE = "bench_history_raw"
_RAW = f"""
DROP TABLE IF EXISTS {RAW_TABLE};
CREATE TABLE {RAW_TABLE} (
    vendor_call_id varchar(58), facility varchar(32), booking_number varchar(32), last_name varchar(100),
    first_name varchar(100), account_number varchar(32), dialed_number varchar(40),
    started_at timestamptz, duration_seconds integer, recording_ref varchar(512)
);
CREATE UNIQUE INDEX {RAW_TABLE}_call ON {RAW_TABLE} (facility, vendor_call_id);
CREATE INDEX {RAW_TABLE}_time ON {RAW_TABLE} (facility, started_at DESC);
CREATE INDEX {RAW_TABLE}_inmate ON {RAW_TABLE} (booking_number, started_at DESC);
CREATE INDEX {RAW_TABLE}_number ON {RAW_TABLE} (dialed_number);
"""


IMPORTER = "demo-facility-admin"


def _generate(rows: int, path: Path) -> None:
    from django.contrib.auth.models import User

    from apps.common.querysets import Action
    from apps.facilities.models import Facility
    from apps.history.generator import Shape, write_history
    from apps.registry.models import ExemptNumber, ExemptStatus

    # Only the facilities the importer administers (the bench database holds others, made by
    # the other sections): rows for the rest would all be rejected.
    importer = User.objects.get(username=IMPORTER)
    facilities = list(
        Facility.objects.restrict(importer, Action.MANAGE).order_by("code").values_list("code", flat=True)
    )
    protected = list(
        ExemptNumber.objects.filter(status=ExemptStatus.VERIFIED).values_list("number", flat=True)[:100_000]
    )
    with path.open("w", newline="", encoding="utf-8") as out:
        shape = Shape(
            rows=rows,
            facilities=facilities,
            protected_numbers=protected,
            seed=11,
            call_id_prefix=f"B{time.time_ns() // 1_000_000}-",  # new calls each run, not re-run conflicts
        )
        write_history(out, shape)


def _raw_copy(path: Path) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_RAW)
    started = time.perf_counter()
    with connection.cursor() as cursor, path.open("rb") as handle:
        with cursor.cursor.copy(f"COPY {RAW_TABLE} FROM STDIN (FORMAT csv, HEADER true)") as copy:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {RAW_TABLE}")
    return elapsed


def _import(path: Path) -> tuple[float, int, str]:
    """The real command in a child process: seconds, peak RSS (KiB), its last stderr line."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE}
    command = [sys.executable, "manage.py", "import_history", "--as", IMPORTER, str(path)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"import_history failed: {done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, peak, done.stderr.strip().splitlines()[-1]


def run(args: Any) -> list[str]:
    prepare(reset=args.reset)
    rows = args.history_rows
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        path = Path(tmp) / "history.csv"
        started = time.perf_counter()
        _generate(rows, path)
        generated = time.perf_counter() - started
        mib = path.stat().st_size / (1 << 20)
        raw = _raw_copy(path)
        imported, peak_kib, summary = _import(path)
    raw_rate, import_rate = rows / raw, rows / imported
    ratio = import_rate / raw_rate
    report.add(
        report.Row(
            f"history import ({rows:,} rows)",
            f"{import_rate:,.0f} rows/s",
            f"raw COPY {raw_rate:,.0f} rows/s",
            f"{ratio:.2f}x",
            ">= 0.5x",
            ratio >= 0.5,
        )
    )
    extrapolated = 70_000_000 / import_rate / 60
    return [
        f"file: {rows:,} rows, {mib:,.1f} MiB (generated in {generated:.1f} s)",
        f"raw COPY into an indexed table: {raw:.2f} s = {raw_rate:,.0f} rows/s, {mib / raw:,.1f} MiB/s",
        f"import_history: {imported:.2f} s = {import_rate:,.0f} rows/s, {mib / imported:,.1f} MiB/s "
        f"({ratio:.2f}x the raw COPY), peak RSS {peak_kib / 1024:,.0f} MiB",
        f"  {summary}",
        f"extrapolated to 70M rows: {extrapolated:,.0f} min at this rate (run it: --history-rows 70000000)",
    ]
