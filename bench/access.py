"""Bulk-export controls (issue 6): what quota + audit cost on the playback path.

* Playback-link issuance per second through the real endpoint (Django test client, in
  process, PostgreSQL), with quota and audit on, next to the same endpoint with both switched
  off (the bench replaces `metered` and `record_event` in the playback module for that run
  only), same run, same recordings.
* p99 latency of the atomic quota check (row lock + rolling-window sums + insert) under 32
  concurrent clients on one user, each on its own database connection.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from bench import report
from bench.env import log, prepare


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _scene() -> tuple[Any, list[int]]:
    import io
    import os

    from django.contrib.auth.models import User
    from django.utils import timezone
    from guardian.shortcuts import assign_perm

    from apps.calls.models import Call
    from apps.facilities.models import Facility
    from apps.inmates.models import Inmate
    from apps.inmates.services import inmate_grant_create
    from apps.recordings.models import Recording
    from apps.recordings.services import recording_store

    facility = Facility.objects.get(code="nyc-mdc")
    admin, _ = User.objects.get_or_create(username="bench-access-admin")
    user, _ = User.objects.get_or_create(username="bench-access-investigator")
    user.is_active = True
    user.save()
    for who, perms in [(admin, ["manage_facility", "view_facility_calls"]), (user, ["view_facility_calls"])]:
        for perm in perms:
            assign_perm(f"facilities.{perm}", who, facility)
    inmate, _ = Inmate.objects.get_or_create(
        facility=facility, booking_number="BENCH-ACCESS", defaults={"first_name": "B", "last_name": "A"}
    )
    inmate_grant_create(
        granted_by=admin,
        investigator=user,
        inmate=inmate,
        case_reference="BENCH",
        expires_at=timezone.now() + timedelta(days=1),
    )
    ids = list(Recording.objects.filter(inmate=inmate).values_list("id", flat=True))
    switch = User.objects.get(username="switch-nyc-mdc")
    for n in range(len(ids), 5):
        call = Call.objects.create(
            facility=facility,
            inmate=inmate,
            switch_call_id=f"bench-access-{n}-{time.time()}",
            dialed_number="+17185550199",
            started_at=timezone.now(),
            decision="record",
            reason="not_exempt",
        )
        audio = os.urandom(8192)
        ids.append(
            recording_store(
                call=call,
                body=io.BytesIO(audio),
                content_type="audio/wav",
                content_length=len(audio),
                expected_sha256=None,
                actor=switch,
            ).pk
        )
    return user, ids


@contextlib.contextmanager
def _quota_and_audit_off() -> Iterator[None]:
    from apps.recordings import playback

    real_metered, real_record = playback.metered, playback.record_event
    playback.metered = lambda **kw: contextlib.nullcontext()  # type: ignore[assignment]
    playback.record_event = lambda **kw: None  # type: ignore[assignment]
    try:
        yield
    finally:
        playback.metered, playback.record_event = real_metered, real_record


def _issue(user: Any, ids: list[int], n: int) -> tuple[float, list[float]]:
    from django.test import Client

    from apps.access.models import QuotaUsage

    client = Client()
    client.force_login(user)
    latencies = []
    began = time.perf_counter()
    for i in range(n):
        if i % 50 == 0:
            QuotaUsage.objects.filter(user=user).delete()  # stay under the quota: we time the check
        t = time.perf_counter()
        response = client.post(f"/api/v1/recordings/{ids[i % len(ids)]}/playback/")
        latencies.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.content[:200]
    return n / (time.perf_counter() - began), latencies


def _concurrent_quota(user: Any, clients: int, per_client: int) -> list[float]:
    from django.db import connections, transaction

    from apps.access.quotas import quota_consume

    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(per_client):
                t = time.perf_counter()
                with transaction.atomic():
                    quota_consume(user=user, kind="bench", amount=1)
                with lock:
                    latencies.append((time.perf_counter() - t) * 1000)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def run(args: argparse.Namespace) -> list[str]:
    prepare(reset=args.reset)
    from django.conf import settings

    from apps.access.models import QuotaUsage

    n = 100 if args.quick else 600
    settings.ACCESS_QUOTAS = {
        **settings.ACCESS_QUOTAS,
        "playback": [(3600, 10**9)],
        "playback_bytes": [(86400, 10**15)],
        "bench": [(3600, 10**9)],
    }
    user, ids = _scene()
    log(f"access: {n} playback links with quota + audit, then without")
    _issue(user, ids, 20)  # warm up
    on_rate, on_lat = _issue(user, ids, n)
    with _quota_and_audit_off():
        off_rate, off_lat = _issue(user, ids, n)
    ratio = on_rate / off_rate
    log("access: quota check, 32 concurrent clients")
    quota_lat = _concurrent_quota(user, 32, 5 if args.quick else 20)
    QuotaUsage.objects.filter(user=user).delete()
    p99_on, p99_off, q99 = _percentile(on_lat, 0.99), _percentile(off_lat, 0.99), _percentile(quota_lat, 0.99)
    report.add(
        report.Row(
            "playback links/s (quota + audit)",
            f"{on_rate:.0f}/s",
            f"off {off_rate:.0f}/s",
            f"{ratio:.2f}x",
            ">= 0.7x",
            ratio >= 0.7,
        )
    )
    report.add(
        report.Row(
            "quota check p99, 32 concurrent clients",
            f"{q99:.1f} ms",
            f"p50 {statistics.median(quota_lat):.1f} ms",
        )
    )
    return [
        f"playback link issuance, in-process through the endpoint, {n} requests each, one user:",
        f"  quota + audit on : {on_rate:7.1f} links/s  p50 {statistics.median(on_lat):6.2f} ms"
        f"  p99 {p99_on:6.2f} ms",
        f"  quota + audit off: {off_rate:7.1f} links/s  p50 {statistics.median(off_lat):6.2f} ms"
        f"  p99 {p99_off:6.2f} ms",
        f"  ratio on/off: {ratio:.2f}x (target >= 0.7x)",
        "quota check (lock + window sums + insert, own transaction) under 32 concurrent clients of one user,",
        f"  {len(quota_lat)} checks: p50 {statistics.median(quota_lat):.2f} ms, p99 {q99:.2f} ms,"
        f" max {max(quota_lat):.2f} ms",
        "  (all 32 serialise on the user's quota row by design: that is what makes the check atomic)",
    ]
