from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.recordings.services import storage_orphans
from apps.recordings.storage import get_storage


class Command(BaseCommand):
    help = (
        "Find objects in recording storage that have no Recording row (left by a crash between "
        "the storage write and the commit) and delete them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--min-age-minutes",
            type=int,
            default=60,
            help="leave younger objects alone: their upload may still commit",
        )
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["min_age_minutes"] < 0:
            raise CommandError("--min-age-minutes must be >= 0")
        cutoff = timezone.now() - timedelta(minutes=options["min_age_minutes"])
        orphans = storage_orphans(older_than=cutoff)
        storage = get_storage()
        for key in orphans:
            if not options["dry_run"]:
                storage.delete(key)
            self.stdout.write(f"{'would delete' if options['dry_run'] else 'deleted'} {key}")
        self.stdout.write(f"{len(orphans)} orphan object(s) {'found' if options['dry_run'] else 'removed'}")
