"""Audit trail: capture cost, sealing throughput, act-to-sealed latency, export memory.

Measured in one run on the bench database (PostgreSQL):

* capture: acts of one event each, every act its own transaction, through ``record_event``
  (ORM insert, after-commit enqueue of sealing to a real broker) next to a plain INSERT of the
  same row in the same kind of transaction, interleaved in rounds. Target: ratio >= 0.5.
* sealing: ``audit_seal_pending`` over a backlog of pending events (events/s, in-process).
* act to sealed: a real Celery worker (with beat) on a private Redis; acts at a steady rate;
  ``sealed_at - created_at`` percentiles.
* export memory: ``audit_export_build`` in a fresh subprocess for ~N/10 and ~N sealed events
  (N = --audit-events or BENCH_AUDIT_EVENTS, default 1,000,000; 20,000 with --quick); peak
  RSS should not grow with N. The bulk events are inserted once with SQL and kept between runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import report
from bench.env import BenchEnvironmentError, log

BASE_DIR = Path(__file__).resolve().parent.parent
CAPTURE_TARGET_RATIO = 0.5
BULK_FACILITY_BASE = 900_000  # facility ids of bulk events: BASE + (i % 10)

_PLAIN_INSERT = """
INSERT INTO audit_auditevent (created_at, actor_id, actor_label, action, outcome, target_type,
    target_id, facility_id, client_ip, request_id, details, prev_hash, hash)
