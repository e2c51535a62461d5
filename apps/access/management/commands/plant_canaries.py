from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.access.canaries import canaries_plant
from apps.audit.commands import add_actor_argument, command_actor, record_command
from apps.common.querysets import Action
from apps.facilities.models import Facility


class Command(BaseCommand):
    help = "Plant canary calls and recordings: any access to them suspends the account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("facility", help="facility code")
        parser.add_argument("--count", type=int, default=2)
        add_actor_argument(parser, role="facility admin of that facility")

    def handle(self, *args: Any, **options: Any) -> None:
        facility = Facility.objects.filter(code=options["facility"]).first()
        if facility is None:
            raise CommandError(f"no facility with code {options['facility']!r}")
        if not 1 <= options["count"] <= 100:
            raise CommandError("--count must be between 1 and 100")
        actor = command_actor(
            options["actor"],
            role="facility admin of that facility",
            allowed=lambda user: (
                Facility.objects.restrict(user, Action.MANAGE).filter(pk=facility.pk).exists()
            ),
        )
        planter, _ = User.objects.get_or_create(
            username="system-canary-planter", defaults={"is_active": False}
        )
        planted = canaries_plant(facility=facility, count=options["count"], actor=planter)
        # Who planted how many where; never which rows (that would unmask the canaries).
        record_command(command="plant_canaries", actor=actor, facility_id=facility.pk, planted=len(planted))
        self.stdout.write(f"planted {len(planted)} canary recording(s) in {facility.code}")
