from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.roles import REGISTRY_CLERK
from apps.audit.commands import add_actor_argument, command_actor, holds_role, record_command
from apps.audit.models import Outcome
from apps.registry.bulk import ImportInvalidError, bulk_import_propose
from apps.registry.importing import ImportReport, plan_import


class Command(BaseCommand):
    help = (
        "Import an attorney registry (CSV or JSON; apps/registry/portability.py). Prints the dry "
        "run (identical rows skipped and counted, conflicts with their lines, errors with their "
        "lines); if any row is bad nothing happens. Otherwise the import waits, as a bulk change, "
        "for a second registry clerk: `registry_bulk approve ID --as OTHER_CLERK`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--format", choices=["csv", "json"], help="Default: from the file extension")
        parser.add_argument("--dry-run", action="store_true", help="only print what the import would do")
        parser.add_argument("--strict", action="store_true", help="treat conflicting rows as errors")
        add_actor_argument(parser, role="registry clerk, recorded as verifier")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        fmt = options["format"] or ("json" if path.suffix.lower() == ".json" else "csv")
        actor = command_actor(
            options["actor"], role="registry clerk", allowed=lambda user: holds_role(user, REGISTRY_CLERK)
        )
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: {exc}; nothing was imported") from exc
        change = None
        if options["dry_run"]:
            _, report = plan_import(text, fmt, strict=options["strict"])
        else:
            try:
                change, report = bulk_import_propose(
                    text=text, fmt=fmt, file_name=path.name, actor=actor, strict=options["strict"]
                )
            except ImportInvalidError:
                _, report = plan_import(text, fmt, strict=options["strict"])
        # The run itself is recorded, refused or not; each applied row has its own event later.
        record_command(
            command="registry_import",
            actor=actor,
            outcome=Outcome.REFUSED if report.errors else Outcome.SUCCESS,
            file=path.name[:200],
            dry_run=options["dry_run"],
            bulk_change=change.pk if change else None,
            rows=report.rows,
            identical=report.identical,
            conflicts=len(report.conflicts),
            invalid_rows=len(report.errors),
        )
        self._print(report)
        if report.errors:
            raise CommandError(f"{len(report.errors)} invalid row(s); nothing was imported")
        if options["dry_run"]:
            return
        if change is None:
            self.stdout.write("nothing to change: the registry already holds this file")
            return
        self.stdout.write(
            f"bulk change {change.pk} is pending: it takes effect once another registry clerk runs "
            f"`manage.py registry_bulk approve {change.pk} --as USERNAME`"
        )

    def _print(self, report: ImportReport) -> None:
        for error in report.errors:
            self.stderr.write(error)
        for conflict in report.conflicts:
            self.stderr.write(f"conflict: {conflict}")
        self.stdout.write(
            f"{report.rows} row(s): {report.identical} identical (skipped), {len(report.conflicts)} "
            f"conflicting (skipped), {report.to_create} to import, {report.to_verify} pending here to verify"
        )
