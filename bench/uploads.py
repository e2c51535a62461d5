"""Recording uploads through the storage gate, next to raw boto3 put_object of the same bytes.

Measured in-process: ``apps.recordings.services.recording_store`` (header checks, privilege
decision, spool + SHA-256, number lock + row lock + second decision, data key, sealing in
64 KiB AES-256-GCM chunks, S3 put with SSE-C, Recording row, wrapped key, audit event)
against ``put_object`` of the same bytes by the same boto3 client to the same S3 server
(bench bucket). In-process is the fairer comparison: neither side pays an HTTP hop, so the
ratio is the gate's own cost.

A third, informational line puts the same bytes with SSE-C (the server encrypts), to show how
much of the gap is the server's encryption rather than our code.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from bench import report
from bench.env import log, prepare

SIZES = [256 * 1024, 2 * 1024 * 1024]
TARGET_RATIO = 0.8
MIB = 1024 * 1024


@dataclass
class Timing:
    seconds: float = 0.0
    objects: int = 0
    size: int = 0
    samples: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.seconds += seconds
        self.objects += 1
        self.samples.append(seconds)

    @property
    def per_second(self) -> float:
        return self.objects / self.seconds if self.seconds else 0.0

    @property
    def mib_per_second(self) -> float:
        return self.per_second * self.size / MIB

    def p50_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[len(ordered) // 2] * 1000 if ordered else 0.0


def _size_label(size: int) -> str:
    return f"{size // MIB} MiB" if size >= MIB else f"{size // 1024} KiB"


def _calls(count: int, run_id: str, fixture: Any) -> list[Any]:
    """Recordable calls (not privileged) for the gate to store audio of; not timed."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from apps.calls.services import call_setup
    from apps.facilities.models import Facility

    facility = Facility.objects.get(code=fixture.facility_code)
    actor = User.objects.get(username=fixture.switch_username)
    calls = []
    for i in range(count):
        call, _ = call_setup(
            facility=facility,
            switch_call_id=f"{run_id}-up-{i}",
            booking_number=fixture.booking_numbers[i % len(fixture.booking_numbers)],
            dialed_number=f"+1718{6000000 + (i * 7919) % 1000000}",
            started_at=timezone.now(),
            actor=actor,
        )
        assert not call.privileged
        calls.append(call)
    return calls


def run(args: Any) -> list[str]:
    fixture = prepare(reset=args.reset)
    from django.conf import settings
    from django.contrib.auth.models import User

    from apps.recordings.services import recording_store
    from apps.recordings.storage import S3Storage, get_storage

    storage = get_storage()
    if not isinstance(storage, S3Storage):
        raise RuntimeError("the uploads bench needs RECORDINGS_STORAGE=s3 (run `make bench`)")
    storage.ensure_bucket()
    client, bucket = storage.client, settings.S3_BUCKET
    actor = User.objects.get(username=fixture.switch_username)
    count = args.objects
    rounds = 5 if count >= 20 else 1
    per_round = max(1, count // rounds)
    count = per_round * rounds
    run_id = f"u{int(time.time())}"
    raw_keys: list[str] = []

    lines = [
        f"S3: {settings.S3_ENDPOINT_URL}, bucket {settings.S3_BUCKET} (bench only); in-process, one "
        f"thread, the same boto3 client; {count} objects per size and kind, interleaved in {rounds} rounds",
        "gated = recording_store(): checks + decision + spool/SHA-256 + locks + 2nd decision + chunk sealing "
        "+ SSE-C put + Recording row + wrapped key + audit event",
        "",
        f"{'size':<8} {'kind':<22} {'obj/s':>7} {'MiB/s':>7} {'p50 ms':>7}",
        "-" * 55,
    ]
    for size in SIZES:
        payload = os.urandom(size)
        digest = hashlib.sha256(payload).hexdigest()
        calls = _calls(count + 2, f"{run_id}-{size}", fixture)
        raw, raw_ssec, gated = Timing(size=size), Timing(size=size), Timing(size=size)

        log(f"uploads: {_size_label(size)}, warm-up")
        _put_raw(client, bucket, payload, sse=False, keys=raw_keys)
        _put_raw(client, bucket, payload, sse=True, keys=raw_keys)
        _put_gated(recording_store, calls.pop(), payload, digest, actor)
        _put_gated(recording_store, calls.pop(), payload, digest, actor)
        log(f"uploads: {_size_label(size)}, {count} objects x 3 kinds")
        for _ in range(rounds):
            for _ in range(per_round):
                raw.add(_put_raw(client, bucket, payload, sse=False, keys=raw_keys))
            for _ in range(per_round):
                gated.add(_put_gated(recording_store, calls.pop(), payload, digest, actor))
            for _ in range(per_round):
                raw_ssec.add(_put_raw(client, bucket, payload, sse=True, keys=raw_keys))
        label = _size_label(size)
        for kind, t in [("raw put_object", raw), ("raw put_object + SSE-C", raw_ssec), ("gated", gated)]:
            lines.append(
                f"{label:<8} {kind:<22} {t.per_second:>7.1f} {t.mib_per_second:>7.1f} {t.p50_ms():>7.1f}"
            )
        lines.append(
            f"{label:<8} gate overhead (medians): {gated.p50_ms() - raw.p50_ms():.1f} ms over raw put, "
            f"{gated.p50_ms() - raw_ssec.p50_ms():.1f} ms over raw put + SSE-C"
        )
        ratio = gated.per_second / raw.per_second if raw.per_second else 0.0
        report.add(
            report.Row(
                f"recording uploads {label} (gated)",
                f"{gated.per_second:.1f} obj/s, {gated.mib_per_second:.1f} MiB/s",
                f"raw put {raw.per_second:.1f} obj/s",
                f"{ratio:.2f}x",
                f">= {TARGET_RATIO}x",
                ratio >= TARGET_RATIO,
            )
        )
        report.add(
            report.Row(
                f"  same, vs raw put + SSE-C {label}",
                f"{gated.per_second:.1f} obj/s",
                f"raw+SSE-C {raw_ssec.per_second:.1f} obj/s",
                f"{gated.per_second / raw_ssec.per_second:.2f}x" if raw_ssec.per_second else "",
                "",
                None,
            )
        )
    _delete(client, bucket, raw_keys)
    return lines


def _put_raw(client: Any, bucket: str, payload: bytes, *, sse: bool, keys: list[str]) -> float:
    key = f"bench-raw/{uuid.uuid4().hex}"
    extra: dict[str, Any] = (
        {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": os.urandom(32)} if sse else {}
    )
    started = time.perf_counter()
    client.put_object(Bucket=bucket, Key=key, Body=payload, **extra)
    elapsed = time.perf_counter() - started
    keys.append(key)
    return elapsed


def _put_gated(store: Any, call: Any, payload: bytes, digest: str, actor: Any) -> float:
    started = time.perf_counter()
    store(
        call=call,
        body=io.BytesIO(payload),
        content_type="audio/wav",
        content_length=len(payload),
        expected_sha256=digest,
        actor=actor,
    )
    return time.perf_counter() - started


def _delete(client: Any, bucket: str, keys: list[str]) -> None:
    """Remove the raw reference objects (the gated ones belong to Recording rows in the bench DB)."""
    from botocore.exceptions import BotoCoreError, ClientError

    for start in range(0, len(keys), 1000):
        batch = keys[start : start + 1000]
        try:
            client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
        except (BotoCoreError, ClientError):
            for key in batch:
                client.delete_object(Bucket=bucket, Key=key)
