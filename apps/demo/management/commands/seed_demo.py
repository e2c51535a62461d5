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
                f"{len(result.users) + len(result.second_users)} staff users ({len(result.users)} roles, a "
                f"second {', '.join(r.replace('_', ' ') for r in result.second_users)}), "
                f"{len(result.attorneys)} attorneys, {len(result.grants)} investigator case grant."
            )
        )
        self.stdout.write(
            "Logins: `demo_summary` prints them (make demo does, at the end); "
            "`seed_demo --json` prints logins and API tokens (secrets)."
        )
