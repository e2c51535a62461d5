"""``generate_history OUT.csv --rows N [--bad-rows K] [--seed S]``: write a Securus-shaped
call history over the facilities that exist, dialling today's protected numbers at the
attorney share (apps/history/generator.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.facilities.models import Facility
from apps.history.generator import Shape, write_history
from apps.registry.models import ExemptNumber, ExemptStatus


class Command(BaseCommand):
    help = "Write a generated vendor call history (CSV) for tests and the benchmark."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", type=Path)
        parser.add_argument("--rows", type=int, required=True)
        parser.add_argument("--bad-rows", type=int, default=0)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["rows"] < 1:
            raise CommandError("--rows must be at least 1")
        if not 0 <= options["bad_rows"] <= options["rows"]:
            raise CommandError("--bad-rows must be from 0 to --rows")
        facilities = list(Facility.objects.order_by("code").values_list("code", flat=True))
        if not facilities:
            raise CommandError("no facilities: create them (or run seed_demo) first")
        protected = list(
            ExemptNumber.objects.filter(status=ExemptStatus.VERIFIED)
            .values_list("number", flat=True)
            .distinct()
        )
        out: Path = options["out"]
        with out.open("w", newline="", encoding="utf-8") as handle:
            rows = write_history(
                handle,
                Shape(
                    rows=options["rows"],
                    facilities=facilities,
                    protected_numbers=protected,
                    seed=options["seed"],
                    bad_rows=options["bad_rows"],
                ),
            )
        self.stderr.write(f"{out}: {rows:,} rows over {len(facilities)} facilities")
