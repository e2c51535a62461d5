"""The nightly assurance run (issue 11, section 3): how many verified numbers per second go
through the real call setup and the real storage gate (apps/actions/assurance.py).

    python -m bench --only assurance [--assurance-numbers N]

The default is small (2,000; 200 with --quick). The figure that matters is the one for the
1.3M numbers of the 2015 leak; measure it on a machine like production's with

    python -m bench --only assurance --assurance-numbers 1300000

(bulk-loading 1.3M registrations with COPY takes about a minute; the run itself takes
1.3M / the rate printed here, hours at single-digit-millisecond cost per number: it is one
Celery task with its own ASSURANCE_RUN_TIME_LIMIT). Each number costs one call-setup statement
(with its audit event), the gate's checks under the number's lock and a refusal event.
"""

from __future__ import annotations

import time
from typing import Any

from bench.call_setup import load_registry
from bench.env import prepare

LEAK_NUMBERS = 1_300_000


def run(args: Any) -> list[str]:
    prepare(reset=args.reset)
    from apps.actions.assurance import assurance_run

    count = args.assurance_numbers
    registry_size, load_seconds = load_registry(count)
    started = time.perf_counter()
    result = assurance_run(trigger="bench", limit=count)
    elapsed = time.perf_counter() - started
    rate = result.numbers_checked / elapsed if elapsed else 0.0
    lines = [
        f"registry: {registry_size:,} verified numbers"
        + (f" (bulk-loaded with COPY in {load_seconds:.1f} s)" if load_seconds else ""),
        f"run {result.pk}: {result.numbers_checked:,} numbers checked "
        f"({result.global_checked:,} global, {result.scoped_checked:,} facility-scoped), "
        f"{result.failures} failure(s), {elapsed:.2f} s",
        f"throughput: {rate:,.0f} numbers/second (synthetic setup + refused upload, one process)",
    ]
    if rate:
        hours = LEAK_NUMBERS / rate / 3600
        lines.append(f"extrapolated to {LEAK_NUMBERS:,} numbers: {hours:.1f} h (run it, don't trust this)")
    return lines
