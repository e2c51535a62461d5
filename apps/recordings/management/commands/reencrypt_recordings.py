from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.recordings.errors import RecordingIntegrityError
from apps.recordings.reencryption import recording_reencrypt, recordings_in_legacy_format


class Command(BaseCommand):
    help = (
        "Rewrite recordings stored before the chunked authenticated format (v1) as v2, verifying "
        "each one first. Safe to run again; a damaged recording is reported and left as it is."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as", dest="username", required=True, help="superuser recorded as the actor")
        parser.add_argument("--limit", type=int, default=0, help="stop after this many (0 = all)")
        parser.add_argument("--dry-run", action="store_true", help="only count what is left")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = User.objects.filter(username=options["username"], is_active=True, is_superuser=True).first()
        if actor is None:
            raise CommandError(f"--as {options['username']!r} is not an active superuser")
        if options["limit"] < 0:
            raise CommandError("--limit must be >= 0")
        pending = recordings_in_legacy_format()
        if options["dry_run"]:
            self.stdout.write(f"{pending.count()} recording(s) in a v1 format")
            return
        if options["limit"]:
            pending = pending[: options["limit"]]
        done = skipped = damaged = 0
        for recording in pending.iterator():
            try:
                if recording_reencrypt(recording=recording, actor=actor):
                    done += 1
                else:
                    skipped += 1
            except RecordingIntegrityError:
                damaged += 1
                self.stderr.write(f"recording {recording.pk}: failed its integrity check; left as it is")
        self.stdout.write(f"{done} re-encrypted, {skipped} changed meanwhile, {damaged} damaged")
        if damaged:
            raise CommandError(f"{damaged} recording(s) failed their integrity check (audited)")
