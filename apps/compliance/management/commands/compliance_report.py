"""python manage.py compliance_report --facility CODE --from YYYY-MM-DD --to YYYY-MM-DD --as AUDITOR"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.roles import AUDITOR
from apps.audit.commands import add_actor_argument, command_actor, holds_role
from apps.compliance.services import ReportInputError, compliance_report_generate, period_parse


class Command(BaseCommand):
    help = (
        "Make the signed compliance report (PDF, CSV, manifest) of one facility and period. A report "
        "already issued for that facility and period is never made again: the command says so."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("facility_code", nargs="?", metavar="FACILITY", help="facility code")
        parser.add_argument("--facility", dest="facility", help="facility code (or give it first)")
        parser.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="first day")
        parser.add_argument(
            "--to", dest="end", required=True, metavar="YYYY-MM-DD", help="last day (inclusive)"
        )
        add_actor_argument(parser, role="auditor")

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["facility"] or options["facility_code"]
        if not code:
            raise CommandError("name the facility: --facility CODE")
        actor = command_actor(
            options["actor"], role="auditor", allowed=lambda user: holds_role(user, AUDITOR)
        )
        try:
            period = period_parse(facility_code=code, start=options["start"], end=options["end"])
        except ReportInputError as exc:
            raise CommandError(f"{exc.message} ({exc.reason}: {exc.extra.get('field')})") from None
        try:
            report, made = compliance_report_generate(period=period, actor=actor, progress=self.stdout.write)
        except Exception as exc:
            raise CommandError(f"the report failed: {type(exc).__name__}: {exc}") from exc
        verb = "made" if made else "already issued (a report is never regenerated)"
        self.stdout.write(
            self.style.SUCCESS(
                f"compliance report {report.pk} {verb}: {code} {report.period_start}..{report.period_end}, "
                f"status {report.status}, PDF sha256 {report.pdf_sha256 or '-'}"
            )
        )
