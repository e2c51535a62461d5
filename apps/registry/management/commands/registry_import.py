from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.registry.portability import import_text


class Command(BaseCommand):
    help = (
        "Import an attorney registry (CSV or JSON). Every row is validated first; if any is bad, "
        "each bad row is reported with its line and nothing is changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--format", choices=["csv", "json"], help="Default: from the file extension")
        parser.add_argument(
            "--as", dest="username", required=True, help="Registry clerk recorded as verifier"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        fmt = options["format"] or ("json" if path.suffix.lower() == ".json" else "csv")
        try:
            actor = User.objects.get(username=options["username"], is_active=True)
        except User.DoesNotExist as exc:
            raise CommandError(f"no active user {options['username']!r}") from exc
        if not actor.has_perm("registry.verify_exemptnumber"):
            raise CommandError("the importing user must be a registry clerk")
        report = import_text(path.read_text(encoding="utf-8-sig"), fmt, actor=actor)
        if report.errors:
            for error in report.errors:
                self.stderr.write(error)
            raise CommandError(f"{len(report.errors)} invalid row(s); nothing was imported")
        self.stdout.write(
            f"imported {report.imported} registration(s); quarantined {report.quarantined} recording(s)"
        )
