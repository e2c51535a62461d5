"""Verify every sealed audit event and every signed checkpoint; exit 1 on the first fault."""

from __future__ import annotations

import base64
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.chain import verify_chain
from apps.audit.verification import chain_verification_run
from apps.audit.witness import get_witness
from apps.common.s3 import S3_ERRORS

# Reading the witness: a local folder (OSError) or S3.
WITNESS_ERRORS: tuple[type[Exception], ...] = (OSError, *S3_ERRORS)


class Command(BaseCommand):
    help = "Check the audit hash chain and its signed checkpoints; report the first tampered event."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--public-key",
            help="base64 Ed25519 public key to check checkpoints with (default: from AUDIT_SIGNING_KEY)",
        )
        parser.add_argument(
            "--record",
            action="store_true",
            help="store the result as the periodic task does (shown on the auditors' dashboard)",
        )
        parser.add_argument(
            "--no-witness",
            action="store_true",
            help="do not compare with the checkpoint copies outside the database (AUDIT_WITNESS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["record"]:
            if options["public_key"] or options["no_witness"]:
                raise CommandError("--record checks with the configured key and witness only")
            result = chain_verification_run()
            if not result.ok:
                raise CommandError(
                    f"audit chain INVALID (recorded): {result.problem_kind}: {result.message}", returncode=1
                )
            self.stdout.write(self.style.SUCCESS(f"audit chain OK (recorded): {result.events} sealed events"))
            return
        key = base64.b64decode(options["public_key"]) if options["public_key"] else None
        witness = None if options["no_witness"] else get_witness()
        try:
            report = verify_chain(public_key=key, witness=witness)
        except WITNESS_ERRORS as exc:
            raise CommandError(
                f"cannot read the checkpoint witness ({exc}); retry, or run with --no-witness to check "
                "the database alone"
            ) from exc
        for note in report.notes:
            self.stdout.write(f"note: {note}")
        if report.problem is not None:
            problem = report.problem
            raise CommandError(
                f"audit chain INVALID: {problem.kind} at sequence {problem.sequence}: {problem.message} "
                f"({report.events} events verified before it)",
                returncode=1,
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"audit chain OK: {report.events} sealed events (1..{report.last_sequence}), "
                f"{report.checkpoints} signed checkpoints, tip {report.last_hash[:16]}"
            )
        )
