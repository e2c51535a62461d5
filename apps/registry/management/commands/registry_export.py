from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.accounts.roles import REGISTRY_CLERK
from apps.audit.commands import add_actor_argument, command_actor, holds_role
from apps.registry.portability import registry_export


class Command(BaseCommand):
    help = (
        "Export the attorney registry as CSV (formula-safe) or JSON (format documented in "
        "apps/registry/portability.py). Audited under the registry clerk named by --as."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["csv", "json"], default="csv")
        parser.add_argument("--output", "-o", help="File to write (default: standard output)")
        add_actor_argument(parser, role="registry clerk")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = command_actor(
            options["actor"], role="registry clerk", allowed=lambda user: holds_role(user, REGISTRY_CLERK)
        )
        destination = options["output"] or "stdout"
        text = registry_export(actor=actor, fmt=options["format"], destination=destination)
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                out.write(text)
        else:
            self.stdout.write(text, ending="")
