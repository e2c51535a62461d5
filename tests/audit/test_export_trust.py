"""Issue 13 (medium 5): ``verify_audit_export`` must not trust the key a bundle brings along.

A forger edits events, rebuilds the chain, re-signs the manifest and the checkpoints with a
fresh key and puts that key in the manifest. Verification needs a trusted key (command line
or AUDIT_TRUSTED_PUBLIC_KEYS) and fails without one; duplicate zip entries and files the
manifest does not list fail too.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

from apps.accounts.roles import AUDITOR
from apps.audit import signing
from apps.audit.canonical import canonical_bytes, checkpoint_payload, event_hash
from apps.audit.chain import audit_checkpoint_create, audit_seal_pending
from apps.audit.export_verify import verify_export
from apps.audit.exports import audit_export_build, export_path
from apps.audit.models import AuditExport
from tests.actors import actor
from tests.audit.helpers import act

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _export_dir(settings: Any, tmp_path: Path) -> None:
    settings.AUDIT_EXPORT_DIR = tmp_path / "exports"
    settings.AUDIT_TRUSTED_PUBLIC_KEYS = []


@pytest.fixture
def archive() -> Path:
    act(5, action="recording.played")
    audit_seal_pending()
    audit_checkpoint_create()
    export = AuditExport.objects.create(requested_by=actor("auditor", AUDITOR).user, filters={})
    audit_export_build(export_id=export.pk)
    export.refresh_from_db()
    return export_path(export)


def _members(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def _write(path: Path, members: list[tuple[str, bytes]]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name on purpose
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members:
                zf.writestr(name, data)


def _forge(path: Path) -> bytes:
    """Edit one event, rebuild the chain and the manifest, sign everything with a fresh key.
    Returns the fresh public key."""
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def sign(data: bytes) -> str:
        return base64.b64encode(key.sign(data)).decode()

    members = dict(_members(path))
    records = [json.loads(line) for line in members["events.jsonl"].decode().splitlines()]
    records[1]["details"]["n"] = 999  # the edit the forger wants
    prev = records[0]["prev_hash"]
    for record in records:
        record["prev_hash"] = prev
        record["hash"] = event_hash(record)
        prev = record["hash"]
    jsonl = b"".join(canonical_bytes(r) + b"\n" for r in records)
    manifest = json.loads(members["manifest.json"])
    manifest["files"]["events.jsonl"] = {"sha256": hashlib.sha256(jsonl).hexdigest(), "bytes": len(jsonl)}
    manifest["last"]["hash"] = records[-1]["hash"]
    manifest["first"]["hash"] = records[0]["hash"]
    for checkpoint in manifest["checkpoints"]:
        checkpoint["hash"] = records[-1]["hash"]
        checkpoint["key_id"] = signing.key_id(public)
        checkpoint["signature"] = sign(
            checkpoint_payload(
                sequence=checkpoint["sequence"], hash=checkpoint["hash"], created_at=checkpoint["created_at"]
            )
        )
    manifest["public_key"] = base64.b64encode(public).decode()
    manifest["key_id"] = signing.key_id(public)
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode()
    _write(
        path,
        [
            ("events.jsonl", jsonl),
            ("events.csv", members["events.csv"]),
            ("manifest.json", manifest_bytes),
            ("manifest.json.sig", (sign(manifest_bytes) + "\n").encode()),
        ],
    )
    return public


def test_a_fully_forged_bundle_is_rejected_without_a_trusted_key(archive: Path) -> None:
    _forge(archive)
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit_export", str(archive), stdout=io.StringIO())
    assert "trusted" in str(caught.value)


def test_a_fully_forged_bundle_is_rejected_with_the_trusted_key(archive: Path) -> None:
    _forge(archive)
    trusted = signing.public_key_b64()
    with pytest.raises(CommandError):
        call_command("verify_audit_export", str(archive), "--public-key", trusted, stdout=io.StringIO())
    report = verify_export(archive, trusted_keys=[signing.public_key_bytes()])
    assert any("untrusted" in p for p in report.problems)


def test_a_key_pinned_in_settings_is_trusted(archive: Path, settings: Any) -> None:
    settings.AUDIT_TRUSTED_PUBLIC_KEYS = [signing.public_key_bytes()]
    out = io.StringIO()
    call_command("verify_audit_export", str(archive), stdout=out)
    assert "audit export OK" in out.getvalue()


def test_a_genuine_bundle_verifies_with_the_key_on_the_command_line(archive: Path) -> None:
    out = io.StringIO()
    call_command("verify_audit_export", str(archive), "--public-key", signing.public_key_b64(), stdout=out)
    assert "audit export OK" in out.getvalue()


def test_a_duplicate_entry_before_the_genuine_one_fails(archive: Path) -> None:
    members = _members(archive)
    csv = dict(members)["events.csv"]
    _write(archive, [("events.csv", csv.replace(b"recording.played", b"=HYPERLINK(1)")), *members])
    problems = verify_export(archive, trusted_keys=[signing.public_key_bytes()]).problems
    assert any("duplicate" in p for p in problems)


def test_an_unlisted_extra_file_fails(archive: Path) -> None:
    _write(archive, [*_members(archive), ("README.txt", b"trust me")])
    problems = verify_export(archive, trusted_keys=[signing.public_key_bytes()]).problems
    assert any("README.txt" in p and "not listed" in p for p in problems)


def test_a_file_missing_from_the_archive_fails_without_a_crash(archive: Path) -> None:
    _write(archive, [(n, d) for n, d in _members(archive) if n != "events.csv"])
    problems = verify_export(archive, trusted_keys=[signing.public_key_bytes()]).problems
    assert any("events.csv" in p and "missing" in p for p in problems)


def test_a_file_that_is_not_an_archive_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.zip"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit_export", str(bogus), "--public-key", signing.public_key_b64())
    assert caught.value.returncode == 1
