"""Offline verification of a compliance export: no database, only the archive and trusted keys.

The key a bundle carries in its manifest proves nothing (a forger re-signs with a key of
their own and puts it there), so the verifier takes the keys it trusts from outside: the
command line, or ``AUDIT_TRUSTED_PUBLIC_KEYS``. The manifest and every checkpoint must be
signed by one of them (matched by key id, so rotated keys keep verifying old exports).

The archive must hold exactly the files its signed manifest lists, plus the manifest and its
signature, each once: a second ``events.csv`` placed before the genuine one would be what a
spreadsheet opens while a verifier reads the other, and an unlisted file is unsigned.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.audit import signing
from apps.audit.canonical import checkpoint_payload, event_hash

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
DATA_FILES = ("events.jsonl", "events.csv")


@dataclass
class ExportReport:
    events: int = 0
    contiguous: bool = True
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_export(path: Path, *, trusted_keys: Iterable[bytes]) -> ExportReport:
    """Verify an export archive against ``trusted_keys`` (raw Ed25519 public keys).

    Checks the archive's entries against the manifest, the manifest signature, each file's
    SHA-256, every event's hash, the links between consecutive sequences, the counts and ends
    in the manifest, and each checkpoint signature (and, where the checkpointed event is in
    the export, its hash). Never raises on a damaged archive: every fault is a problem.
    """
    report = ExportReport()
    trusted = {signing.key_id(key): key for key in trusted_keys}
    if not trusted:
        report.problems.append("no trusted public key: the key inside a bundle proves nothing")
        return report
    try:
        with zipfile.ZipFile(path) as archive:
            _verify_archive(archive, trusted, report)
    except (zipfile.BadZipFile, OSError) as exc:
        report.problems.append(f"{path.name}: not a readable zip archive ({exc})")
    except (KeyError, TypeError, ValueError) as exc:  # a manifest or event of the wrong shape
        report.problems.append(f"malformed export ({type(exc).__name__}: {exc})")
    return report


def _verify_archive(archive: zipfile.ZipFile, trusted: dict[str, bytes], report: ExportReport) -> None:
    names = Counter(info.filename for info in archive.infolist())
    duplicates = sorted(name for name, count in names.items() if count > 1)
    if duplicates:
        report.problems.append(f"duplicate entry names in the archive: {', '.join(duplicates)}")
    for required in (MANIFEST, SIGNATURE):
        if required not in names:
            report.problems.append(f"{required}: missing from the archive")
            return
    manifest_bytes = archive.read(MANIFEST)
    manifest = json.loads(manifest_bytes)
    key = trusted.get(str(manifest.get("key_id")))
    if key is None:
        report.problems.append(
            f"{MANIFEST}: signed by an untrusted key (key id {manifest.get('key_id')}); "
            f"trusted key ids: {', '.join(sorted(trusted))}"
        )
        return
    signature = archive.read(SIGNATURE).decode().strip()
    if not signing.verify_signature(public_key=key, payload=manifest_bytes, signature_b64=signature):
        # Go on: the other checks say what was altered.
        report.problems.append(f"{MANIFEST}: signature invalid (manifest altered or signed by another key)")
    listed = manifest["files"]
    for name in sorted(set(names) - set(listed) - {MANIFEST, SIGNATURE}):
        report.problems.append(f"{name}: in the archive but not listed in the manifest")
    for name in sorted(set(DATA_FILES) - set(listed)):
        report.problems.append(f"{name}: not listed in the manifest")
    for name, expected in listed.items():
        if name not in names:
            report.problems.append(f"{name}: listed in the manifest but missing from the archive")
            continue
        sha = hashlib.sha256()
        with archive.open(name) as member:
            while chunk := member.read(1 << 20):
                sha.update(chunk)
        if sha.hexdigest() != expected["sha256"]:
            report.problems.append(f"{name}: SHA-256 differs from the manifest (file altered)")
    checkpoints = {c["sequence"]: c for c in manifest["checkpoints"]}
    for checkpoint in checkpoints.values():
        checkpoint_key = trusted.get(str(checkpoint.get("key_id")))
        payload = checkpoint_payload(
            sequence=checkpoint["sequence"], hash=checkpoint["hash"], created_at=checkpoint["created_at"]
        )
        if checkpoint_key is None or not signing.verify_signature(
            public_key=checkpoint_key, payload=payload, signature_b64=checkpoint["signature"]
        ):
            report.problems.append(f"checkpoint {checkpoint['sequence']}: signature invalid or untrusted key")
    if "events.jsonl" in names:
        _verify_events(archive, manifest, checkpoints, report)


def _verify_events(
    archive: zipfile.ZipFile, manifest: dict[str, Any], checkpoints: dict[int, Any], report: ExportReport
) -> None:
    previous: dict[str, Any] | None = None
    first: dict[str, Any] | None = None
    with archive.open("events.jsonl") as member:
        for number, line in enumerate(io.TextIOWrapper(member, encoding="utf-8"), start=1):
            record = json.loads(line)
            sequence = record["sequence"]
            if event_hash(record) != record["hash"]:
                report.problems.append(f"line {number}: event {sequence} (id {record['id']}) was changed")
            if previous is not None:
                if sequence <= previous["sequence"]:
                    report.problems.append(f"line {number}: event {sequence} is out of order")
                elif sequence == previous["sequence"] + 1 and record["prev_hash"] != previous["hash"]:
                    report.problems.append(f"line {number}: event {sequence} does not link to {sequence - 1}")
                elif sequence != previous["sequence"] + 1:
                    report.contiguous = False
            if sequence in checkpoints and checkpoints[sequence]["hash"] != record["hash"]:
                report.problems.append(f"line {number}: event {sequence} differs from its signed checkpoint")
            first = first or record
            previous = record
            report.events += 1
            if len(report.problems) >= 20:
                report.problems.append("stopping after 20 problems")
                return
    if report.events != manifest["counts"]["events"]:
        report.problems.append(
            f"manifest counts {manifest['counts']['events']} events, file has {report.events}"
        )
    ends = (
        (first or {}).get("sequence"),
        (first or {}).get("hash"),
        (previous or {}).get("sequence"),
        (previous or {}).get("hash"),
    )
    wanted = (
        manifest["first"]["sequence"],
        manifest["first"]["hash"],
        manifest["last"]["sequence"],
        manifest["last"]["hash"],
    )
    if ends != wanted:
        report.problems.append("first/last event differ from the manifest (events removed at an end)")
    if not report.contiguous:
        report.notes.append(
            "filtered export: sequences have gaps, so links are checked only between consecutive events"
        )
