"""Attacks on the recordings export (issue 9, Medium 4 and 6; issue 13, Medium 5 in part).

Each test is the attack as found by the hostile review; each failed on the code before the fix.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from apps.access.models import ExportRequest, QuotaUsage
from apps.access.suspensions import user_suspend
from apps.actions.registry import exempt_number_verify
from apps.audit import signing
from apps.audit.models import AuditEvent
from apps.facilities.models import Facility
from apps.inmates.models import InmateUserObjectPermission
from apps.inmates.services import inmate_grant_create
from apps.recordings.models import Recording
from apps.registry.services import exempt_number_register
from tests.actors import Actor, staff_member
from tests.factories import AttorneyFactory, CallFactory, InmateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(facility: Facility, store_recording: Any, settings: Any, tmp_path: Path) -> dict[str, Any]:
    settings.EXPORT_PACKAGE_DIR = tmp_path / "packages"
    admin = staff_member(
        "sx-admin",
        "facility_admin",
        facility,
        perms=["manage_facility", "view_facility_calls", "approve_facility_exports"],
    )
    investigator = staff_member("sx-investigator", "investigator", facility)
    inmate = InmateFactory(facility=facility)
    recordings = [store_recording(CallFactory(inmate=inmate), f"audio-{i}".encode() * 100) for i in range(3)]
    grant = inmate_grant_create(
        granted_by=admin.user,
        investigator=investigator.user,
        inmate=inmate,
        case_reference="SX-1",
        expires_at=timezone.now() + timedelta(days=1),
    )
    return {
        "admin": admin,
        "investigator": investigator,
        "recordings": recordings,
        "grant": grant,
        "facility": facility,
    }


def _request(scene: dict[str, Any], ids: list[int] | None = None) -> Any:
    ids = ids or [r.pk for r in scene["recordings"]]
    return scene["investigator"].client.post(
        "/api/v1/exports/",
        {"recording_ids": ids, "case_reference": "SX-1", "justification": "Court order 7/1"},
        format="json",
    )


def _ready_export(scene: dict[str, Any], capture: Any) -> ExportRequest:
    r = _request(scene)
    assert r.status_code == 201, r.content
    with capture(execute=True):
        assert scene["admin"].client.post(f"/api/v1/exports/{r.json()['id']}/approve/").status_code == 200
    export = ExportRequest.objects.get(pk=r.json()["id"])
    assert export.status == "ready"
    return export


def _package_file(export: ExportRequest, settings: Any) -> Path:
    return Path(settings.EXPORT_PACKAGE_DIR) / export.package_name


def _assert_shredded(export: ExportRequest, settings: Any) -> None:
    path = _package_file(export, settings)
    export.refresh_from_db()
    assert export.status == "revoked"
    assert export.wrapped_key is None
    assert not path.exists()
    assert AuditEvent.objects.filter(action="export.revoked", target_id=str(export.pk)).exists()


def _download(who: Actor, export: ExportRequest) -> Any:
    return who.client.get(f"/api/v1/exports/{export.pk}/download/")


# --- Medium 4: export packages charge the playback quotas -----------------------------------------


def test_an_export_request_over_the_playback_quota_is_refused(scene: dict[str, Any], settings: Any) -> None:
    settings.ACCESS_QUOTAS = {**settings.ACCESS_QUOTAS, "playback": [(3600, 2)]}
    r = _request(scene)
    assert r.status_code == 429, r.content
    assert r.json()["reason"] == "quota_exceeded" and r.json()["kind"] == "playback"
    assert not ExportRequest.objects.exists()
    assert AuditEvent.objects.filter(action="quota.exceeded", actor=scene["investigator"].user).exists()


def test_an_export_request_over_the_bytes_quota_is_refused(scene: dict[str, Any], settings: Any) -> None:
    total = sum(r.size_bytes for r in scene["recordings"])
    settings.ACCESS_QUOTAS = {**settings.ACCESS_QUOTAS, "playback_bytes": [(86400, total - 1)]}
    r = _request(scene)
    assert r.status_code == 429 and r.json()["kind"] == "playback_bytes"
    assert not ExportRequest.objects.exists()


def test_an_export_request_charges_one_playback_and_the_bytes_of_each_recording(
    scene: dict[str, Any],
) -> None:
    assert _request(scene).status_code == 201
    user = scene["investigator"].user
    charged = {
        kind: sum(QuotaUsage.objects.filter(user=user, kind=kind).values_list("amount", flat=True))
        for kind in ("playback", "playback_bytes")
    }
    assert charged == {"playback": 3, "playback_bytes": sum(r.size_bytes for r in scene["recordings"])}


def test_exports_and_playback_share_one_quota(scene: dict[str, Any], settings: Any) -> None:
    """Playing two and then exporting the third may not exceed the limit of three."""
    settings.ACCESS_QUOTAS = {**settings.ACCESS_QUOTAS, "playback": [(3600, 3)]}
    for recording in scene["recordings"][:2]:
        assert (
            scene["investigator"].client.post(f"/api/v1/recordings/{recording.pk}/playback/").status_code
            == 200
        )
    assert _request(scene, [scene["recordings"][2].pk]).status_code == 201
    assert _request(scene, [scene["recordings"][0].pk]).status_code == 429


# --- Medium 6: a ready export does not outlive its requester's access ---------------------------


def test_a_ready_export_is_shredded_when_the_grant_is_revoked(
    scene: dict[str, Any], settings: Any, django_capture_on_commit_callbacks: Any, celery_eager: None
) -> None:
    export = _ready_export(scene, django_capture_on_commit_callbacks)
    assert _package_file(export, settings).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert scene["admin"].client.delete(f"/api/v1/grants/{scene['grant'].pk}/").status_code == 204
    _assert_shredded(export, settings)
    r = _download(scene["investigator"], export)
    assert r.status_code == 409 and r.json()["reason"] == "export_revoked"


def test_a_ready_export_is_shredded_when_the_requester_leaves_the_staff(
    scene: dict[str, Any], settings: Any, django_capture_on_commit_callbacks: Any, celery_eager: None
) -> None:
    export = _ready_export(scene, django_capture_on_commit_callbacks)
    portal = Client()
    portal.force_login(scene["admin"].user)
    with django_capture_on_commit_callbacks(execute=True):
        r = portal.post(
            "/staff/remove/",
            {"facility": scene["facility"].pk, "user": scene["investigator"].user.pk, "confirm": "1"},
        )
    assert r.status_code == 302
    _assert_shredded(export, settings)
    assert _download(scene["investigator"], export).status_code == 409


def test_a_ready_export_is_shredded_when_the_requester_is_suspended(
    scene: dict[str, Any], settings: Any, django_capture_on_commit_callbacks: Any, celery_eager: None
) -> None:
    export = _ready_export(scene, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        user_suspend(user=scene["investigator"].user, rule="canary", details={})
    _assert_shredded(export, settings)


def test_a_build_running_at_suspension_never_becomes_ready(
    scene: dict[str, Any], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from apps.access.exports import export_build

    export_id = _request(scene).json()["id"]
    ExportRequest.objects.filter(pk=export_id).update(
        status="building", approved_by=scene["admin"].user, approved_at=timezone.now()
    )
    user_suspend(user=scene["investigator"].user, rule="canary", details={})
    export_build(export_id=export_id)
    assert ExportRequest.objects.get(pk=export_id).status == "cancelled"


def test_the_download_rechecks_scope_when_a_grant_expired(
    scene: dict[str, Any], settings: Any, django_capture_on_commit_callbacks: Any, celery_eager: None
) -> None:
    """An expiry needs no job, so nothing shreds the package ahead: the download must refuse."""
    export = _ready_export(scene, django_capture_on_commit_callbacks)
    InmateUserObjectPermission.objects.filter(pk=scene["grant"].pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        r = _download(scene["investigator"], export)
    assert r.status_code == 409 and r.json()["reason"] == "export_revoked"
    _assert_shredded(export, settings)


def test_the_download_rechecks_a_recording_quarantined_after_the_build(
    scene: dict[str, Any],
    clerk: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    celery_eager: None,
) -> None:
    export = _ready_export(scene, django_capture_on_commit_callbacks)
    attorney = AttorneyFactory()
    first: Recording = scene["recordings"][0]
    exempt = exempt_number_register(attorney=attorney, number=first.call.dialed_number, actor=attorney.user)
    exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    with django_capture_on_commit_callbacks(execute=True):
        assert _download(scene["investigator"], export).status_code == 409
    _assert_shredded(export, settings)


# --- Issue 13 Medium 5: the package manifest is signed and verified like the audit export -------


def _downloaded_package(
    scene: dict[str, Any], capture: Any, tmp_path: Path, name: str = "package.zip"
) -> Path:
    export = _ready_export(scene, capture)
    r = _download(scene["investigator"], export)
    assert r.status_code == 200
    path = tmp_path / name
    path.write_bytes(b"".join(r.streaming_content))
    return path


def _rewrite(source: Path, target: Path, edit: Any) -> Path:
    """Copy a zip entry by entry through ``edit(entries) -> entries`` (a list of (name, bytes))."""
    with zipfile.ZipFile(source) as archive:
        entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(target, "w") as out:
        for name, data in edit(entries):
            out.writestr(name, data)
    return target


def _verify(path: Path, *, key: str | None) -> str:
    out = io.StringIO()
    call_command("verify_recording_export", str(path), *(["--public-key", key] if key else []), stdout=out)
    return out.getvalue()


def _trusted() -> str:
    """The platform's public key, as an auditor would have it from a trusted copy."""
    return signing.public_key_b64()


