from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.roles import REGISTRY_CLERK
from apps.audit.commands import add_actor_argument, command_actor, holds_role
from apps.common.errors import DomainError
from apps.registry.bulk import bulk_change_approve, bulk_change_reject, pending_bulk_changes


class Command(BaseCommand):
    help = (
        "Bulk changes of the registry waiting for a second registry clerk: list them, approve one "
        "(applied at once, all or nothing) or reject one with a reason."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("verb", choices=["list", "approve", "reject"])
        parser.add_argument("change_id", nargs="?", type=int)
        parser.add_argument("--reason", default="", help="why a change is rejected (required to reject)")
        add_actor_argument(parser, role="registry clerk, other than the proposer")

    def handle(self, *args: Any, **options: Any) -> None:
        clerk = command_actor(
            options["actor"], role="registry clerk", allowed=lambda user: holds_role(user, REGISTRY_CLERK)
        )
        verb, change_id = options["verb"], options["change_id"]
        if verb == "list":
            for change in pending_bulk_changes():
                self.stdout.write(
                    f"{change.pk} {change.kind} by {change.proposed_by.get_username()} at "
                    f"{change.proposed_at:%Y-%m-%d %H:%M} UTC: {json.dumps(_short(change.preview))}"
                )
            return
        if change_id is None:
            raise CommandError(f"{verb} needs the bulk change id")
        try:
            if verb == "approve":
                change = bulk_change_approve(change_id=change_id, clerk=clerk)
                self.stdout.write(f"bulk change {change.pk} applied: {json.dumps(_short(change.result))}")
            else:
                change = bulk_change_reject(change_id=change_id, clerk=clerk, reason=options["reason"])
                self.stdout.write(f"bulk change {change.pk} rejected")
        except DomainError as exc:
            details = "".join(f"\n{e}" for e in exc.extra.get("errors", []))
            raise CommandError(f"{exc.message}{details}") from exc


def _short(values: dict[str, Any]) -> dict[str, Any]:
    return {key: (len(value) if isinstance(value, list) else value) for key, value in values.items()}
