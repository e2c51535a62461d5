"""``copy_history_recordings --as ADMIN [--import ID] [--manifest M.csv] [--source-dir DIR]
[--workers N] [--limit N]``: copy the vendor's recordings of imported calls through the storage
gate (apps/history/copying.py). Resumable: run it again to go on where it stopped."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.commands import add_actor_argument, command_actor
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.history.copying import CopyFigures, ManifestError, Source, history_recordings_copy, manifest_apply
from apps.history.models import HistoryImport

ROLE = "facility administrator of the imported facilities"


def _administers_a_facility(user: User) -> bool:
    return Facility.objects.restrict(user, Action.MANAGE).exists()


class Command(BaseCommand):
    help = "Copy an imported history's recordings through the storage gate."

    def add_arguments(self, parser: CommandParser) -> None:
        add_actor_argument(parser, role=ROLE)
        parser.add_argument("--import", dest="history_import", type=int, help="only this import's recordings")
        parser.add_argument("--manifest", type=Path, help="recording_ref,size,sha256 of the vendor's objects")
        parser.add_argument("--source-dir", type=Path, help="where file references are read from")
        parser.add_argument("--workers", type=int, default=4)
        parser.add_argument("--limit", type=int, help="copy at most this many now")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = command_actor(
            options["actor"],
            role=ROLE,
            allowed=lambda u: Facility.objects.restrict(u, Action.MANAGE).exists(),
        )
        run_id = options["history_import"]
        if run_id is not None:
            run = HistoryImport.objects.filter(pk=run_id).first()
            if run is None or run.started_by_id != actor.pk:
                raise CommandError(f"no import {run_id} of yours")
        if not 1 <= options["workers"] <= 32:
            raise CommandError("--workers must be from 1 to 32")
        source_dir = options["source_dir"]
        if source_dir is not None and not source_dir.is_dir():
            raise CommandError(f"{source_dir}: no such directory")
        if options["manifest"] is not None:
            try:
                matched = manifest_apply(options["manifest"])
            except (OSError, ManifestError) as exc:
                raise CommandError(f"{options['manifest']}: {exc}") from exc
            self.stderr.write(f"manifest: {matched:,} recordings matched")

        def progress(figures: CopyFigures) -> None:
            sys.stderr.write(
                f"\r{figures.done:,} done: {figures.copied:,} copied, {figures.quarantined:,} quarantined, "
                f"{figures.refused:,} refused, {figures.failed:,} failed "
            )

        figures = history_recordings_copy(
            actor=actor,
            source=Source(root=source_dir),
            history_import_id=run_id,
            workers=options["workers"],
            limit=options["limit"],
            progress=progress,
        )
        sys.stderr.write("\n")
        self.stdout.write(
            f"copied {figures.copied}, quarantined {figures.quarantined}, refused {figures.refused}, "
            f"failed {figures.failed}"
        )
