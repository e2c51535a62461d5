"""Verify a compliance export archive offline (no database): python manage.py verify_audit_export PATH."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.exports import verify_export


class Command(BaseCommand):
    help = "Check an audit export: manifest signature, file hashes, event hashes and links, checkpoints."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--public-key",
            help="trusted base64 Ed25519 public key (default: the one in the manifest, with a warning)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        key = base64.b64decode(options["public_key"]) if options["public_key"] else None
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file", returncode=2)
        report = verify_export(path, public_key=key)
        for note in report.notes:
            self.stdout.write(f"note: {note}")
        if not report.ok:
            raise CommandError("audit export INVALID:\n  " + "\n  ".join(report.problems), returncode=1)
        self.stdout.write(self.style.SUCCESS(f"audit export OK: {report.events} events verified"))
