"""``exposure_report --as OFFICER NUMBER_OR_REGISTRATION_ID [--json]``: build, sign and keep an
exposure report now, and print it; ``exposure_report --as OFFICER --verify REPORT_ID``: check a
kept report's signature (exit non-zero if it fails)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.roles import PRIVILEGE_OFFICER
from apps.actions.exposure import (
    Subject,
    exposure_report_body,
    exposure_report_generate,
    exposure_report_signature_valid,
    exposure_reports_for,
)
from apps.audit.commands import add_actor_argument, command_actor, holds_role, record_command
from apps.audit.models import Outcome
from apps.calls.models import Call
from apps.calls.reads import call_rows_served
from apps.common.errors import DomainError
from apps.common.phone import normalize_phone_number
from apps.registry.models import ExemptNumber, ExposureReport, ExposureTrigger

ROLE = "privilege officer"


class Command(BaseCommand):
    help = "Produce (and keep, signed) the exposure report of a number or registration, or verify one."

    def add_arguments(self, parser: CommandParser) -> None:
        add_actor_argument(parser, role=ROLE)
        parser.add_argument("subject", nargs="?", help="E.164 number, or a registration id")
        parser.add_argument("--json", action="store_true", help="print the signed body as JSON")
        parser.add_argument(
            "--verify", type=int, metavar="REPORT_ID", help="verify a kept report's signature"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = command_actor(options["actor"], role=ROLE, allowed=lambda u: holds_role(u, PRIVILEGE_OFFICER))
        if options["verify"] is not None:
            self._verify(actor, options["verify"])
            return
        if not options["subject"]:
            raise CommandError("name a number or a registration id, or --verify REPORT_ID")
        subject = _subject(options["subject"])
        report = exposure_report_generate(subject=subject, trigger=ExposureTrigger.COMMAND, actor=actor)
        if not exposure_reports_for(actor).filter(pk=report.pk).exists():
            record_command(
                command="exposure_report", actor=actor, outcome=Outcome.DENIED, report_id=report.pk
            )
            raise CommandError(
                f"exposure report {report.pk} is kept, but it has calls in facilities outside your "
                "scope: an officer of every facility it touches must read it"
            )
        body = exposure_report_body(report)
        try:  # what is printed is a page of call records: metered and audited like one
            call_rows_served(
                user=actor,
                action="exposure_report.viewed",
                calls=Call.objects.filter(pk__in=[row["call_id"] for row in body["calls"]["rows"]]).only(
                    "pk"
                ),
                target=report,
                via="command",
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        record_command(command="exposure_report", actor=actor, report_id=report.pk)
        if options["json"]:
            self.stdout.write(
                json.dumps({"report_id": report.pk, "signature": report.signature, "body": body})
            )
            return
        self._print(report, body)

    def _verify(self, actor: User, report_id: int) -> None:
        report = ExposureReport.objects.filter(pk=report_id).first()
        if report is None:
            raise CommandError(f"no exposure report {report_id}")
        valid = exposure_report_signature_valid(report)
        record_command(
            command="exposure_report.verify",
            actor=actor,
            outcome=Outcome.SUCCESS if valid else Outcome.FAILED,
            report_id=report_id,
            valid=valid,
        )
        if not valid:
            raise CommandError(f"exposure report {report_id}: signature does NOT verify")
        self.stdout.write(f"exposure report {report_id}: signature verifies (key {report.key_id})")

    def _print(self, report: ExposureReport, body: dict[str, Any]) -> None:
        s = body["summary"]
        self.stdout.write(
            f"exposure report {report.pk} for {report.number_ref} "
            f"(registration {body['subject']['registration_id']}): {s['calls']} call(s) in "
            f"{s['facilities']} facility(ies) from {s['first_call']} to {s['last_call']}; "
            f"{s['recorded']} recorded, {s['played']} played ({s['playback_requests']} request(s), "
            f"about {s['seconds_heard']} s), {s['exported']} exported in {s['exports']} export(s), "
            f"{s['downloaded']} downloaded, {s['productions']} production(s)"
        )
        for p in body["playbacks"]:
            self.stdout.write(
                f"  played recording {p['recording_id']} by {p['username']} at {p['at']}: "
                f"bytes {p['range'][0]}-{p['range'][1]} (about {p['seconds']} s)"
            )
        for e in body["exports"]:
            self.stdout.write(
                f"  export {e['export_id']} ({e['status']}) by {e['requested_by']}: recordings "
                f"{e['recording_ids']}, downloaded {e['downloaded_at'] or 'no'}"
            )


def _subject(raw: str) -> Subject:
    """A registration id (digits only), or a number (its latest registration, if any)."""
    if raw.isdigit():
        registration = ExemptNumber.objects.filter(pk=int(raw)).first()
        if registration is None:
            raise CommandError(f"no registration {raw}")
        return Subject(number=registration.number, registration=registration)
    try:
        number = normalize_phone_number(raw)
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    registration = ExemptNumber.objects.filter(number=number).order_by("-created_at", "-pk").first()
    return Subject(number=number, registration=registration)
