"""Exports in the portal (issue 15, item 6): requested on the calls and recording screens,
reviewed and decided by a second person, downloaded once; always through the API's service."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.test import Client

from apps.access.models import ExportRequest, ExportStatus
from apps.audit.models import AuditEvent
from tests.actors import staff_member
from tests.portal.conftest import World, logged_in

pytestmark = pytest.mark.django_db

JUSTIFICATION = "Court order 2026-114: calls of the week of the escape."


def _request(world: World, ids: list[int], **fields: Any) -> Any:
    data = {"recording": ids, "case_reference": "CASE-77", "justification": JUSTIFICATION, **fields}
    return logged_in(world.investigator).post("/exports/new/", data)


def test_the_call_list_offers_a_box_only_for_recordings_the_user_may_play(world: World) -> None:
    body = logged_in(world.investigator).get("/calls/").content.decode()
    assert f'name="recording" value="{world.granted.pk}"' in body
    assert f'name="recording" value="{world.ungranted.pk}"' not in body  # same facility, no grant
    assert f'name="recording" value="{world.privileged.pk}"' not in body  # quarantined
    assert 'id="export-pick"' in body


def test_the_recording_page_offers_an_export_only_when_it_plays(world: World) -> None:
    client = logged_in(world.investigator)
    assert "request-export" in client.get(f"/recordings/{world.granted.pk}/").content.decode()
    assert "request-export" not in client.get(f"/recordings/{world.ungranted.pk}/").content.decode()


def test_the_form_shows_the_picked_recordings_and_an_empty_form_says_how_to_start(world: World) -> None:
    client = logged_in(world.investigator)
    page = client.get(f"/exports/new/?recording={world.granted.pk}")
    assert page.status_code == 200 and "Court order" not in page.content.decode()
    assert f"#{world.granted.pk}" in page.content.decode() and "61 s" in page.content.decode()
    empty = client.get("/exports/new/").content.decode()
    assert 'id="export-how"' in empty and "tick the recordings" in empty
    assert AuditEvent.objects.filter(action="export.form_viewed", actor=world.investigator).exists()


def test_picking_a_recording_out_of_scope_is_a_404_and_audited(world: World) -> None:
    assert logged_in(world.investigator).get(f"/exports/new/?recording={world.foreign.pk}").status_code == 404
    assert AuditEvent.objects.filter(
        action="access.denied", actor=world.investigator, details__attempted="export.new"
    ).exists()
    # Posted anyway: the service refuses it (the API's 404), audited there.
    assert _request(world, [world.granted.pk, world.foreign.pk]).status_code == 404
    assert AuditEvent.objects.filter(action="export.denied", actor=world.investigator).exists()
    assert not ExportRequest.objects.exists()


def test_a_request_needs_a_case_reference_and_a_real_justification(world: World) -> None:
    r = _request(world, [world.granted.pk], case_reference="", justification="because")
    assert r.status_code == 400
    body = r.content.decode()
    assert "This field is required." in body and "at least 20 characters" in body
    none = _request(world, [])
    assert none.status_code == 400 and "Choose at least one recording" in none.content.decode()
    assert not ExportRequest.objects.exists()


def test_a_request_goes_through_the_service_and_is_listed_for_the_requester(world: World) -> None:
    r = _request(world, [world.granted.pk])
    assert r.status_code == 302 and r["Location"] == "/exports/"
    export = ExportRequest.objects.get()
    assert export.requested_by == world.investigator and export.case_reference == "CASE-77"
    assert AuditEvent.objects.filter(action="export.requested", actor=world.investigator).exists()
    listed = logged_in(world.investigator).get("/exports/").content.decode()
    assert "CASE-77" in listed and "Pending" in listed


def test_an_exhausted_quota_is_the_429_page(world: World, settings: Any) -> None:
    settings.ACCESS_QUOTAS = {**settings.ACCESS_QUOTAS, "export_request": [(3600, 1)]}
    assert _request(world, [world.granted.pk]).status_code == 302
    again = _request(world, [world.granted.pk])
    assert again.status_code == 429 and "Quota reached" in again.content.decode()
    assert ExportRequest.objects.count() == 1


def test_the_approver_sees_what_they_approve(world: World) -> None:
    _request(world, [world.granted.pk])
    export = ExportRequest.objects.get()
    page = logged_in(world.admin).get(f"/exports/{export.pk}/")
    body = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert JUSTIFICATION in body and "CASE-77" in body and "Grant, Gary" in body
    assert f"#{world.granted.pk}" in body and 'id="activity"' in body and 'id="approve-form"' in body
    assert AuditEvent.objects.filter(
        action="export.viewed", actor=world.admin, target_id=str(export.pk)
    ).exists()
    # The requester sees their request, but never the approve form or their own activity.
    own = logged_in(world.investigator).get(f"/exports/{export.pk}/").content.decode()
    assert 'id="approve-form"' not in own and 'id="activity"' not in own


def test_the_requesters_activity_counts_their_playbacks_and_denials(world: World) -> None:
    client = logged_in(world.investigator)
    client.post(f"/recordings/{world.granted.pk}/play/")
    client.get(f"/recordings/{world.foreign.pk}/")  # denied, audited
    _request(world, [world.granted.pk])
    export = ExportRequest.objects.get()
    response = logged_in(world.admin).get(f"/exports/{export.pk}/")
    activity = response.context["activity"]
    assert (activity.playbacks, activity.exports, activity.denied) == (1, 1, 1)


def test_a_stranger_gets_404_for_someone_elses_export(world: World, facility: Any) -> None:
    _request(world, [world.granted.pk])
    export = ExportRequest.objects.get()
    other = staff_member("other-admin", "facility_admin", world.other_facility).user
    client = logged_in(other)
    assert client.get(f"/exports/{export.pk}/").status_code == 404
    assert client.post(f"/exports/{export.pk}/approve/", {"confirm": "on"}).status_code == 404
    assert client.post(f"/exports/{export.pk}/reject/", {"reason": "no"}).status_code == 404
    assert client.post(f"/exports/{export.pk}/download/").status_code == 404
    assert AuditEvent.objects.filter(action="access.denied", actor=other).count() == 4
    assert ExportRequest.objects.get().status == ExportStatus.PENDING


def test_approval_needs_the_confirmation_and_a_second_person(world: World) -> None:
    _request(world, [world.granted.pk])
    export = ExportRequest.objects.get()
    unconfirmed = logged_in(world.admin).post(f"/exports/{export.pk}/approve/", {})
    assert unconfirmed.status_code == 400 and "Tick the box" in unconfirmed.content.decode()
    own = logged_in(world.investigator).post(f"/exports/{export.pk}/approve/", {"confirm": "on"})
    assert own.status_code == 302
    assert ExportRequest.objects.get().status == ExportStatus.PENDING
    assert AuditEvent.objects.filter(action="export.self_approval_refused").exists()


def test_a_rejection_needs_a_reason_which_the_requester_reads(world: World) -> None:
    _request(world, [world.granted.pk])
    export = ExportRequest.objects.get()
    admin = logged_in(world.admin)
    assert admin.post(f"/exports/{export.pk}/reject/", {"reason": "  "}).status_code == 400
    assert (
        admin.post(f"/exports/{export.pk}/reject/", {"reason": "No court order attached."}).status_code == 302
    )
    export.refresh_from_db()
    assert export.status == ExportStatus.REJECTED and export.decision_reason == "No court order attached."
    assert AuditEvent.objects.filter(action="export.rejected", actor=world.admin).exists()
    assert "No court order attached." in logged_in(world.investigator).get("/exports/").content.decode()
    # Decided: a second decision is refused (the service's state check), nothing changes.
    admin.post(f"/exports/{export.pk}/approve/", {"confirm": "on"})
    assert ExportRequest.objects.get().status == ExportStatus.REJECTED


def test_approved_then_downloaded_once_by_the_requester(
    world: World, celery_eager: None, django_capture_on_commit_callbacks: Any
) -> None:
    _request(world, [world.granted.pk])
    export = ExportRequest.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            logged_in(world.admin).post(f"/exports/{export.pk}/approve/", {"confirm": "on"}).status_code
            == 302
        )
    export.refresh_from_db()
    assert export.status == ExportStatus.READY and export.approved_by == world.admin
    client = logged_in(world.investigator)
    assert f'id="download-{export.pk}"' in client.get("/exports/").content.decode()
    assert f'id="download-{export.pk}"' in client.get(f"/exports/{export.pk}/").content.decode()
    # Only the requester downloads (the approver gets the audited 404).
    assert logged_in(world.admin).post(f"/exports/{export.pk}/download/").status_code == 404
    download = client.post(f"/exports/{export.pk}/download/")
    assert download.status_code == 200 and download["Cache-Control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as archive:
        assert f"recording-{world.granted.pk}.audio" in archive.namelist()
    assert AuditEvent.objects.filter(action="export.downloaded", actor=world.investigator).exists()
    again = client.post(f"/exports/{export.pk}/download/")
    assert again.status_code == 302 and ExportRequest.objects.get().status == ExportStatus.DOWNLOADED


def test_an_empty_export_list_says_how_to_start(world: World) -> None:
    body = logged_in(world.investigator).get("/exports/").content.decode()
    assert 'id="export-how"' in body and "/calls/" in body


def test_a_link_from_elsewhere_to_the_request_form_asks_before_it_reads(world: World) -> None:
    """A colleague's link naming recordings (a canary, say) must not read them under the
    person's name: the form asks first, and its "Open" shows the form, requesting nothing."""
    client = Client()
    client.force_login(world.investigator)
    url = f"/exports/new/?recording={world.granted.pk}"
    asked = client.get(url)
    assert "Open this record?" in asked.content.decode()
    assert not AuditEvent.objects.filter(action="export.form_viewed").exists()
    opened = client.post(url)
    assert opened.status_code == 200 and 'id="export-form"' in opened.content.decode()
    assert not ExportRequest.objects.exists()
