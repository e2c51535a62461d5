"""Print the audit public key (base64, raw Ed25519) for verifiers to keep out of band."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.audit import signing


class Command(BaseCommand):
    help = "Print the base64 Ed25519 public key that verifies audit checkpoints and exports."
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        public = signing.public_key_bytes()
        self.stdout.write(f"{signing.public_key_b64()}  (key id {signing.key_id(public)})")