VALUES (now(), NULL, '', %s, 'success', 'bench.thing', %s, 1, '127.0.0.1', '', %s::jsonb, '', '')
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise BenchEnvironmentError(f"timed out waiting for {what}")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class _Services:
    """A private redis-server and a real Celery worker (with beat) on the bench database."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-audit-"))
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.redis: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.previous_env: str | None = None

    def start_broker(self) -> None:
        redis = shutil.which("redis-server")
        if redis is None:
            raise BenchEnvironmentError("redis-server is needed (apt-get install redis-server)")
        self.redis = subprocess.Popen(
            [redis, "--port", str(self.port), "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: _port_open(self.port), 10, "redis-server")
        from callplatform.celery import app

        # Celery reads CELERY_BROKER_URL from the environment before its configuration.
        self.previous_env = os.environ.get("CELERY_BROKER_URL")
        os.environ["CELERY_BROKER_URL"] = self.url
        app.conf.broker_url = self.url
        app.conf.task_always_eager = False

    def start_worker(self) -> None:
        from django.db import connection

        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "BENCH_DB_NAME": db["NAME"],
            "CELERY_BROKER_URL": self.url,
            "AUDIT_SEAL_EVERY_SECONDS": "1",
        }
        log_path = self.dir / "worker.log"
        with open(log_path, "ab") as out:
            self.worker = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "celery"),
                    "-A",
                    "callplatform",
                    "worker",
                    "-B",
                    "-s",
                    str(self.dir / "beat"),
                    "--concurrency=1",
                    "--loglevel=WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                env=env,
                cwd=BASE_DIR,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        time.sleep(3)
        if self.worker.poll() is not None:
            raise BenchEnvironmentError(f"the Celery worker exited: {log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.worker is not None:
            try:
                os.killpg(self.worker.pid, signal.SIGTERM)
                self.worker.wait(20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.worker.pid, signal.SIGKILL)
        if self.previous_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = self.previous_env
        if self.redis is not None:
            self.redis.kill()
            self.redis.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def _capture(rounds: int, per_round: int) -> tuple[float, float]:
    """(record_event acts/s, plain INSERT acts/s), interleaved so both see the same machine."""
    from django.db import connection, transaction

    from apps.audit.services import record_event

    plain = audited = 0.0
    for round_number in range(rounds):
        started = time.perf_counter()
        for number in range(per_round):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    _PLAIN_INSERT,
                    ["bench.plain", str(number), json.dumps({"n": number, "round": round_number})],
                )
        plain += time.perf_counter() - started
        started = time.perf_counter()
        for number in range(per_round):
            with transaction.atomic():
                record_event(
                    action="bench.audited",
                    target_type="bench.thing",
                    target_id=number,
                    facility_id=1,
                    details={"n": number, "round": round_number},
                )
        audited += time.perf_counter() - started
    total = rounds * per_round
    return total / audited, total / plain


def _backlog(count: int) -> None:
    from django.db import transaction

    from apps.audit.services import record_event

    for start in range(0, count, 1000):
        with transaction.atomic():
            for number in range(start, min(count, start + 1000)):
                record_event(
                    action="bench.backlog", target_type="bench.thing", target_id=number, details={"n": number}
                )


def _sealing(count: int) -> float:
    from apps.audit.chain import audit_seal_pending

    audit_seal_pending()
    _backlog(count)
    started = time.perf_counter()
    sealed = audit_seal_pending()
    return sealed / (time.perf_counter() - started)


def _act_to_sealed(rate: float, seconds: float) -> list[float]:
    from django.db import transaction

    from apps.audit.models import AuditEvent
    from apps.audit.services import record_event

    ids = []
    interval = 1.0 / rate
    next_at = time.perf_counter()
    deadline = next_at + seconds
    while next_at < deadline:
        with transaction.atomic():
            ids.append(record_event(action="bench.steady", details={}).pk)
        next_at += interval
        time.sleep(max(0.0, next_at - time.perf_counter()))
    _wait(lambda: not AuditEvent.objects.filter(pk__in=ids, sequence__isnull=True).exists(), 120, "sealing")
    rows = AuditEvent.objects.filter(pk__in=ids).values_list("created_at", "sealed_at")
    return sorted((sealed - created).total_seconds() * 1000 for created, sealed in rows)


def _ensure_bulk(count: int) -> float:
    """At least ``count`` bulk events exist and are sealed; returns sealing rate if any sealed."""
    from django.db import connection

    from apps.audit.chain import audit_seal_pending
    from apps.audit.models import AuditEvent

    have = AuditEvent.objects.filter(action="bench.bulk").count()
    if have < count:
        log(f"inserting {count - have} bulk audit events with SQL")
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO audit_auditevent (created_at, actor_id, actor_label, action, outcome,
                    target_type, target_id, facility_id, client_ip, request_id, details, prev_hash, hash)
                SELECT now(), NULL, 'bench', 'bench.bulk', 'success', 'bench.thing', g::text,
                    %s + (g %% 10), '10.0.0.1', md5(g::text),
                    jsonb_build_object('n', g, 'pad', repeat('x', 80)),
                    '', ''
                FROM generate_series(%s, %s) AS g
                """,
                [BULK_FACILITY_BASE, have, count - 1],
            )
    started = time.perf_counter()
    sealed = audit_seal_pending(batch_size=5000)
    if sealed:
        log(f"sealed {sealed} events in {time.perf_counter() - started:.0f} s")
    return sealed / (time.perf_counter() - started) if sealed > 1000 else 0.0


_EXPORT_SCRIPT = """
import json, os, resource, sys, time
import django
django.setup()
from django.contrib.auth.models import User
from apps.audit.exports import audit_export_build, export_path
from apps.audit.models import AuditExport
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
user, _ = User.objects.get_or_create(username="bench-auditor")
export = AuditExport.objects.create(requested_by=user, filters=json.loads(sys.argv[1]))
started = time.perf_counter()
audit_export_build(export_id=export.pk)
elapsed = time.perf_counter() - started
export.refresh_from_db()
path = export_path(export)
print(json.dumps({"status": export.status, "error": export.error, "events": export.written,
    "seconds": elapsed, "bytes": export.size_bytes, "baseline_kb": baseline,
    "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
path.unlink(missing_ok=True)
"""


