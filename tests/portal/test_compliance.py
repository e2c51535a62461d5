"""The compliance page: auditors read the trail with filters and follow their exports."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from apps.audit.models import AuditEvent, AuditExport
from apps.audit.services import record_event
from tests.portal.conftest import World, browser_login, logged_in, screenshot


@pytest.mark.django_db
def test_an_auditor_reads_the_trail_with_filters_and_the_read_is_audited(world: World) -> None:
    with transaction.atomic():
        record_event(action="test.marker", actor=world.investigator, details={"n": 1})
    client = logged_in(world.auditor)
    page = client.get("/compliance/", {"action": "test.marker"})
    assert page.status_code == 200
    body = page.content.decode()
    assert '<td class="mono">test.marker' in body and '<td class="mono">recording.stored' not in body
    read = AuditEvent.objects.filter(action="audit.events_read", actor=world.auditor).latest("id")
    assert read.details["filters"] == {"action": "test.marker"} and read.details["via"] == "portal"


@pytest.mark.django_db
def test_an_auditor_requests_an_export_and_sees_it_listed(world: World) -> None:
    client = logged_in(world.auditor)
    response = client.post("/compliance/exports/", {"action": "recording."})
    assert response.status_code == 302
    export = AuditExport.objects.get(requested_by=world.auditor)
    assert f'<td class="mono">{export.pk}</td>' in client.get("/compliance/").content.decode()


@pytest.mark.django_db
def test_staff_without_the_audit_permission_get_404(world: World) -> None:
    assert logged_in(world.investigator).get("/compliance/").status_code == 404
    assert logged_in(world.admin).post("/compliance/exports/", {}).status_code == 404


@pytest.mark.django_db
def test_markup_in_the_trail_is_rendered_inert(world: World) -> None:
    with transaction.atomic():
        record_event(action="<script>alert(1)</script>", actor=world.investigator)
    body = logged_in(world.auditor).get("/compliance/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_compliance_page_in_a_browser(world: World, live_server: Any, browser_page: Any) -> None:
    page, base = browser_page, live_server.url
    browser_login(page, base, "auditor")
    page.click("nav >> text=Compliance")
    page.wait_for_url("**/compliance/")
    page.click("form.inline-form button[type=submit]")
    page.wait_for_url("**/compliance/")
    assert "requested" in page.inner_text("body")
    screenshot(page, "18-compliance")


@pytest.mark.django_db
def test_exports_appear_in_the_portal_and_a_second_person_approves(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from apps.access.models import ExportItem, ExportRequest
    from apps.facilities.models import Facility

    export = ExportRequest.objects.create(
        requested_by=world.investigator, case_reference="CASE-<b>9</b>", justification="court order"
    )
    ExportItem.objects.create(
        export=export, recording=world.granted, facility=Facility.objects.get(pk=world.granted.facility_id)
    )
    page = logged_in(world.investigator).get("/exports/").content.decode()
    assert "CASE-&lt;b&gt;9&lt;/b&gt;" in page and "Pending" in page
    confirmed = {"confirm": "on"}  # the approval's confirmation box (issue 15, item 6)
    own = logged_in(world.investigator).post(f"/exports/{export.pk}/approve/", confirmed, follow=True)
    assert "different person" in own.content.decode()
    export.refresh_from_db()
    assert export.status == "pending"
