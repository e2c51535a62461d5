"""Export only with a second person (I4)."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.access.models import ExportRequest
from apps.actions.registry import exempt_number_verify
from apps.audit.models import AuditEvent
from apps.facilities.models import Facility
from apps.inmates.services import inmate_grant_create
from apps.registry.services import exempt_number_register
from tests.actors import staff_member
from tests.factories import AttorneyFactory, CallFactory, InmateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(facility: Facility, store_recording: Any) -> dict[str, Any]:
    admin = staff_member(
        "exp-admin",
        "facility_admin",
        facility,
        perms=["manage_facility", "view_facility_calls", "approve_facility_exports"],
    )
    investigator = staff_member("exp-investigator", "investigator", facility, perms=["view_facility_calls"])
    inmate = InmateFactory(facility=facility)
    recordings = [store_recording(CallFactory(inmate=inmate), f"audio-{i}".encode() * 100) for i in range(3)]
    inmate_grant_create(
        granted_by=admin.user,
        investigator=investigator.user,
        inmate=inmate,
        case_reference="EXP-1",
        expires_at=timezone.now() + timedelta(days=1),
    )
    return {"admin": admin, "investigator": investigator, "recordings": recordings}


def _request(scene: dict[str, Any], ids: list[int] | None = None) -> Any:
    ids = ids or [r.pk for r in scene["recordings"]]
    return scene["investigator"].client.post(
        "/api/v1/exports/",
        {"recording_ids": ids, "case_reference": "EXP-1", "justification": "Court order 12/3"},
        format="json",
    )


def test_an_export_needs_a_second_person_and_downloads_once(
    scene: dict[str, Any], django_capture_on_commit_callbacks: Any, celery_eager: None
) -> None:
    r = _request(scene)
    assert r.status_code == 201, r.content
    export_id = r.json()["id"]
    assert r.json()["status"] == "pending"
    own = scene["investigator"].client.post(f"/api/v1/exports/{export_id}/approve/")
    assert own.status_code == 403 and own.json()["reason"] == "self_approval"
    assert scene["investigator"].client.get(f"/api/v1/exports/{export_id}/download/").status_code == 409
    with django_capture_on_commit_callbacks(execute=True):
        approved = scene["admin"].client.post(f"/api/v1/exports/{export_id}/approve/")
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    # Eager Celery built it after commit.
    assert scene["investigator"].client.get(f"/api/v1/exports/{export_id}/").json()["status"] == "ready"
    download = scene["investigator"].client.get(f"/api/v1/exports/{export_id}/download/")
    assert download.status_code == 200
    package = b"".join(download.streaming_content)
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        names = archive.namelist()
        assert {"manifest.json", "manifest.json.sig"} <= set(names) and len(names) == 5
        assert archive.read(f"recording-{scene['recordings'][0].pk}.audio") == b"audio-0" * 100
    again = scene["investigator"].client.get(f"/api/v1/exports/{export_id}/download/")
    assert again.status_code == 409
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "export.requested",
        "export.self_approval_refused",
        "export.approved",
        "export.built",
        "export.downloaded",
    } <= actions


def test_the_database_refuses_self_approval(scene: dict[str, Any]) -> None:
    export_id = _request(scene).json()["id"]
    with pytest.raises(IntegrityError), transaction.atomic():
        ExportRequest.objects.filter(pk=export_id).update(approved_by=scene["investigator"].user)


def test_exports_only_of_recordings_the_requester_may_play(
    scene: dict[str, Any], facility: Facility, store_recording: Any
) -> None:
    ungranted = store_recording(CallFactory(inmate=InmateFactory(facility=facility)))
    r = _request(scene, [scene["recordings"][0].pk, ungranted.pk])
    assert r.status_code == 404
    assert ExportRequest.objects.count() == 0


def test_too_many_recordings_in_one_request_is_refused(scene: dict[str, Any], settings: Any) -> None:
    settings.EXPORT_MAX_RECORDINGS = 2
    r = _request(scene)
    assert r.status_code == 400 and r.json()["reason"] == "export_too_large"


def test_a_recording_quarantined_before_approval_is_withheld(
    scene: dict[str, Any], clerk: Any, django_capture_on_commit_callbacks: Any, celery_eager: None
) -> None:
    export_id = _request(scene).json()["id"]
    attorney = AttorneyFactory()
    first = scene["recordings"][0]
    exempt = exempt_number_register(attorney=attorney, number=first.call.dialed_number, actor=attorney.user)
    exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    with django_capture_on_commit_callbacks(execute=True):
        scene["admin"].client.post(f"/api/v1/exports/{export_id}/approve/")
    package = b"".join(
        scene["investigator"].client.get(f"/api/v1/exports/{export_id}/download/").streaming_content
    )
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        assert f"recording-{first.pk}.audio" not in archive.namelist()
        assert str(first.pk) in archive.read("manifest.json").decode()


def test_an_approver_needs_the_approve_permission_on_the_facility(
    scene: dict[str, Any], facility: Facility
) -> None:
    export_id = _request(scene).json()["id"]
    colleague = staff_member("exp-colleague", "investigator", facility, perms=["view_facility_calls"])
    assert colleague.client.post(f"/api/v1/exports/{export_id}/approve/").status_code == 404


def test_an_approval_during_a_broker_outage_is_kept_and_built_later(
    scene: dict[str, Any], django_capture_on_commit_callbacks: Any, settings: Any, monkeypatch: Any
) -> None:
    """The approval commits and answers 200 though nothing can be queued; the export waits,
    approved, until beat's resume task sends it again (here: called directly)."""
    from apps.access.exports import exports_resume
    from callplatform.celery import app

    export_id = _request(scene).json()["id"]
    dead_broker = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    previous = (app.conf.broker_url, app.conf.task_always_eager)
    monkeypatch.setenv("CELERY_BROKER_URL", dead_broker)  # Celery reads it before its config
    app.conf.broker_url, app.conf.task_always_eager = dead_broker, False
    try:
        with django_capture_on_commit_callbacks(execute=True):
            approved = scene["admin"].client.post(f"/api/v1/exports/{export_id}/approve/")
        assert approved.status_code == 200, approved.content
        assert ExportRequest.objects.get(pk=export_id).status == "approved"
        settings.EXPORT_RESUME_AFTER_SECONDS = 0
        assert exports_resume() == 0  # still down: nothing sent, nothing lost
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous
    app.conf.task_always_eager = True
    try:
        assert exports_resume() == 1
    finally:
        app.conf.task_always_eager = previous[1]
    assert ExportRequest.objects.get(pk=export_id).status == "ready"


