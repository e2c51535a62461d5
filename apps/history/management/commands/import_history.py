"""``import_history --as ADMIN FILE.csv [--rejects R.csv] [--not-copied N.csv] [--batch N]``:
import a previous vendor's call history (columns: apps/history/columns.py), with the registry
applied retroactively; prints progress (rows/s, ETA) and the signed migration report.
``import_history --as ADMIN --verify IMPORT_ID`` checks a kept report's signature."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.commands import add_actor_argument, command_actor
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.history.loader import BATCH_ROWS, ImportFileError, history_import, report_signature_valid
from apps.history.models import HistoryImport

ROLE = "facility administrator of the facilities in the file"


class Command(BaseCommand):
    help = "Import a previous vendor's call-detail records (vendor migration)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_actor_argument(parser, role=ROLE)
        parser.add_argument(
            "file", nargs="?", type=Path, help="the vendor's CSV (see apps/history/columns.py)"
        )
        parser.add_argument("--rejects", type=Path, help="where bad rows go (default: FILE.rejects.csv)")
        parser.add_argument(
            "--not-copied", type=Path, help="the privileged recordings list (default: FILE.not-copied.csv)"
        )
        parser.add_argument(
            "--batch", type=int, default=BATCH_ROWS, help=f"rows per batch (default {BATCH_ROWS})"
        )
        parser.add_argument(
            "--verify", type=int, metavar="IMPORT_ID", help="verify a kept report's signature"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = command_actor(
            options["actor"],
            role=ROLE,
            allowed=lambda u: Facility.objects.restrict(u, Action.MANAGE).exists(),
        )
        if options["verify"] is not None:
            run = HistoryImport.objects.filter(pk=options["verify"]).first()
            if run is None or not run.signature:
                raise CommandError(f"no finished import {options['verify']}")
            if not report_signature_valid(run):
                raise CommandError(f"import {run.pk}: the report's signature does NOT verify")
            self.stdout.write(f"import {run.pk}: the report's signature verifies ({run.key_id})")
            return
        path: Path | None = options["file"]
        if path is None:
            raise CommandError("name the file to import, or --verify IMPORT_ID")
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if not 1 <= options["batch"] <= 1_000_000:
            raise CommandError("--batch must be from 1 to 1000000")
        facilities = {
            code: (pk, region)
            for code, pk, region in Facility.objects.restrict(actor, Action.MANAGE).values_list(
                "code", "pk", "phone_region"
            )
        }
        rejects = options["rejects"] or path.with_suffix(".rejects.csv")
        not_copied = options["not_copied"] or path.with_suffix(".not-copied.csv")
        started = time.monotonic()

        def progress(rows: int, done: int, total: int) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            rate = rows / elapsed
            eta = (total - done) / (done / elapsed) if done else 0.0
            bar = "#" * int(30 * done / max(total, 1))
            sys.stderr.write(f"\r[{bar:<30}] {rows:,} rows  {rate:,.0f} rows/s  ETA {eta:,.0f} s ")
            sys.stderr.flush()

        try:
            result = history_import(
                path=path,
                actor=actor,
                facilities=facilities,
                reject_path=rejects,
                not_copied_path=not_copied,
                batch_rows=options["batch"],
                progress=progress,
            )
        except ImportFileError as exc:
            raise CommandError(f"{path}: {exc} (rows before it are loaded; see {rejects})") from exc
        finally:
            sys.stderr.write("\n")
        run = result.history_import
        self.stdout.write(
            json.dumps({"report": run.report, "signature": run.signature, "key_id": run.key_id})
        )
        f = result.figures
        self.stderr.write(
            f"import {run.pk}: {f.rows:,} rows, {f.loaded:,} loaded, {f.skipped_identical:,} already there, "
            f"{f.privileged:,} privileged, {f.recordings_not_copied:,} recordings not copied, "
            f"{f.rejects:,} rejected (see {rejects}); {result.seconds:.1f} s"
        )
