from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import transaction
from rest_framework.test import APIClient

from apps.accounts.roles import AUDITOR, ensure_role_groups
from apps.audit import signing
from apps.audit.chain import audit_checkpoint_create, audit_seal_pending
from apps.audit.export_verify import verify_export
from apps.audit.exports import audit_export_build
from apps.audit.models import AuditEvent, AuditExport, ExportStatus
from apps.audit.services import record_event
from tests.audit.helpers import act
from tests.factories import UserFactory, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _export_dir(settings: object, tmp_path: Path) -> None:
    settings.AUDIT_EXPORT_DIR = tmp_path / "exports"  # type: ignore[attr-defined]


@pytest.fixture
def auditor() -> User:
    user = UserFactory(username="auditor")
    user.groups.add(ensure_role_groups()[AUDITOR])
    return user


def _client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


@pytest.fixture
def auditor_client(auditor: User) -> APIClient:
    return _client(auditor)


@pytest.fixture
def trail() -> None:
    officer = UserFactory(username="officer")
    act(6, actor=officer, facility_id=1, action="recording.played")
    act(4, actor=UserFactory(username="clerk2"), facility_id=2, action="exempt_number.verified")
    audit_seal_pending()
    audit_checkpoint_create()


@pytest.mark.parametrize(
    "method,url",
    [
        ("get", "/api/v1/audit/events/"),
        ("post", "/api/v1/audit/exports/"),
        ("get", "/api/v1/audit/exports/1/"),
        ("get", "/api/v1/audit/exports/1/download/"),
    ],
)
def test_the_audit_endpoints_answer_401_to_anonymous_and_403_to_a_stranger(
    stranger_client: APIClient, method: str, url: str
) -> None:
    assert getattr(APIClient(), method)(url).status_code == 401
    assert getattr(stranger_client, method)(url).status_code == 403


