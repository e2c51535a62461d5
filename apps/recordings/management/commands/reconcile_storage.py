from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.audit.commands import add_actor_argument, command_actor, record_command
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
        add_actor_argument(parser, role="platform operator (superuser)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["min_age_minutes"] < 0:
            raise CommandError("--min-age-minutes must be >= 0")
        actor = command_actor(
            options["actor"], role="platform operator (superuser)", allowed=lambda user: user.is_superuser
        )
        cutoff = timezone.now() - timedelta(minutes=options["min_age_minutes"])
        orphans = storage_orphans(older_than=cutoff)
        # Recorded before anything is deleted: storage deletes are not transactional. Storage
        # keys are random and name no call, so they may go into the trail.
        record_command(
            command="reconcile_storage",
            actor=actor,
            dry_run=bool(options["dry_run"]),
            orphans=len(orphans),
            keys=orphans[:100],
        )
        storage = get_storage()
        for key in orphans:
            if not options["dry_run"]:
                storage.delete(key)
            self.stdout.write(f"{'would delete' if options['dry_run'] else 'deleted'} {key}")
        self.stdout.write(f"{len(orphans)} orphan object(s) {'found' if options['dry_run'] else 'removed'}")
