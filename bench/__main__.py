"""`make bench`: figures and ratios measured side by side in one run.

    python -m bench [--only calls,uploads,audit] [--duration S] [--numbers N] [--quick] [--reset]

Each section is a module with ``run(args) -> list[str]`` (lines to print); figures with a
target go to the summary table through ``bench.report.add``. A section whose module is not
there (yet) is skipped with a note. Exit status: 0 when every section ran, whether or not the
targets were met (it is a measurement); 1 if a section failed; 2 for a bad environment.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback
from dataclasses import dataclass

from bench import report
from bench.env import BenchEnvironmentError, check_environment, log, prepare


@dataclass(frozen=True)
class Section:
    name: str
    module: str
    title: str


SECTIONS = [
    Section("calls", "bench.call_setup", "Call-setup decisions through HTTP (gunicorn + wrk)"),
    Section("uploads", "bench.uploads", "Recording uploads: storage gate vs raw S3 put"),
    Section("audit", "bench.audit", "Audit trail"),
    Section("scale", "bench.scale", "Least privilege at scale: recordings list with per-inmate grants"),
    Section("access", "bench.access", "Bulk-export controls: playback links with quota + audit"),
    Section(
        "assurance", "bench.assurance", "Nightly assurance run: synthetic setup + refused upload per number"
    ),
    Section("history", "bench.history", "Vendor-history import vs a raw COPY of the same file"),
    Section("compliance", "bench.compliance", "Compliance report: one facility's half-year at CI size"),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    names = [s.name for s in SECTIONS]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SECTION",
        help=f"run only these sections (repeat or comma-separate): {', '.join(names)}",
    )
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (short, small)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per HTTP scenario [12]")
    parser.add_argument("--numbers", type=int, default=None, help="verified numbers in the registry [100000]")
    parser.add_argument("--objects", type=int, default=None, help="objects per size and kind [100]")
    parser.add_argument(
        "--audit-events", type=int, default=None, help="audit section: events to load [its default]"
    )
    parser.add_argument(
        "--recordings", type=int, default=None, help="scale section: recordings to bulk-load [its default]"
    )
    parser.add_argument(
        "--assurance-numbers",
        type=int,
        default=None,
        help="assurance section: verified numbers to run through setup and the gate [2000]",
    )
    parser.add_argument(
        "--history-rows", type=int, default=None, help="history section: rows to generate and import [300000]"
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections [16]")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads [2]")
    parser.add_argument("--paced-rate", type=float, default=0.0, help="paced req/s [100]")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class [gthread]")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers [2]")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker [4]")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=None,
        help="override CONN_MAX_AGE for the bench (default: the project's setting)",
    )
    parser.add_argument("--reset", action="store_true", help="drop and recreate the bench database first")
    args = parser.parse_args(argv)
    only = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
    unknown = sorted(set(only) - set(names))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    args.only = only
    if args.conn_max_age is not None:
        os.environ["BENCH_CONN_MAX_AGE"] = str(args.conn_max_age)  # read by bench.settings
    args.duration = args.duration if args.duration is not None else (3.0 if args.quick else 12.0)
    args.numbers = args.numbers if args.numbers is not None else (5000 if args.quick else 100_000)
    if args.assurance_numbers is None:
        args.assurance_numbers = 200 if args.quick else 2000
    if args.history_rows is None:
        args.history_rows = 20_000 if args.quick else 300_000
    args.objects = args.objects if args.objects is not None else (10 if args.quick else 100)
    return args


def _load(section: Section) -> object | None:
    try:
        return importlib.import_module(section.module)
    except ModuleNotFoundError as exc:
        if exc.name == section.module:
            return None
        raise


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_environment()
    except BenchEnvironmentError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    selected = [s for s in SECTIONS if not args.only or s.name in args.only]
    print(
        f"callplatform bench  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  python {platform.python_version()}  "
        f"{platform.machine()}, {os.cpu_count()} CPUs (shared by the server, PostgreSQL, the S3 server "
        "and the load generator: absolute figures are modest, read the ratios)"
        + ("  [--quick: smoke run, figures not meaningful]" if args.quick else "")
    )
    load1 = os.getloadavg()[0]
    if load1 > 0.5:
        print(f"WARNING: load average {load1:.2f} before the run: something else is using the CPUs")
    try:
        prepare(reset=args.reset)
    except BenchEnvironmentError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    failed = []
    for section in selected:
        print(f"\n== {section.name}: {section.title}")
        module = _load(section)
        if module is None:
            print(f"   skipped: {section.module} does not exist (yet)")
            continue
        started = time.perf_counter()
        try:
            lines = module.run(args)  # type: ignore[attr-defined]
        except BenchEnvironmentError as exc:
            print(f"   ERROR: {exc}")
            failed.append(section.name)
            continue
        except Exception:
            print("   ERROR:\n" + traceback.format_exc())
            failed.append(section.name)
            continue
        for line in lines:
            print(f"   {line}" if line else "")
        print(f"   ({time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.2f} at the end)")
        sys.stdout.flush()

    print("\n== summary")
    if report.ROWS:
        for line in report.table(report.ROWS):
            print(f"   {line}")
    missed = [r.figure.strip() for r in report.ROWS if r.met is False]
    if missed:
        print(f"   targets missed: {len(missed)} (a measurement, not a failure; see bench/README.md)")
    if failed:
        print(f"   sections that FAILED: {', '.join(failed)}")
        return 1
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