def test_a_build_that_lost_its_worker_is_started_again(
    scene: dict[str, Any], django_capture_on_commit_callbacks: Any, settings: Any, celery_eager: None
) -> None:
    """A worker killed mid-build leaves the export `building`; the redelivered message and the
    resume task start it again once it is stale, never while a build may still be running."""
    from apps.access.exports import export_build, exports_resume

    export_id = _request(scene).json()["id"]
    ExportRequest.objects.filter(pk=export_id).update(
        status="building", approved_by=scene["admin"].user, approved_at=timezone.now()
    )
    ExportRequest.objects.filter(pk=export_id).update(build_started_at=timezone.now())
    export_build(export_id=export_id)  # a redelivery while the build may still run: no-op
    assert exports_resume() == 0
    assert ExportRequest.objects.get(pk=export_id).status == "building"
    settings.EXPORT_BUILD_STALE_SECONDS = 60
    ExportRequest.objects.filter(pk=export_id).update(build_started_at=timezone.now() - timedelta(hours=1))
    assert exports_resume() == 1
    export = ExportRequest.objects.get(pk=export_id)
    assert export.status == "ready" and export.package_sha256


def test_a_build_that_keeps_getting_lost_fails_for_good_and_is_audited(
    scene: dict[str, Any], settings: Any, celery_eager: None
) -> None:
    from apps.access.exports import export_build

    export_id = _request(scene).json()["id"]
    settings.EXPORT_BUILD_MAX_ATTEMPTS = 2
    ExportRequest.objects.filter(pk=export_id).update(
        status="building",
        approved_by=scene["admin"].user,
        approved_at=timezone.now(),
        build_started_at=timezone.now() - timedelta(hours=1),
        build_attempts=2,
    )
    export_build(export_id=export_id)
    export = ExportRequest.objects.get(pk=export_id)
    assert export.status == "failed" and "2 attempts" in export.error and not export.package_name
    assert AuditEvent.objects.filter(action="export.failed", target_id=str(export_id)).exists()


def test_a_replaced_build_does_not_overwrite_the_export(
    scene: dict[str, Any], settings: Any, celery_eager: None, monkeypatch: Any
) -> None:
    """A stale build that wakes up after its replacement took over finishes nothing."""
    from apps.access import exports

    export_id = _request(scene).json()["id"]
    ExportRequest.objects.filter(pk=export_id).update(
        status="approved", approved_by=scene["admin"].user, approved_at=timezone.now()
    )
    real_read = exports.recording_read

    def read_while_replaced(*, recording: Any) -> bytes:
        # Meanwhile the build was declared lost and another one started (a newer start time).
        later = timezone.now() + timedelta(seconds=5)
        ExportRequest.objects.filter(pk=export_id).update(build_started_at=later)
        return real_read(recording=recording)

    monkeypatch.setattr(exports, "recording_read", read_while_replaced)
    exports.export_build(export_id=export_id)
    export = ExportRequest.objects.get(pk=export_id)
    assert export.status == "building" and not export.package_name
    assert not AuditEvent.objects.filter(action="export.built", target_id=str(export_id)).exists()


# --- rejection: a second person who could approve it, with a written reason


def test_an_approver_rejects_with_a_reason_and_the_request_is_closed(scene: dict[str, Any]) -> None:
    export_id = _request(scene).json()["id"]
    admin = scene["admin"].client
    blank = admin.post(f"/api/v1/exports/{export_id}/reject/", {"reason": ""}, format="json")
    assert blank.status_code == 400
    rejected = admin.post(
        f"/api/v1/exports/{export_id}/reject/", {"reason": "No court order."}, format="json"
    )
    assert rejected.status_code == 200, rejected.content
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["decision_reason"] == "No court order."
    assert admin.post(f"/api/v1/exports/{export_id}/approve/").status_code == 409
    event = AuditEvent.objects.get(action="export.rejected")
    assert event.actor == scene["admin"].user and event.details["reason"] == "No court order."


def test_the_requester_cannot_reject_their_own_request(scene: dict[str, Any]) -> None:
    export_id = _request(scene).json()["id"]
    own = scene["investigator"].client.post(
        f"/api/v1/exports/{export_id}/reject/", {"reason": "changed my mind"}, format="json"
    )
    assert own.status_code == 403 and own.json()["reason"] == "self_approval"
    assert AuditEvent.objects.filter(action="export.self_rejection_refused").exists()
