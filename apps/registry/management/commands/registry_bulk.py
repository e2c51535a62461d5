from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.roles import REGISTRY_CLERK
from apps.audit.commands import add_actor_argument, command_actor, holds_role
from apps.common.errors import DomainError
from apps.registry.bulk import (
    bulk_change_approve,
    bulk_change_digest,
    bulk_change_reject,
    pending_bulk_changes,
)


class Command(BaseCommand):
    help = (
        "Bulk changes of the registry waiting for a second registry clerk: list them, approve one "
        "(applied at once, all or nothing, with --digest as listed: the approver approves what they "
        "saw) or reject one with a reason."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("verb", choices=["list", "approve", "reject"])
        parser.add_argument("change_id", nargs="?", type=int)
        parser.add_argument("--reason", default="", help="why a change is rejected (required to reject)")
        parser.add_argument(
            "--digest",
            default=None,
            help="the digest `list` showed for the change (required to approve; refused if it changed since)",
        )
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
                    f"{_ids(change.payload)} digest {bulk_change_digest(change)}"
                )
            return
        if change_id is None:
            raise CommandError(f"{verb} needs the bulk change id")
        try:
            if verb == "approve":
                if not options["digest"]:
                    raise CommandError("approve needs --digest (as `list` shows it for the change)")
                change = bulk_change_approve(change_id=change_id, clerk=clerk, digest=options["digest"])
                self.stdout.write(f"bulk change {change.pk} applied: {json.dumps(_short(change.result))}")
            else:
                change = bulk_change_reject(change_id=change_id, clerk=clerk, reason=options["reason"])
                self.stdout.write(f"bulk change {change.pk} rejected")
        except DomainError as exc:
            details = "".join(f"\n{e}" for e in exc.extra.get("errors", []))
            raise CommandError(f"{exc.message}{details}") from exc


def _ids(payload: dict[str, Any]) -> str:
    """A revocation batch lists its registrations: the approver approves those, no others."""
    ids = payload.get("registration_ids")
    return f" registrations {','.join(str(i) for i in ids)}" if ids else ""


def _short(values: dict[str, Any]) -> dict[str, Any]:
    return {key: (len(value) if isinstance(value, list) else value) for key, value in values.items()}
