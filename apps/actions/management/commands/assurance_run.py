from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.roles import AUDITOR, REGISTRY_CLERK
from apps.actions.assurance import assurance_run
from apps.audit.commands import add_actor_argument, command_actor, holds_role


class Command(BaseCommand):
    help = (
        "Run the nightly assurance check now: every verified number through call setup and the "
        "storage gate with a synthetic call. Exits non-zero (after raising the alarm) on any failure."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_actor_argument(parser, role="registry clerk or auditor")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = command_actor(
            options["actor"],
            role="registry clerk or auditor",
            allowed=lambda user: holds_role(user, REGISTRY_CLERK) or holds_role(user, AUDITOR),
        )
        run = assurance_run(trigger="command", actor=actor)
        rate = run.numbers_checked / run.duration_seconds if run.duration_seconds else 0.0
        facility = run.global_facility.code if run.global_facility else "-"
        self.stdout.write(
            f"assurance run {run.pk}: {run.numbers_checked} number(s) checked "
            f"({run.global_checked} global in {facility}, {run.scoped_checked} facility-scoped), "
            f"{run.failures} failure(s), {run.duration_seconds:.2f} s ({rate:.0f} numbers/s)"
        )
        for failure in run.failure_details:
            self.stderr.write(
                f"  FAILED registration {failure['registration_id']} {failure['number_ref']} "
                f"in facility {failure['facility_id']} at {failure['stage']}: {failure['reason']}"
            )
        if run.failures:
            raise CommandError(f"{run.failures} number(s) failed: alarm raised")
