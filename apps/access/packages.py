"""The recordings export package: where it is kept, its signed manifest, and its offline check.

A package is one zip archive: ``recording-<id>.audio`` files, ``manifest.json`` (the export,
its recordings, the recordings withheld at build time, and the SHA-256 and size of every file)
and ``manifest.json.sig`` (Ed25519 over the manifest bytes, with the audit signing key of
apps.audit.signing, the key that signs the audit checkpoints and the audit exports).

Verification trusts only keys obtained apart from the package (the key written inside the
manifest is a label, never a reason to trust): given on the command line or pinned in
``AUDIT_TRUSTED_PUBLIC_KEYS`` (the keys verify_audit_export trusts), else the package's key if
the checkpoint witness vouches for it (a checkpoint copied outside the database carries a valid
signature by that key). It fails on duplicate entry names (a reader may take either copy), on a
file the manifest does not list, on a listed file that is missing, and on any hash or size
that differs.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from apps.audit import signing
from apps.audit.canonical import checkpoint_payload
from apps.recordings.storage import LocalDiskStorage

logger = logging.getLogger(__name__)

FORMAT = "callplatform-recording-export/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
WITNESS_DOCUMENTS_CHECKED = 50


def package_storage() -> LocalDiskStorage:
    # Same envelope encryption as recordings on local disk; the key is wrapped in the row.
    return LocalDiskStorage(Path(settings.EXPORT_PACKAGE_DIR))


def package_delete(name: str) -> None:
    """Delete a package file. Its wrapped key is already gone (crypto-shredded), so a file that
    survives a failed delete is unreadable; the failure is logged, never raised after commit."""
    try:
        package_storage().delete(name)
    except OSError:
        logger.warning("could not delete export package %s (its key is destroyed)", name, exc_info=True)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_sign(manifest: dict[str, Any]) -> tuple[bytes, bytes]:
    """Add the format and public key to ``manifest``; return (manifest bytes, signature file)."""
    public_key = signing.public_key_bytes()
    body = {
        **manifest,
        "format": FORMAT,
        "public_key": base64.b64encode(public_key).decode(),
        "key_id": signing.key_id(public_key),
    }
    manifest_bytes = json.dumps(body, indent=2, sort_keys=True).encode()
    return manifest_bytes, (signing.sign(manifest_bytes) + "\n").encode()


# --- which keys a verifier trusts -----------------------------------------------------------------


def witness_vouches_for(public_key: bytes) -> bool:
    """True when the checkpoint witness holds a checkpoint signed by ``public_key``.

    The witness lives outside the database (S3 under Object Lock in production), so a forger
    who made a key of their own cannot have had it sign a witnessed checkpoint."""
    from apps.audit.witness import get_witness

    witness = get_witness()
    if witness is None:
        return False
    wanted = signing.key_id(public_key)
    try:
        names = witness.names()[-WITNESS_DOCUMENTS_CHECKED:]
        for name in reversed(names):
            document = json.loads(witness.read(name))
            if document.get("key_id") != wanted:
                continue
            payload = checkpoint_payload(
                sequence=document["sequence"], hash=document["hash"], created_at=document["created_at"]
            )
            if signing.verify_signature(
                public_key=public_key, payload=payload, signature_b64=document["signature"]
            ):
                return True
    except Exception:  # an unreachable or unreadable witness vouches for nothing
        logger.warning("could not read the checkpoint witness", exc_info=True)
    return False


def manifest_public_key(path: Path) -> bytes | None:
    """The key a package names (to ask the witness about it); None if unreadable."""
    with contextlib.suppress(Exception), zipfile.ZipFile(path) as archive:
        return base64.b64decode(json.loads(archive.read(MANIFEST))["public_key"])
    return None


# --- the offline check --------------------------------------------------------------------------


@dataclass
class PackageReport:
    recordings: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_package(path: Path, *, trusted_keys: list[bytes]) -> PackageReport:
    """Check a package against keys the caller trusts. Needs no database."""
    report = PackageReport()
    if not trusted_keys:
        report.problems.append("no trusted public key")
        return report
    try:
        with zipfile.ZipFile(path) as archive:
            _verify_archive(archive, trusted_keys, report)
    except (zipfile.BadZipFile, OSError) as exc:
        report.problems.append(f"not a readable zip archive: {exc}")
    return report


def _verify_archive(archive: zipfile.ZipFile, trusted_keys: list[bytes], report: PackageReport) -> None:
    names = [info.filename for info in archive.infolist()]
    for name, count in sorted(Counter(names).items()):
        if count > 1:
            report.problems.append(f"{name}: duplicate entry name ({count} copies; a reader may take any)")
    if MANIFEST not in names or SIGNATURE not in names:
        report.problems.append(f"{MANIFEST} or {SIGNATURE} is missing")
        return
    manifest_bytes = archive.read(MANIFEST)
    signature = archive.read(SIGNATURE).decode(errors="replace").strip()
    if not any(
        signing.verify_signature(public_key=key, payload=manifest_bytes, signature_b64=signature)
        for key in trusted_keys
    ):
        report.problems.append(f"{MANIFEST}: signature invalid (altered, or not signed by a trusted key)")
        return
    manifest = json.loads(manifest_bytes)
    if manifest.get("format") != FORMAT:
        report.problems.append(f"{MANIFEST}: unknown format {manifest.get('format')!r}")
        return
    listed: dict[str, dict[str, Any]] = manifest["files"]
    for name in sorted(set(names) - set(listed) - {MANIFEST, SIGNATURE}):
        report.problems.append(f"{name}: not in the manifest")
    for name, expected in sorted(listed.items()):
        if name not in names:
            report.problems.append(f"{name}: missing from the package")
            continue
        sha, size = hashlib.sha256(), 0
        with archive.open(name) as member:
            while chunk := member.read(1 << 20):
                sha.update(chunk)
                size += len(chunk)
        if sha.hexdigest() != expected["sha256"] or size != expected["bytes"]:
            report.problems.append(f"{name}: SHA-256 or size differs from the manifest (file altered)")
    for recording in manifest["recordings"]:
        if listed.get(recording["file"], {}).get("sha256") != recording["sha256"]:
            report.problems.append(f"recording {recording['id']}: its file is not listed with its SHA-256")
    report.recordings = len(manifest["recordings"])
    if manifest.get("withheld"):
        report.notes.append(f"withheld at build time: recordings {manifest['withheld']}")
