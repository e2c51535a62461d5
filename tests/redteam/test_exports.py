"""Red team (2026-11-27): deciding an export one may see but not decide."""

from __future__ import annotations

from typing import Any

import pytest

from apps.access.models import ExportItem, ExportRequest, ExportStatus
from apps.audit.models import AuditEvent
from tests.actors import INVESTIGATOR, Cast, staff_member
from tests.factories import CallFactory, InmateFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("act", ["approve", "reject"])
def test_deciding_an_export_that_reaches_a_facility_one_does_not_approve_for_is_audited(
    cast: Cast, store_recording: Any, act: str
) -> None:
    """ATTACK (low, I2: "the attempt is audited"): home's administrator sees an export touching
    home and the other facility (exports_visible_to) but may not decide it. The service answered
    404 and wrote nothing: repeated attempts to push a cross-facility export through left no
    trace. The refusal is now an ``access.denied`` event, and the export stays pending."""
    requester = staff_member("roamer", INVESTIGATOR, cast.facility).user
    recordings = [
        store_recording(CallFactory(inmate=InmateFactory(facility=where), facility=where))
        for where in (cast.facility, cast.other_facility)
    ]
    export = ExportRequest.objects.create(requested_by=requester, case_reference="C-1", justification="j")
    for recording in recordings:
        ExportItem.objects.create(export=export, recording=recording, facility_id=recording.facility_id)
    body = {"reason": "no"} if act == "reject" else {}
    answer = cast.admin.client.post(f"/api/v1/exports/{export.pk}/{act}/", body, format="json")
    assert answer.status_code == 404
    export.refresh_from_db()
    assert export.status == ExportStatus.PENDING
    denied = AuditEvent.objects.filter(action="access.denied", actor=cast.admin.user)
    assert [e.details["attempted"] for e in denied] == [f"export.{act}"]