def test_an_auditor_lists_events_filtered_and_the_read_is_itself_audited(
    auditor_client: APIClient, trail: None
) -> None:
    response = auditor_client.get("/api/v1/audit/events/", {"facility_id": 1, "actor": "officer"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 6
    assert {row["action"] for row in body["results"]} == {"recording.played"}
    read = AuditEvent.objects.filter(action="audit.events_read").get()
    assert read.actor_label == "auditor"
    assert read.details["returned"] == 6
    assert read.details["filters"] == {"facility_id": 1, "actor": "officer"}


def test_an_action_prefix_filter_matches_a_family(auditor_client: APIClient, trail: None) -> None:
    body = auditor_client.get("/api/v1/audit/events/", {"action": "exempt_number."}).json()
    assert body["count"] == 4


def test_bad_filters_are_a_400(auditor_client: APIClient) -> None:
    response = auditor_client.get("/api/v1/audit/events/", {"since": "yesterday"})
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid"


def test_an_export_is_built_verified_offline_and_its_download_audited(
    auditor: User, auditor_client: APIClient, trail: None, tmp_path: Path
) -> None:
    response = auditor_client.post("/api/v1/audit/exports/", {"facility_id": 1}, format="json")
    assert response.status_code == 202
    export_id = response.json()["id"]
    assert AuditEvent.objects.filter(action="audit.export_requested", actor=auditor).count() == 1
    audit_export_build(export_id=export_id)  # what the Celery job does after commit
    status = auditor_client.get(f"/api/v1/audit/exports/{export_id}/").json()
    assert status["status"] == ExportStatus.DONE and status["progress"] == 1.0 and status["total"] == 6

    download = auditor_client.get(f"/api/v1/audit/exports/{export_id}/download/")
    assert download.status_code == 200
    archive = tmp_path / "export.zip"
    archive.write_bytes(b"".join(download.streaming_content))  # type: ignore[attr-defined]
    assert AuditEvent.objects.filter(action="audit.export_downloaded", actor=auditor).count() == 1

    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == ["events.csv", "events.jsonl", "manifest.json", "manifest.json.sig"]
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["counts"]["events"] == 6 and manifest["first"]["sequence"] == 1
        assert len(manifest["checkpoints"]) == 1
        assert zf.read("events.csv").decode().count("\n") == 7
    report = verify_export(archive, trusted_keys=[signing.public_key_bytes()])
    assert report.ok, report.problems
    call_command("verify_audit_export", str(archive), "--public-key", signing.public_key_b64())


def test_another_auditor_cannot_see_or_download_my_export(auditor: User, trail: None) -> None:
    export = AuditExport.objects.create(requested_by=auditor, filters={})
    other = UserFactory(username="auditor2")
    other.groups.add(ensure_role_groups()[AUDITOR])
    client = _client(other)
    assert client.get(f"/api/v1/audit/exports/{export.pk}/").status_code == 404
    assert client.get(f"/api/v1/audit/exports/{export.pk}/download/").status_code == 404


def test_a_download_before_the_export_is_done_is_a_409(auditor: User, auditor_client: APIClient) -> None:
    export = AuditExport.objects.create(requested_by=auditor, filters={})
    response = auditor_client.get(f"/api/v1/audit/exports/{export.pk}/download/")
    assert response.status_code == 409


def _built_export(auditor: User) -> Path:
    export = AuditExport.objects.create(requested_by=auditor, filters={})
    audit_export_build(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE, export.error
    from apps.audit.exports import export_path

    return export_path(export)


def _rewrite(archive: Path, name: str, change: object) -> None:
    """Rewrite one member of the zip, as someone editing the export would."""
    with zipfile.ZipFile(archive) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members[name] = change(members[name])  # type: ignore[operator]
    with zipfile.ZipFile(archive, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)


def test_an_edited_export_event_is_detected_offline(auditor: User, trail: None) -> None:
    archive = _built_export(auditor)
    _rewrite(archive, "events.jsonl", lambda data: data.replace(b'"n":3', b'"n":4', 1))
    report = verify_export(archive, trusted_keys=[signing.public_key_bytes()])
    assert any("was changed" in p for p in report.problems)
    assert any("events.jsonl: SHA-256" in p for p in report.problems)
    with pytest.raises(CommandError) as caught:
        call_command(
            "verify_audit_export",
            str(archive),
            "--public-key",
            signing.public_key_b64(),
            stdout=io.StringIO(),
        )
    assert caught.value.returncode == 1


def test_a_dropped_export_line_is_detected_even_with_a_fixed_up_manifest(auditor: User, trail: None) -> None:
    archive = _built_export(auditor)
    _rewrite(archive, "events.jsonl", lambda data: b"\n".join(data.split(b"\n")[:3] + data.split(b"\n")[4:]))
    _rewrite(archive, "manifest.json", lambda data: data.replace(b'"events": 10', b'"events": 9'))
    problems = verify_export(archive, trusted_keys=[signing.public_key_bytes()]).problems
    assert any("does not link" in p or "SHA-256" in p for p in problems)
    assert any("manifest.json: signature invalid" in p for p in problems)


def test_a_large_export_streams_in_pages(auditor: User, monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.audit import exports

    monkeypatch.setattr(exports, "PAGE", 7)
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 5)
    with transaction.atomic():
        for number in range(50):
            record_event(action="test.bulk", details={"n": number})
    audit_seal_pending()
    archive = _built_export(auditor)
    report = verify_export(archive, trusted_keys=[signing.public_key_bytes()])
    assert report.ok and report.events == 50 and report.contiguous


def test_the_public_key_is_open_to_verifiers(client: object) -> None:
    body = APIClient().get("/api/v1/audit/public-key/").json()
    assert body["algorithm"] == "Ed25519" and len(body["key_id"]) == 16


def test_the_api_lists_exactly_the_hashed_event_fields() -> None:
    """The API's event fields and the canonical (hashed, exported) ones are one set: an auditor's
    export and the API never disagree about what an event holds (the order may differ)."""
    from apps.audit.api import EventOutput
    from apps.audit.canonical import EVENT_FIELDS

    api_fields = [field for field in EventOutput.Meta.fields if field != "revealed"]
    assert sorted(api_fields) == sorted(EVENT_FIELDS)
    assert len(api_fields) == len(set(api_fields))
