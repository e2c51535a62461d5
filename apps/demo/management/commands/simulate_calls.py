from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.commands import demo_actor, record_command
from apps.demo.seed import seed_demo
from apps.demo.simulator import Simulator, run_key_used

RUN_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class Command(BaseCommand):
    help = (
        "Drive the switch API with a realistic mix of calls, play the privilege-assurance scenes "
        "(late registration, two-clerk import, stop button, list snapshot, decision lists, assurance "
        "run) and check invariant I1. Each run ADDS calls; with --run-key a key already simulated "
        "adds nothing (make demo passes one, so re-running it is idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--calls", type=int, default=200)
        parser.add_argument(
            "--attorney-share",
            type=float,
            default=0.08,
            help="share of calls to verified attorney numbers (default 0.08)",
        )
        parser.add_argument("--seed", type=int, default=None, help="random seed")
        parser.add_argument(
            "--run-key",
            default=None,
            help="name this run (letters, digits, . _ -); a key whose calls exist is not run again",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["calls"] < 1 or not 0 <= options["attorney_share"] <= 0.9:
            raise CommandError("--calls must be >= 1 and --attorney-share in [0, 0.9]")
        run_key = options["run_key"]
        if run_key is not None and not RUN_KEY.match(run_key):
            raise CommandError("--run-key: 1 to 32 letters, digits, '.', '_' or '-'")
        seed = seed_demo()
        if run_key is not None and (earlier := run_key_used(run_key)):
            self.stdout.write(
                f"run key {run_key!r} was simulated already ({earlier} calls): nothing added. "
                "Pass another --run-key (or none) to add calls."
            )
            return
        # Its acts are audited under the demo's switch, attorney, clerks and investigator; the
        # run itself under the named system actor.
        record_command(command="simulate_calls", actor=demo_actor(), calls=options["calls"], run_key=run_key)
        simulator = Simulator(seed, rng_seed=options["seed"], run_key=run_key)
        report = simulator.run(options["calls"], attorney_share=options["attorney_share"])
        for line in report.lines():
            self.stdout.write(line)
        if simulator.privilege is not None:
            for line in simulator.privilege.lines():
                self.stdout.write(line)
        if not report.ok:
            raise CommandError("privileged audio is accessible: invariant I1 violated")
        if simulator.privilege is not None and not simulator.privilege.ok:
            raise CommandError("privilege assurance failed (see above)")
