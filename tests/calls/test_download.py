"""Call-list downloads (I4): scoped, masked, metered per row and audited, like paging."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from apps.audit.models import AuditEvent
from apps.calls.models import Decision
from apps.facilities.models import Facility
from tests.actors import Actor, actor, grant_facility
from tests.factories import CallFactory, ExemptNumberFactory, InmateFactory

URL = "/api/v1/calls/download/"
ATTORNEY_NUMBER = "+12125550199"


@pytest.fixture
def calls(facility: Facility, other_facility: Facility) -> dict[str, Any]:
    inmate = InmateFactory(facility=facility, booking_number="=HYPERLINK(1)")
    exempt = ExemptNumberFactory(number=ATTORNEY_NUMBER)
    return {
        "ordinary": CallFactory(inmate=inmate, dialed_number="+17185550100", switch_call_id="-sum-1"),
        "privileged": CallFactory(
            inmate=inmate,
            dialed_number=ATTORNEY_NUMBER,
            decision=Decision.EXEMPT,
            privileged=True,
            reason="verified_attorney_number",
            exempt_number=exempt,
        ),
        "foreign": CallFactory(inmate=InmateFactory(facility=other_facility), dialed_number="+17185550111"),
    }


def _staff(username: str, role: str, facility: Facility) -> Actor:
    who = actor(username, role)
    grant_facility(who.user, facility, "view_facility_calls")
    return who


def _csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


@pytest.mark.django_db
def test_csv_download_is_scoped_masked_and_audited(facility: Facility, calls: dict[str, Any]) -> None:
    who = _staff("dl-investigator", "investigator", facility)
    r = who.client.get(URL)
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    assert r["Content-Disposition"].startswith('attachment; filename="calls-')
    assert r["Cache-Control"] == "no-store"
    rows = {int(row["id"]): row for row in _csv(r.content)}
    assert set(rows) == {calls["ordinary"].pk, calls["privileged"].pk}  # not the other facility's
    privileged = rows[calls["privileged"].pk]
    assert privileged["privileged"] == "true"
    assert privileged["dialed_number"] == "" and privileged["attorney"] == ""
    assert ATTORNEY_NUMBER not in r.content.decode()
    event = AuditEvent.objects.get(action="calls.downloaded", actor=who.user)
    assert event.details["rows"] == 2 and event.details["format"] == "csv"


@pytest.mark.django_db
def test_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(
    facility: Facility, calls: dict[str, Any]
) -> None:
    who = _staff("dl-formula", "investigator", facility)
    row = {int(r["id"]): r for r in _csv(who.client.get(URL).content)}[calls["ordinary"].pk]
    assert row["inmate"] == "'=HYPERLINK(1)"
    assert row["switch_call_id"] == "'-sum-1"
    assert row["dialed_number"] == "'+17185550100"


@pytest.mark.django_db
def test_a_registry_clerk_sees_the_number_and_attorney_in_json(
    facility: Facility, calls: dict[str, Any]
) -> None:
    who = _staff("dl-clerk", "registry_clerk", facility)
    r = who.client.get(URL, {"file_format": "json", "number": "(212) 555-0199"})
    assert r.status_code == 200 and r["Content-Type"] == "application/json"
    body = r.json()
    assert body["count"] == 1
    (row,) = body["results"]
    assert row["id"] == calls["privileged"].pk
    assert row["dialed_number"] == ATTORNEY_NUMBER and row["attorney"]


@pytest.mark.django_db
def test_every_row_counts_against_the_call_rows_quota(
    facility: Facility, calls: dict[str, Any], settings: Any
) -> None:
    settings.ACCESS_QUOTAS = {**settings.ACCESS_QUOTAS, "call_rows": [(3600, 3)]}
    who = _staff("dl-quota", "investigator", facility)
    assert who.client.get(URL).status_code == 200  # 2 rows charged
    r = who.client.get(URL)  # 2 more would make 4 > 3
    assert r.status_code == 429
    assert r.json()["reason"] == "quota_exceeded" and r.json()["kind"] == "call_rows"
    assert AuditEvent.objects.filter(action="calls.downloaded", actor=who.user).count() == 1
    assert AuditEvent.objects.filter(action="quota.exceeded", actor=who.user).count() == 1


@pytest.mark.django_db
def test_a_download_larger_than_the_limit_is_refused_whole(
    facility: Facility, calls: dict[str, Any], settings: Any
) -> None:
    settings.CALL_DOWNLOAD_MAX_ROWS = 1
    who = _staff("dl-limit", "investigator", facility)
    r = who.client.get(URL)
    assert r.status_code == 400
    assert r.json()["reason"] == "too_many_rows" and r.json()["limit"] == 1
    assert not AuditEvent.objects.filter(action="calls.downloaded").exists()
    assert who.client.get(URL, {"switch_call_id": "x", "number": "+17185550100"}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [({"file_format": "xlsx"}, "file_format"), ({"since": "yesterday"}, "since"), ({"number": "abc"}, None)],
)
def test_bad_download_parameters_get_400_with_a_reason(
    facility: Facility, calls: dict[str, Any], query: dict[str, str], field: str | None
) -> None:
    who = _staff("dl-bad", "investigator", facility)
    r = who.client.get(URL, query)
    assert r.status_code == 400
    if field:
        assert field in r.json()["errors"]
    assert not AuditEvent.objects.filter(action="calls.downloaded").exists()


@pytest.mark.django_db
def test_the_portal_offers_the_search_as_a_download(
    facility: Facility, calls: dict[str, Any], settings: Any
) -> None:
    from django.test import Client

    who = _staff("dl-portal", "investigator", facility)
    client = Client(headers={"Sec-Fetch-Site": "same-origin"})  # navigating within the portal
    client.force_login(who.user)
    page = client.get("/calls/", {"inmate": "=HYPERLINK(1)"})
    assert b"/calls/download/?inmate=%3DHYPERLINK%281%29&amp;file_format=csv" in page.content
    r = client.get("/calls/download/", {"inmate": "=HYPERLINK(1)", "file_format": "csv"})
    assert r.status_code == 200 and len(_csv(r.content)) == 2
    settings.CALL_DOWNLOAD_MAX_ROWS = 1
    r = client.get("/calls/download/", {"file_format": "csv"}, follow=True)
    assert r.redirect_chain[-1][0].startswith("/calls/?")
    assert b"narrow it" in r.content
