from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.audit.commands import demo_actor, record_command
from apps.demo.seed import seed_demo


class Command(BaseCommand):
    help = "Create demo facilities, inmates, attorneys and one user per role (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json", action="store_true", help="print one JSON object with logins and tokens (secrets!)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed_demo()
        record_command(command="seed_demo", actor=demo_actor(), json=bool(options["json"]))
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {len(result.facilities)} facilities, {len(result.inmates)} inmates, "
                f"{len(result.users)} staff users, {len(result.attorneys)} attorneys."
            )
        )
        self.stdout.write("Logins and tokens are not printed; use --json to see them.")
