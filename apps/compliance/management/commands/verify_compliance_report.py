"""Verify a compliance report bundle offline (no database):
python manage.py verify_compliance_report PATH --public-key KEY (or AUDIT_TRUSTED_PUBLIC_KEYS)."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.compliance.bundle import verify_bundle


class Command(BaseCommand):
    help = (
        "Check a compliance report bundle (a folder or zip holding report.pdf, figures.csv, "
        "manifest.json, manifest.json.sig) against a trusted key: signature, file hashes, CSV figures."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--public-key",
            action="append",
            default=[],
            help=(
                "trusted base64 Ed25519 public key obtained out of band (`manage.py audit_public_key`); "
                "repeat for rotated keys. Added to AUDIT_TRUSTED_PUBLIC_KEYS. The key inside the bundle "
                "is never trusted."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        keys = list(settings.AUDIT_TRUSTED_PUBLIC_KEYS)
        for text in options["public_key"]:
            try:
                key = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise CommandError(f"--public-key {text!r} is not base64", returncode=2) from exc
            if len(key) != 32:
                raise CommandError("--public-key must be a raw 32-byte Ed25519 key in base64", returncode=2)
            keys.append(key)
        if not keys:
            raise CommandError(
                "no trusted public key: pass --public-key (from `manage.py audit_public_key`, obtained "
                "out of band) or set AUDIT_TRUSTED_PUBLIC_KEYS; the key inside a bundle proves nothing",
                returncode=2,
            )
        path: Path = options["path"]
        if not path.exists():
            raise CommandError(f"{path}: no such file or folder", returncode=2)
        check = verify_bundle(path, trusted_keys=keys)
        if not check.ok:
            raise CommandError("compliance report INVALID:\n  " + "\n  ".join(check.problems), returncode=1)
        facility, period = check.manifest["facility"], check.manifest["period"]
        self.stdout.write(
            self.style.SUCCESS(
                f"compliance report OK: {facility['code']} {period['from']}..{period['to']}, "
                f"signed by key {check.manifest['key_id']}"
            )
        )
