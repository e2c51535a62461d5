from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.registry.portability import export_text


class Command(BaseCommand):
    help = "Export the attorney registry as CSV or JSON (format documented in apps/registry/portability.py)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["csv", "json"], default="csv")
        parser.add_argument("--output", "-o", help="File to write (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        text = export_text(options["format"])
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                out.write(text)
        else:
            self.stdout.write(text, ending="")
