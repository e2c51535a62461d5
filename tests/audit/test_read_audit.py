"""Issue 9, Low "Unaudited reads": the inmates, grants, exports and registry-number lists, the
dashboard, the clerk queue and the review queue wrote no audit event. Each read of a page now
writes exactly one, naming its filter and how many rows it showed (not one event per row)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.inmates.services import inmate_grant_create
from tests.actors import actor, staff_member
from tests.factories import ExemptNumberFactory
from tests.support.insider import Insider, portal_client

pytestmark = pytest.mark.django_db

# (who, url, action, rows the page shows in the world below, filter key in the URL or "")
CASES = [
    ("investigator", "/api/v1/inmates/?q=Doe", "inmates.listed", 4, "q"),
    ("admin", "/api/v1/grants/?investigator=insider", "grants.listed", 1, "investigator"),
    ("investigator", "/api/v1/exports/", "exports.listed", 0, ""),
    ("clerk", "/api/v1/registry/numbers/?status=pending", "registry_numbers.listed", 2, "status"),
    ("investigator", "portal:/", "dashboard.viewed", 1, ""),
    ("investigator", "portal:/inmates/?q=Doe", "inmates.listed", 4, "q"),
    ("admin", "portal:/grants/?investigator=insider", "grants.listed", 1, "investigator"),
    ("investigator", "portal:/exports/", "exports.listed", 0, ""),
    ("clerk", "portal:/attorney/clerk/", "clerk_queue.viewed", 2, ""),
    ("officer", "portal:/attorney/review/", "privilege_review.viewed", 0, ""),
]


@pytest.mark.parametrize(("who", "url", "action", "rows", "filter_key"), CASES)
def test_every_list_read_writes_one_event_with_its_filter_and_row_count(
    insider: Insider, who: str, url: str, action: str, rows: int, filter_key: str
) -> None:
    admin = staff_member(
        "reads-admin",
        "facility_admin",
        insider.facility,
        perms=["view_facility", "view_facility_calls", "manage_facility"],
    )
    clerk = actor("reads-clerk", "registry_clerk")
    officer = staff_member("reads-officer", "privilege_officer", insider.facility)
    inmate_grant_create(
        granted_by=admin.user,
        investigator=insider.user,
        inmate=insider.recordings[0].call.inmate,
        case_reference="R-1",
        expires_at=timezone.now() + timedelta(days=1),
    )
    ExemptNumberFactory.create_batch(2)
    user = {"investigator": insider.investigator, "admin": admin, "clerk": clerk, "officer": officer}[who]
    client: Client = portal_client(user.user) if url.startswith("portal:") else user.client
    start = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = client.get(url.removeprefix("portal:"))
    assert response.status_code == 200
    events = list(AuditEvent.objects.filter(actor=user.user, id__gt=start).exclude(action="access.denied"))
    assert [e.action for e in events] == [action]
    assert events[0].details["rows"] == rows
    if filter_key:
        assert filter_key in events[0].details["filters"]
