"""Verify a downloaded recordings export package: python manage.py verify_recording_export PATH.

Needs no database. Trusts only keys obtained apart from the package: ``--public-key`` (repeat
for rotated keys) and ``AUDIT_TRUSTED_PUBLIC_KEYS``, the same as verify_audit_export; with
neither, the package's own key only if the checkpoint witness vouches for it. Exit status 0 =
valid, 1 = invalid, 2 = unusable input or no trusted key.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.access.packages import manifest_public_key, verify_package, witness_vouches_for
from apps.audit import signing


class Command(BaseCommand):
    help = "Check a recordings export package: manifest signature by a trusted key, every file's SHA-256."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--public-key",
            action="append",
            default=[],
            help=(
                "trusted base64 Ed25519 public key, obtained out of band (`manage.py audit_public_key`); "
                "repeat for rotated keys. Added to AUDIT_TRUSTED_PUBLIC_KEYS. The key inside the "
                "package is trusted only when the checkpoint witness vouches for it."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file", returncode=2)
        keys, source = self._trusted_keys(path, options["public_key"])
        report = verify_package(path, trusted_keys=keys)
        for note in report.notes:
            self.stdout.write(f"note: {note}")
        if not report.ok:
            raise CommandError("recording export INVALID:\n  " + "\n  ".join(report.problems), returncode=1)
        self.stdout.write(
            self.style.SUCCESS(f"recording export OK: {report.recordings} recordings verified ({source})")
        )

    def _trusted_keys(self, path: Path, given: list[str]) -> tuple[list[bytes], str]:
        keys = list(settings.AUDIT_TRUSTED_PUBLIC_KEYS)
        for text in given:
            try:
                key = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise CommandError(f"--public-key {text!r} is not base64", returncode=2) from exc
            if len(key) != 32:
                raise CommandError("--public-key must be a raw 32-byte Ed25519 key in base64", returncode=2)
            keys.append(key)
        if keys:
            return keys, "keys given with --public-key or pinned in AUDIT_TRUSTED_PUBLIC_KEYS"
        named = manifest_public_key(path)
        if named is not None and witness_vouches_for(named):
            return [named], f"key {signing.key_id(named)}, vouched for by the checkpoint witness"
        raise CommandError(
            "no trusted public key: pass --public-key (from `manage.py audit_public_key`, obtained out "
            "of band), set AUDIT_TRUSTED_PUBLIC_KEYS, or verify where the checkpoint witness vouches "
            "for the key; the key inside a package proves nothing on its own",
            returncode=2,
        )
