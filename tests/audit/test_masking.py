"""Issue 9 (medium 5): the audit trail must not unmask privileged metadata to auditors.

Registered numbers and inmate-attorney links are written into events only as keyed references
(HMAC); the clear values live in a protected table that only registry clerks and privilege
officers read. The API, the compliance page and the exports all show the stored form.
"""

from __future__ import annotations

import json
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from apps.accounts.roles import AUDITOR, INVESTIGATOR, PRIVILEGE_OFFICER, REGISTRY_CLERK
from apps.actions.registry import exempt_number_verify
from apps.audit import signing
from apps.audit.chain import audit_checkpoint_create, audit_seal_pending
from apps.audit.export_verify import verify_export
from apps.audit.exports import audit_export_build, export_path
from apps.audit.models import AuditEvent, AuditExport
from apps.audit.services import record_event
from apps.facilities.models import Facility
from apps.inmates.models import Inmate
from apps.registry.claims import claim_report, claim_verify
from apps.registry.flags import privilege_flag_submit
from apps.registry.models import Attorney
from apps.registry.services import exempt_number_register
from tests.actors import actor, grant_facility
from tests.conftest import Switch
from tests.portal.conftest import logged_in

pytestmark = pytest.mark.django_db
NUMBER = "+12125550177"
DIGITS = "2125550177"


@pytest.fixture(autouse=True)
def _export_dir(settings: Any, tmp_path: Path) -> None:
    settings.AUDIT_EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def auditor() -> Any:
    return actor("auditor", AUDITOR)


@pytest.fixture
def privileged_trail(
    switch: Switch, inmate: Inmate, attorney: Attorney, clerk: User, facility: Facility
) -> None:
    """Everything the review found unmasked: a registration with a revealing label, its
    verification, an inmate claim verified by a clerk, an attorney's flag, a search by number."""
    exempt = exempt_number_register(
        attorney=attorney, number="(212) 555-0177", label="line for client A1001", actor=attorney.user
    )
    exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    claim, _ = claim_report(
        facility=facility, booking_number=inmate.booking_number, number=NUMBER, actor=switch.user
    )
    claim_verify(claim_id=claim.pk, clerk=clerk)
    privilege_flag_submit(
        attorney=attorney,
        facility=facility,
        booking_number=inmate.booking_number,
        number=NUMBER,
        call_date=date(2025, 3, 14),
        actor=attorney.user,
    )
    investigator = actor("investigator", INVESTIGATOR)
    grant_facility(investigator.user, facility, "view_facility", "view_facility_calls")
    search = investigator.client.get("/api/v1/calls/", {"number": "212-555-0177", "inmate": "A1001"})
    assert search.status_code == 200, search.content


def _leaks(text: str) -> list[str]:
    return [secret for secret in (DIGITS, "A1001", "2025-03-14", "line for client") if secret in text]


def test_an_auditor_reading_the_trail_through_the_api_sees_no_number_nor_inmate(
    privileged_trail: None, auditor: Any
) -> None:
    response = auditor.client.get("/api/v1/audit/events/", {"page_size": 200})
    assert response.status_code == 200
    assert _leaks(response.content.decode()) == []


def test_events_about_the_same_number_share_one_keyed_reference(privileged_trail: None) -> None:
    refs = {
        event.action: event.details.get("number_ref")
        for event in AuditEvent.objects.filter(
            action__in=[
                "exempt_number.registered",
                "exempt_number.verified",
                "inmate_claim.reported",
                "inmate_claim.verified",
                "privilege_flag.submitted",
            ]
        )
    }
    assert len(refs) == 5 and None not in refs.values()
    assert len(set(refs.values())) == 1
    searched = AuditEvent.objects.get(action="calls.searched")
    assert searched.details["filters"]["number_ref"] == refs["exempt_number.verified"]


def test_the_compliance_page_shows_no_number_nor_inmate(privileged_trail: None, auditor: Any) -> None:
    body = logged_in(auditor.user).get("/compliance/").content.decode()
    assert _leaks(body) == []


def test_the_audit_export_is_masked_and_still_verifies_offline(privileged_trail: None, auditor: Any) -> None:
    audit_seal_pending()
    audit_checkpoint_create()
    export = AuditExport.objects.create(requested_by=auditor.user, filters={})
    audit_export_build(export_id=export.pk)
    export.refresh_from_db()
    path = export_path(export)
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            assert _leaks(archive.read(name).decode()) == [], name
    report = verify_export(path, trusted_keys=[signing.public_key_bytes()])
    assert report.ok, report.problems


def test_a_number_written_by_any_event_writer_is_stored_as_a_reference() -> None:
    """A backstop for writers that forget (or are added later): an E.164 number anywhere in
    the details is replaced by its keyed reference before the event is written."""
    with transaction.atomic():
        event = record_event(action="test.careless", details={"note": f"called {NUMBER} twice", "n": NUMBER})
    stored = json.dumps(AuditEvent.objects.get(pk=event.pk).details)
    assert DIGITS not in stored and "number_ref:" in stored


@pytest.mark.parametrize("role", [REGISTRY_CLERK, PRIVILEGE_OFFICER])
def test_clerks_and_officers_with_trail_access_see_the_clear_number(
    privileged_trail: None, role: str
) -> None:
    reader = actor(f"reader-{role}", AUDITOR, role)
    body = reader.client.get("/api/v1/audit/events/", {"action": "exempt_number.verified"}).json()
    event = body["results"][0]
    assert event["revealed"] == {event["details"]["number_ref"]: NUMBER}
    read = AuditEvent.objects.filter(action="audit.events_read", actor=reader.user).latest("id")
    assert read.details["revealed"] == 1


def test_an_auditor_gets_no_revealed_values(privileged_trail: None, auditor: Any) -> None:
    body = auditor.client.get("/api/v1/audit/events/", {"action": "exempt_number.verified"}).json()
    assert body["results"][0]["revealed"] == {}
