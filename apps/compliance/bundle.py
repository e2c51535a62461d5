"""A compliance report's signed bundle and its offline check (no database: files and keys only).

A bundle is four files, as a folder or a zip archive of them:
- ``report.pdf`` and ``figures.csv``: what people read;
- ``manifest.json``: facility, period, the figures themselves, the SHA-256 and size of the PDF
  and CSV, the public key and its key id;
- ``manifest.json.sig``: Ed25519 over the manifest bytes with the audit signing key
  (apps/audit/signing.py: the key of the checkpoints, audit exports and export packages).

As for audit exports (apps/audit/export_verify.py), the key inside a manifest proves nothing (a
forger re-signs with a key of their own and writes it there): the verifier trusts only the keys
it is given (command line or ``AUDIT_TRUSTED_PUBLIC_KEYS``). The CSV must also say exactly what
the signed figures say, so a CSV regenerated from altered figures is caught even before its hash.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.audit import signing

FORMAT = "callplatform-compliance-report/1"
PDF, CSV, MANIFEST, SIGNATURE = "report.pdf", "figures.csv", "manifest.json", "manifest.json.sig"
DATA_FILES = (PDF, CSV)
BUNDLE_FILES = (PDF, CSV, MANIFEST, SIGNATURE)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_build(*, figures: dict[str, Any], files: dict[str, bytes], generated_at: str) -> bytes:
    """The manifest bytes (sorted keys, indented: readable, and stable to sign)."""
    public_key = signing.public_key_bytes()
    manifest = {
        "format": FORMAT,
        "facility": figures["facility"],
        "period": figures["period"],
        "generated_at": generated_at,
        "figures": figures,
        "files": {name: {"sha256": sha256_hex(data), "bytes": len(data)} for name, data in files.items()},
        "public_key": base64.b64encode(public_key).decode(),
        "key_id": signing.key_id(public_key),
    }
    return json.dumps(manifest, indent=2, sort_keys=True).encode()


def manifest_sign(manifest: bytes) -> bytes:
    return (signing.sign(manifest) + "\n").encode()


def bundle_zip(files: dict[str, bytes]) -> bytes:
    """The four files as one zip archive (what the "bundle" download serves)."""
    import io

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in BUNDLE_FILES:
            archive.writestr(name, files[name])
    return out.getvalue()


@dataclass
class BundleCheck:
    problems: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_bundle(path: Path, *, trusted_keys: Iterable[bytes]) -> BundleCheck:
    """Check a bundle (folder or zip) against ``trusted_keys``. Never raises on a damaged
    bundle: every fault is a problem in the result."""
    check = BundleCheck()
    trusted = {signing.key_id(key): key for key in trusted_keys}
    if not trusted:
        check.problems.append("no trusted public key: the key inside a bundle proves nothing")
        return check
    try:
        files = _read(path, check)
        if not check.problems:
            _verify(files, trusted, check)
    except (zipfile.BadZipFile, OSError) as exc:
        check.problems.append(f"{path.name}: not a readable bundle ({exc})")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a manifest of the wrong shape
        check.problems.append(f"malformed manifest ({type(exc).__name__}: {exc})")
    return check


def _read(path: Path, check: BundleCheck) -> dict[str, bytes]:
    if path.is_dir():
        present = {p.name for p in path.iterdir() if p.is_file() and not p.name.startswith(".")}
        extra = sorted(present - set(BUNDLE_FILES))
        check.problems.extend(f"{name}: not part of a bundle (unsigned file)" for name in extra)
        check.problems.extend(f"{name}: missing" for name in BUNDLE_FILES if name not in present)
        return {name: (path / name).read_bytes() for name in BUNDLE_FILES if name in present}
    with zipfile.ZipFile(path) as archive:
        names = Counter(info.filename for info in archive.infolist())
        check.problems.extend(
            f"{name}: appears {n} times in the archive" for name, n in names.items() if n > 1
        )
        check.problems.extend(
            f"{name}: not part of a bundle (unsigned file)" for name in sorted(set(names) - set(BUNDLE_FILES))
        )
        check.problems.extend(f"{name}: missing" for name in BUNDLE_FILES if name not in names)
        return {name: archive.read(name) for name in BUNDLE_FILES if name in names}


def _verify(files: dict[str, bytes], trusted: dict[str, bytes], check: BundleCheck) -> None:
    manifest_bytes = files[MANIFEST]
    manifest = json.loads(manifest_bytes)
    check.manifest = manifest
    if manifest.get("format") != FORMAT:
        check.problems.append(f"{MANIFEST}: unknown format {manifest.get('format')!r}")
        return
    key = trusted.get(str(manifest.get("key_id")))
    if key is None:
        check.problems.append(
            f"{MANIFEST}: signed by an untrusted key (key id {manifest.get('key_id')}); "
            f"trusted key ids: {', '.join(sorted(trusted))}"
        )
        return
    signature = files[SIGNATURE].decode(errors="replace").strip()
    if not signing.verify_signature(public_key=key, payload=manifest_bytes, signature_b64=signature):
        # Go on: the other checks say what else was altered.
        check.problems.append(f"{MANIFEST}: signature invalid (manifest altered or signed by another key)")
    for name in DATA_FILES:
        expected = manifest["files"][name]
        if sha256_hex(files[name]) != expected["sha256"] or len(files[name]) != expected["bytes"]:
            check.problems.append(f"{name}: SHA-256 or size differs from the manifest (file altered)")
    from apps.compliance.render import render_csv

    if render_csv(manifest["figures"]) != files[CSV]:
        check.problems.append(f"{CSV}: does not state the manifest's figures")