@pytest.fixture
def package(
    scene: dict[str, Any], django_capture_on_commit_callbacks: Any, tmp_path: Path, celery_eager: None
) -> Path:
    return _downloaded_package(scene, django_capture_on_commit_callbacks, tmp_path)


def test_a_genuine_package_verifies_with_the_trusted_key(package: Path) -> None:
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert "manifest.json.sig" in names
    assert set(manifest["files"]) == {n for n in names if n.startswith("recording-")}
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())
    assert "OK" in _verify(package, key=_trusted())


def test_verification_fails_without_a_trusted_key(package: Path, settings: Any) -> None:
    settings.AUDIT_WITNESS = "off"
    with pytest.raises(CommandError, match="trusted"):
        _verify(package, key=None)


def test_a_package_re_signed_by_a_fresh_key_fails(package: Path, tmp_path: Path) -> None:
    forger = Ed25519PrivateKey.generate()
    forger_public = forger.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )

    def forge(entries: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        manifest = json.loads(dict(entries)["manifest.json"])
        manifest["case_reference"] = "FORGED"
        manifest["public_key"] = base64.b64encode(forger_public).decode()
        body = json.dumps(manifest, indent=2, sort_keys=True).encode()
        signature = base64.b64encode(forger.sign(body)).decode() + "\n"
        keep = [(n, d) for n, d in entries if not n.startswith("manifest.json")]
        return [*keep, ("manifest.json", body), ("manifest.json.sig", signature.encode())]

    forged = _rewrite(package, tmp_path / "forged.zip", forge)
    with pytest.raises(CommandError, match="signature"):
        _verify(forged, key=_trusted())
    # Nor does the key inside the forged manifest count as trusted on its own.
    with pytest.raises(CommandError):
        _verify(forged, key=None)


def test_a_duplicate_entry_name_fails(package: Path, tmp_path: Path) -> None:
    def shadow(entries: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        audio = next(n for n, _ in entries if n.startswith("recording-"))
        return [(audio, b"tampered audio"), *entries]

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name we write on purpose
        doubled = _rewrite(package, tmp_path / "doubled.zip", shadow)
    with pytest.raises(CommandError, match="duplicate"):
        _verify(doubled, key=_trusted())


def test_a_file_not_in_the_manifest_fails(package: Path, tmp_path: Path) -> None:
    extra = _rewrite(package, tmp_path / "extra.zip", lambda e: [*e, ("README.txt", b"call me")])
    with pytest.raises(CommandError, match="not in the manifest"):
        _verify(extra, key=_trusted())


def test_a_missing_file_fails(package: Path, tmp_path: Path) -> None:
    def drop(entries: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        audio = next(n for n, _ in entries if n.startswith("recording-"))
        return [(n, d) for n, d in entries if n != audio]

    with pytest.raises(CommandError, match="missing"):
        _verify(_rewrite(package, tmp_path / "short.zip", drop), key=_trusted())


def test_an_altered_file_fails(package: Path, tmp_path: Path) -> None:
    def alter(entries: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        return [(n, d[:-1] + b"!" if n.startswith("recording-") else d) for n, d in entries]

    with pytest.raises(CommandError, match="SHA-256"):
        _verify(_rewrite(package, tmp_path / "altered.zip", alter), key=_trusted())


def test_a_key_pinned_in_settings_is_trusted(package: Path, settings: Any) -> None:
    settings.AUDIT_TRUSTED_PUBLIC_KEYS = [base64.b64decode(_trusted())]
    assert "AUDIT_TRUSTED_PUBLIC_KEYS" in _verify(package, key=None)
    other = Ed25519PrivateKey.generate().public_key()
    raw = other.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    settings.AUDIT_TRUSTED_PUBLIC_KEYS = [raw]
    with pytest.raises(CommandError, match="signature"):
        _verify(package, key=None)


def test_the_checkpoint_witness_vouches_for_the_platform_key(package: Path) -> None:
    from apps.audit.chain import audit_checkpoint_create, audit_seal_pending
    from apps.audit.witness import witness_sync

    audit_seal_pending()
    assert audit_checkpoint_create() is not None
    witness_sync()
    assert "witness" in _verify(package, key=None)
