from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.commands import demo_actor, record_command
from apps.demo.seed import seed_demo
from apps.demo.simulator import Simulator


class Command(BaseCommand):
    help = "Drive the switch API with a realistic mix of calls and check invariant I1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--calls", type=int, default=200)
        parser.add_argument(
            "--attorney-share",
            type=float,
            default=0.08,
            help="share of calls to verified attorney numbers (default 0.08)",
        )
        parser.add_argument("--seed", type=int, default=None, help="random seed")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["calls"] < 1 or not 0 <= options["attorney_share"] <= 0.9:
            raise CommandError("--calls must be >= 1 and --attorney-share in [0, 0.9]")
        seed = seed_demo()
        # Its acts are audited under the demo's switch, attorney and clerk; the run itself under
        # the named system actor.
        record_command(command="simulate_calls", actor=demo_actor(), calls=options["calls"])
        report = Simulator(seed, rng_seed=options["seed"]).run(
            options["calls"], attorney_share=options["attorney_share"]
        )
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            raise CommandError("privileged audio is accessible: invariant I1 violated")
