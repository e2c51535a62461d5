"""Least privilege at scale (issue 3): the first page of GET /api/v1/recordings/ for an
investigator with 50 inmate grants, over N bulk-loaded recordings (10 million by default),
next to the same query without permission filtering, in the same run.

Rows are bulk-loaded with INSERT ... SELECT generate_series (not the ORM one by one), once;
later runs reuse them. The I1 trigger on recordings is disabled during the load only (the
loaded calls are to synthetic, never-registered numbers).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench import report
from bench.env import log, prepare

FACILITIES = 20
INMATES = 200_000
BATCH = 1_000_000
GRANTS = 50
PREFIX = "scale-"


def _count_loaded(cursor: Any) -> int:
    cursor.execute("SELECT count(*) FROM calls_call WHERE switch_call_id LIKE %s", [PREFIX + "%"])
    return int(cursor.fetchone()[0])


def load(total: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for i in range(FACILITIES):
            cursor.execute(
                "INSERT INTO facilities_facility (code, name, timezone, phone_region, created_at) "
                "VALUES (%s, %s, 'America/New_York', 'US', now()) ON CONFLICT (code) DO NOTHING",
                [f"{PREFIX}{i:02d}", f"Scale facility {i}"],
            )
        cursor.execute("SELECT id FROM facilities_facility WHERE code LIKE %s ORDER BY code", [PREFIX + "%"])
        facility_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT count(*) FROM inmates_inmate WHERE booking_number LIKE 'SC%%'")
        if cursor.fetchone()[0] < INMATES:
            log(f"scale: loading {INMATES:,} inmates")
            cursor.execute(
                "INSERT INTO inmates_inmate (facility_id, booking_number, first_name, last_name, "
                "account_number, created_at) "
                "SELECT (%s::bigint[])[g %% %s + 1], 'SC' || g, 'First', 'Last' || g, '', now() "
                "FROM generate_series(0, %s - 1) g ON CONFLICT DO NOTHING",
                [facility_ids, FACILITIES, INMATES],
            )
        cursor.execute("SELECT min(id) FROM inmates_inmate WHERE booking_number LIKE 'SC%%'")
        inmate_base = cursor.fetchone()[0]
        loaded = _count_loaded(cursor)
        if loaded >= total:
            log(f"scale: {loaded:,} calls and recordings already loaded")
            return
        cursor.execute("ALTER TABLE recordings_recording DISABLE TRIGGER recordings_refuse_privileged")
        try:
            for start in range(loaded, total, BATCH):
                end = min(start + BATCH, total)
                began = time.perf_counter()
                # Inmate g % INMATES lives in facility (g % INMATES) % FACILITIES = g % FACILITIES.
                cursor.execute(
                    "INSERT INTO calls_call (facility_id, inmate_id, switch_call_id, dialed_number, "
                    "started_at, decision, reason, privileged, created_at) "
                    "SELECT (%s::bigint[])[g %% %s + 1], %s + g %% %s, %s || g, "
                    "'+1212' || lpad((g %% 10000000)::text, 7, '0'), "
                    "now() - make_interval(secs => %s - g), 'record', 'not_exempt', false, now() "
                    "FROM generate_series(%s, %s - 1) g",
                    [facility_ids, FACILITIES, inmate_base, INMATES, PREFIX, total, start, end],
                )
                cursor.execute(
                    "INSERT INTO recordings_recording (call_id, facility_id, inmate_id, storage_backend, "
                    "storage_key, size_bytes, "
                    "sha256, content_type, encryption, wrapped_key, state, quarantine_reason, created_at) "
                    "SELECT c.id, c.facility_id, c.inmate_id, 's3', "
                    "substr(md5(c.id::text), 1, 2) || '/' || md5(c.id::text), 480000, "
                    "md5(c.id::text) || md5((c.id + 1)::text), 'audio/wav', 'sse-c-aes256', "
                    "'\\x01'::bytea, 'stored', '', c.started_at "
                    "FROM calls_call c WHERE c.switch_call_id LIKE %s "
                    "AND substr(c.switch_call_id, %s)::bigint >= %s "
                    "AND substr(c.switch_call_id, %s)::bigint < %s",
                    [PREFIX + "%", len(PREFIX) + 1, start, len(PREFIX) + 1, end],
                )
                log(f"scale: loaded {end:,}/{total:,} calls+recordings ({time.perf_counter() - began:.1f} s)")
        finally:
            cursor.execute("ALTER TABLE recordings_recording ENABLE TRIGGER recordings_refuse_privileged")
        log("scale: VACUUM ANALYZE")
        for table in ["inmates_inmate", "calls_call", "recordings_recording"]:
            cursor.execute(f"VACUUM ANALYZE {table}")


def investigator() -> Any:
    from datetime import timedelta

    from django.contrib.auth.models import Permission, User
    from django.utils import timezone
    from guardian.shortcuts import assign_perm

    from apps.facilities.models import Facility
    from apps.inmates.models import Inmate, InmateUserObjectPermission

    user, _ = User.objects.get_or_create(username="scale-investigator")
    facilities = list(Facility.objects.filter(code__startswith=PREFIX).order_by("code")[:2])
    for facility in facilities:
        assign_perm("facilities.view_facility_calls", user, facility)
    perm = Permission.objects.get(content_type__app_label="inmates", codename="play_inmate_recordings")
    inmates = Inmate.objects.filter(facility__in=facilities, booking_number__startswith="SC").order_by("id")
    for inmate in inmates[: GRANTS * 40 : 40]:
        InmateUserObjectPermission.objects.update_or_create(
            user=user,
            permission=perm,
            content_object=inmate,
            defaults={"case_reference": "BENCH", "expires_at": timezone.now() + timedelta(days=30)},
        )
    return user


def _timed(label: str, fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    fn()  # warm caches and the connection
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    log(f"scale: {label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    return p50, p99


def run(args: argparse.Namespace) -> list[str]:
    total = getattr(args, "recordings", None) or (200_000 if args.quick else 10_000_000)
    repeat = 50 if args.quick else 200
    prepare(reset=args.reset)
    from django.conf import settings

    # Every list page charges call_rows (50 rows a page); the charge is measured, not the limit.
    settings.ACCESS_QUOTAS = {**settings.ACCESS_QUOTAS, "call_rows": [(3600, 10**9)]}
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from apps.recordings.models import Recording

    load(total)
    user = investigator()
    token = Token.objects.get_or_create(user=user)[0].key
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")

    def page(queryset: Any) -> Callable[[], Any]:
        """The list view's two steps: a page of ids, then those rows with their call."""

        def fetch() -> Any:
            ids = list(queryset.order_by("-id").values_list("id", flat=True)[:51])
            rows = Recording.objects.select_related("call", "call__facility", "call__inmate").in_bulk(ids)
            return [rows[i] for i in ids]

        return fetch

    def endpoint(path: str) -> Callable[[], Any]:
        def call() -> None:
            response = client.get(path)
            assert response.status_code == 200, response.content[:200]

        return call

    results = {
        "unfiltered query": _timed("unfiltered", page(Recording.objects.all()), repeat),
        "scoped query (view: 2 facilities)": _timed(
            "view", page(Recording.objects.restrict(user, "view")), repeat
        ),
        "scoped query (play: 50 grants)": _timed(
            "play", page(Recording.objects.restrict(user, "play")), repeat
        ),
        "GET /api/v1/recordings/": _timed("endpoint", endpoint("/api/v1/recordings/"), repeat),
        "GET /api/v1/recordings/?playable=1": _timed(
            "endpoint playable", endpoint("/api/v1/recordings/?playable=1"), repeat
        ),
    }
    playable = Recording.objects.restrict(user, "play").count() if total <= 1_000_000 else None
    base = results["unfiltered query"][1]
    lines = [
        f"recordings loaded: {total:,}; investigator: 2 facilities, {GRANTS} inmate grants"
        + (f"; playable rows: {playable:,}" if playable is not None else "")
    ]
    for label, (p50, p99) in results.items():
        lines.append(
            f"  {label:<38} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   vs unfiltered p99 x{p99 / base:.1f}"
        )
        target = label.startswith("GET")
        report.add(
            report.Row(
                figure=f"first page, {label} ({total:,} recordings)",
                value=f"p99 {p99:.1f} ms",
                reference=f"unfiltered p99 {base:.1f} ms",
                ratio=f"x{p99 / base:.1f}",
                target="p99 < 50 ms" if target else "",
                met=(p99 < 50) if target else None,
            )
        )
    return lines
