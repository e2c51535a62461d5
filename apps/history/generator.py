"""``generate_history``: a Securus-shaped call-detail file of any size, for tests and the
benchmark (issue 14). Never shipped: it is written where it is asked to be.

The proportions are the seed's (70M calls over ~2.5 years, 1.3M distinct numbers, 63k inmates
in ~2,200 facilities, at least 14,000 attorney calls), scaled to ``rows``, over the facilities
that exist. The numbers the registry protects today (verified and under pending claims) are
dialled at the attorney share, written in the varied formats vendors export, so that the
import's retroactive rule is exercised on every format.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO

from apps.history.columns import COLUMNS

CALLS_PER_NUMBER = 70_000_000 / 1_300_000
CALLS_PER_INMATE = 70_000_000 / 63_000
ATTORNEY_SHARE = 14_000 / 70_000_000 * 50  # the seed's share is a floor; tests want more of them
SPAN = timedelta(days=912)  # about 2.5 years
LAST_NAMES = (
    "Garcia",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Lopez",
    "Wilson",
)
FIRST_NAMES = ("James", "Maria", "Robert", "Linda", "Michael", "Ana", "David", "Sarah", "Jose", "Karen")


@dataclass(frozen=True)
class Shape:
    rows: int
    facilities: Sequence[str]
    protected_numbers: Sequence[str]  # E.164, dialled at ATTORNEY_SHARE in varied formats
    start: datetime = datetime(2023, 1, 1, tzinfo=UTC)
    seed: int = 7
    bad_rows: int = 0  # rows that must be rejected (for tests of the reject file)
    call_id_prefix: str = "V"  # a file of its own ids (the benchmark imports a new one each run)
    with_recordings: float = 0.8


def national_formats(e164: str) -> list[str]:
    """How vendors write one North American number (others are kept as they are)."""
    if not e164.startswith("+1") or len(e164) != 12:
        return [e164]
    d = e164[2:]
    return [
        e164,
        f"({d[:3]}) {d[3:6]}-{d[6:]}",
        f"{d[:3]}.{d[3:6]}.{d[6:]}",
        f"1-{d[:3]}-{d[3:6]}-{d[6:]}",
        d,
    ]


def _ordinary_number(rng: random.Random, distinct: int) -> str:
    # 555-01xx is the fictional range: every generated number is one nobody owns.
    k = rng.randrange(distinct)
    area = 200 + k // 100 % 700
    return f"+1{area}555{k % 100:02d}{k // 70_000 % 100:02d}"


def write_history(out: IO[str], shape: Shape) -> int:
    """Write ``shape.rows`` rows (plus ``bad_rows``) to ``out``; returns the rows written."""
    rng = random.Random(shape.seed)  # noqa: S311 - test data, reproducible by its seed
    distinct_numbers = max(1, int(shape.rows / CALLS_PER_NUMBER))
    inmates_per_facility = max(1, int(shape.rows / CALLS_PER_INMATE / max(1, len(shape.facilities))))
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    seconds = int(SPAN.total_seconds())
    bad_every = shape.rows // shape.bad_rows if shape.bad_rows else 0
    written = 0
    for i in range(shape.rows):
        facility = shape.facilities[i % len(shape.facilities)]
        inmate = rng.randrange(inmates_per_facility)
        if shape.protected_numbers and rng.random() < ATTORNEY_SHARE:
            dialled = rng.choice(national_formats(rng.choice(shape.protected_numbers)))
        else:
            dialled = rng.choice(national_formats(_ordinary_number(rng, distinct_numbers)))
        started = shape.start + timedelta(seconds=rng.randrange(seconds))
        duration = rng.randrange(15, 900)
        ref = f"s3://vendor-recordings/{facility}/{i:09d}.wav" if rng.random() < shape.with_recordings else ""
        row = [
            f"{shape.call_id_prefix}{i:010d}",
            facility,
            f"{facility[:8].upper()}-{inmate:06d}",
            LAST_NAMES[inmate % len(LAST_NAMES)],
            FIRST_NAMES[(inmate // 7) % len(FIRST_NAMES)],
            f"A{inmate:08d}",
            dialled,
            started.isoformat(),
            str(duration),
            ref,
        ]
        if bad_every and i % bad_every == bad_every - 1:
            row[7] = "yesterday"  # a bad time: rejected with its line number
        writer.writerow(row)
        written += 1
    return written
