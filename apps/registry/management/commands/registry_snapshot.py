from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.roles import AUDITOR, REGISTRY_CLERK
from apps.audit.commands import add_actor_argument, command_actor, holds_role
from apps.registry.models import ListSnapshot
from apps.registry.snapshots import registry_snapshot_take, snapshot_signature_valid


class Command(BaseCommand):
    help = (
        "Take today's signed snapshot of the verified list now (if not taken yet) and compare it "
        "with the previous one; --verify checks every snapshot's signature instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--verify", action="store_true", help="check the signatures of all snapshots")
        add_actor_argument(parser, role="registry clerk or auditor")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = command_actor(
            options["actor"],
            role="registry clerk or auditor",
            allowed=lambda user: holds_role(user, REGISTRY_CLERK) or holds_role(user, AUDITOR),
        )
        if options["verify"]:
            bad = 0
            for snapshot in ListSnapshot.objects.order_by("day"):
                valid = snapshot_signature_valid(snapshot)
                bad += not valid
                self.stdout.write(f"{snapshot.day} {snapshot.count} {'ok' if valid else 'SIGNATURE INVALID'}")
            if bad:
                raise CommandError(f"{bad} snapshot(s) fail their signature")
            return
        outcome = registry_snapshot_take(actor=actor)
        snapshot = outcome.snapshot
        verb = "took" if outcome.created else "already taken:"
        self.stdout.write(
            f"{verb} snapshot {snapshot.day}: {snapshot.count} numbers, sha256 {snapshot.numbers_sha256}"
        )
        if outcome.alarm is not None:
            self.stderr.write(
                f"ALARM {outcome.alarm.pk}: {outcome.alarm.unexplained_count} number(s) left the list "
                "without an audited revocation, expiry or rejection"
            )