def _export_memory(filters: dict[str, Any], export_dir: Path) -> dict[str, Any]:
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BENCH_DB_NAME": connection.settings_dict["NAME"],
        "AUDIT_EXPORT_DIR": str(export_dir),
    }
    result = subprocess.run(
        [sys.executable, "-c", _EXPORT_SCRIPT, json.dumps(filters)],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if result.returncode != 0:
        raise BenchEnvironmentError(f"export subprocess failed: {result.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    if data["status"] != "done":
        raise BenchEnvironmentError(f"export failed: {data['error']}")
    return data


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def run(args: Any) -> list[str]:
    quick = bool(getattr(args, "quick", False))
    size = int(
        getattr(args, "audit_events", None)
        or os.environ.get("BENCH_AUDIT_EVENTS")
        or (20_000 if quick else 1_000_000)
    )
    lines: list[str] = []
    services = _Services()
    try:
        services.start_broker()
        rounds, per_round = (3, 100) if quick else (5, 400)
        audited, plain = _capture(rounds, per_round)
        ratio = audited / plain
        lines.append(
            f"capture: record_event {audited:,.0f} acts/s vs plain INSERT {plain:,.0f} acts/s "
            f"(one event per transaction, {rounds * per_round} each) = {ratio:.2f}x"
        )
        report.add(
            report.Row(
                "audit capture (acts/s)",
                f"{audited:,.0f}",
                f"{plain:,.0f} plain INSERT",
                f"{ratio:.2f}x",
                f">= {CAPTURE_TARGET_RATIO}x",
                ratio >= CAPTURE_TARGET_RATIO,
            )
        )

        backlog = 5000 if quick else 50_000
        seal_rate = _sealing(backlog)
        lines.append(f"sealing: {seal_rate:,.0f} events/s ({backlog:,} pending events, in-process)")
        report.add(report.Row("audit sealing (events/s)", f"{seal_rate:,.0f}"))

        services.start_worker()
        rate, seconds = (50.0, 3.0) if quick else (200.0, 10.0)
        latencies = _act_to_sealed(rate, seconds)
        lines.append(
            f"act to sealed at {rate:.0f} acts/s for {seconds:.0f} s (real worker, after-commit enqueue): "
            f"p50 {_pct(latencies, 0.5):.0f} ms, p95 {_pct(latencies, 0.95):.0f} ms, "
            f"p99 {_pct(latencies, 0.99):.0f} ms, max {latencies[-1]:.0f} ms"
        )
        report.add(report.Row("audit act->sealed p99 (ms)", f"{_pct(latencies, 0.99):.0f}"))
    finally:
        services.stop()

    bulk_rate = _ensure_bulk(size)
    if bulk_rate:
        lines.append(f"sealing (bulk, batches of 5000): {bulk_rate:,.0f} events/s")
    export_dir = Path(tempfile.mkdtemp(prefix="bench-audit-exports-"))
    try:
        small = _export_memory({"facility_id": BULK_FACILITY_BASE}, export_dir)
        large = _export_memory({"action": "bench.bulk"}, export_dir)
    finally:
        shutil.rmtree(export_dir, ignore_errors=True)
    for label, data in (("small", small), ("large", large)):
        lines.append(
            f"export {label}: {data['events']:,} events in {data['seconds']:.1f} s "
            f"({data['events'] / data['seconds']:,.0f} events/s, archive {data['bytes'] / 1e6:.1f} MB), "
            f"peak RSS {data['peak_kb'] / 1024:.0f} MiB "
            f"(after django.setup {data['baseline_kb'] / 1024:.0f} MiB)"
        )
    growth = (large["peak_kb"] - small["peak_kb"]) / 1024
    flat = growth < 32
    lines.append(
        f"export memory growth from {small['events']:,} to {large['events']:,} events: {growth:+.0f} MiB"
    )
    report.add(
        report.Row(
            f"audit export peak RSS, {large['events']:,} events (MiB)",
            f"{large['peak_kb'] / 1024:.0f}",
            f"{small['peak_kb'] / 1024:.0f} for {small['events']:,}",
            f"{growth:+.0f} MiB",
            "flat (< +32 MiB)",
            flat,
        )
    )
    return lines
