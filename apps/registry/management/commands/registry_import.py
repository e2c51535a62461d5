from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.roles import REGISTRY_CLERK
from apps.audit.commands import add_actor_argument, command_actor, holds_role, record_command
from apps.audit.models import Outcome
from apps.common.errors import DomainError
from apps.registry.portability import import_text


class Command(BaseCommand):
    help = (
        "Import an attorney registry (CSV or JSON). Every row is validated first; if any is bad, "
        "each bad row is reported with its line and nothing is changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--format", choices=["csv", "json"], help="Default: from the file extension")
        add_actor_argument(parser, role="registry clerk, recorded as verifier")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        fmt = options["format"] or ("json" if path.suffix.lower() == ".json" else "csv")
        actor = command_actor(
            options["actor"], role="registry clerk", allowed=lambda user: holds_role(user, REGISTRY_CLERK)
        )
        try:
            report = import_text(path.read_text(encoding="utf-8-sig"), fmt, actor=actor)
        except (OSError, UnicodeDecodeError, ValueError, DomainError) as exc:
            message = exc.message if isinstance(exc, DomainError) else str(exc)
            raise CommandError(f"{path}: {message}; nothing was imported") from exc
        # Each imported row has its own event; the run itself is recorded too, refused or not.
        record_command(
            command="registry_import",
            actor=actor,
            outcome=Outcome.REFUSED if report.errors else Outcome.SUCCESS,
            file=path.name[:200],
            imported=report.imported,
            invalid_rows=len(report.errors),
        )
        if report.errors:
            for error in report.errors:
                self.stderr.write(error)
            raise CommandError(f"{len(report.errors)} invalid row(s); nothing was imported")
        self.stdout.write(
            f"imported {report.imported} registration(s); quarantined {report.quarantined} recording(s)"
        )
