"""The compliance report (issue 11, section 8): how long one facility's half-year report takes
at CI size (apps/compliance/).

    python -m bench --only compliance [--recordings N]

It reuses the scale section's world (N calls and recordings over 20 facilities, 1M at CI size,
bulk-loaded once) and adds, once, one exempt call for every 20 loaded calls and one synthetic
(assurance) exempt call for every 10, spread over the same facilities and days, so the figures
are not all zero and the synthetic ones must be left out. Then it times the figures of every
facility (the aggregate queries only) and one whole report (figures, PDF, CSV, signed manifest,
four objects put to S3), and prints the plans of the two largest queries.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta
from typing import Any

from bench import report
from bench.env import log, prepare
from bench.scale import PREFIX, load

EXTRA = "cmp-"
REFUSED = "recording.upload_refused"


def _load_extra(total: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM calls_call WHERE switch_call_id LIKE %s", [EXTRA + "%"])
        if cursor.fetchone()[0]:
            _load_refusals(cursor)
            return
        log("compliance: adding exempt and synthetic calls to the scale world")
        cursor.execute("SELECT id FROM facilities_facility WHERE code LIKE %s ORDER BY code", [PREFIX + "%"])
        facility_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT min(id) FROM inmates_inmate WHERE booking_number LIKE 'SC%%'")
        inmate_base = cursor.fetchone()[0]
        for kind, share, synthetic in (("x", 20, False), ("s", 10, True)):
            cursor.execute(
                "INSERT INTO calls_call (facility_id, inmate_id, switch_call_id, dialed_number, "
                "started_at, decision, reason, privileged, created_at, synthetic) "
                "SELECT (%s::bigint[])[g %% %s + 1], %s + g %% 200000, %s || g, "
                "'+1646' || lpad((g %% 10000000)::text, 7, '0'), "
                "now() - make_interval(secs => g * %s), 'exempt', 'exempt_number', true, now(), %s "
                "FROM generate_series(0, %s - 1) g",
                [
                    facility_ids,
                    len(facility_ids),
                    inmate_base,
                    f"{EXTRA}{kind}-",
                    share,
                    synthetic,
                    total // share,
                ],
            )
        cursor.execute("VACUUM ANALYZE calls_call")
        _load_refusals(cursor)


def _load_refusals(cursor: Any) -> None:
    """A refused upload for one in seven of the added calls (real and synthetic), as the gate
    writes it, so the refusal count has rows to find and to leave out."""
    cursor.execute(
        "SELECT 1 FROM audit_auditevent WHERE action = %s AND details->>'stage' = 'bench-7'", [REFUSED]
    )
    if cursor.fetchone():
        return
    log("compliance: adding refusal events")
    cursor.execute(
        "INSERT INTO audit_auditevent (created_at, actor_label, action, outcome, target_type, target_id, "
        "facility_id, request_id, details, prev_hash, hash) "
        "SELECT c.started_at, '', %s, 'refused', 'calls.call', c.id::text, c.facility_id, '', "
        '\'{"reason": "privileged", "stage": "bench-7"}\'::jsonb, \'\', \'\' '
        "FROM calls_call c WHERE c.switch_call_id LIKE %s AND c.id %% 7 = 0",
        [REFUSED, EXTRA + "%"],
    )
    cursor.execute("VACUUM ANALYZE audit_auditevent")


def _plan(queryset: Any) -> str:
    """The top nodes and execution time of EXPLAIN ANALYZE, on one line."""
    lines = queryset.explain(analyze=True, buffers=True).splitlines()
    nodes = [lines[0].strip()] + [line.strip()[3:] for line in lines if "->" in line]
    timing = next((line for line in lines if line.startswith("Execution Time")), "")
    return f"{' / '.join(n[:70] for n in nodes[:4])} | {timing}"


def run(args: argparse.Namespace) -> list[str]:
    total = getattr(args, "recordings", None) or (200_000 if args.quick else 1_000_000)
    prepare(reset=args.reset)
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from apps.compliance.figures import Period, _real_calls, _refusal_events, compliance_figures
    from apps.compliance.models import ComplianceReport
    from apps.compliance.services import compliance_report_generate
    from apps.facilities.models import Facility

    load(total)
    _load_extra(total)
    today = timezone.now().date()
    start = today - timedelta(days=181)
    facilities = list(Facility.objects.filter(code__startswith=PREFIX).order_by("code"))
    timings = []
    for facility in facilities:
        began = time.perf_counter()
        figures = compliance_figures(Period(facility, start, today))
        timings.append(time.perf_counter() - began)
    first = Period(facilities[0], start, today)
    ComplianceReport.objects.filter(facility=first.facility, period_start=start, period_end=today).delete()
    began = time.perf_counter()
    made, _ = compliance_report_generate(period=first, actor=None)
    whole = time.perf_counter() - began
    figures = made.figures
    by_reason = (
        _real_calls(first).filter(decision="exempt").values("reason").annotate(n=Count("id")).order_by()
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM calls_call")
        calls = cursor.fetchone()[0]
    p50 = statistics.median(timings) * 1000
    lines = [
        f"world: {calls:,} calls in the database, {len(facilities)} facilities; period {start}..{today}",
        f"figures of one facility ({figures['calls']['total']:,} calls, "
        f"{figures['calls']['exempted_at_setup']:,} exempted, "
        f"{figures['gate_refusals']['total']:,} refusals; synthetic ones left out): "
        f"p50 {p50:.0f} ms, max {max(timings) * 1000:.0f} ms over {len(timings)} facilities",
        f"whole report (figures + PDF {made.pdf_bytes:,} B + CSV + signed manifest + 4 S3 puts): "
        f"{whole * 1000:.0f} ms",
        f"all {len(facilities)} facilities' figures: {sum(timings):.2f} s",
        "plan, exempted calls by reason: " + _plan(by_reason),
        "plan, gate refusals: " + _plan(_refusal_events(first).values("id")),
    ]
    report.add(
        report.Row(
            figure=f"compliance report of one facility, half-year ({total:,}-call world)",
            value=f"{whole * 1000:.0f} ms",
            reference=f"figures only p50 {p50:.0f} ms",
        )
    )
    return lines
