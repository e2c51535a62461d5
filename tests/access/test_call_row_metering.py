"""Issue 9, High 3: the recordings list was a free bulk export of call records.

Every path that returns call records (lists, detail reads, the inmate page's call table,
downloads) charges ``call_rows`` per row returned, writes an audit event in the same
transaction, and a canary row among them trips the canary rule. Walking details one by one is
metered and has its own anomaly rule.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Sum

from apps.access.anomaly import analyse_new_events
from apps.access.models import QuotaUsage, Suspension
from apps.audit.models import AuditEvent
from tests.factories import CallFactory, InmateFactory
from tests.support.insider import Insider, portal_client

pytestmark = pytest.mark.django_db


def _rows_charged(insider: Insider) -> int:
    used = QuotaUsage.objects.filter(user=insider.user, kind="call_rows").aggregate(n=Sum("amount"))["n"]
    return int(used or 0)


def _suspended_for(insider: Insider) -> list[str]:
    analyse_new_events()
    return list(Suspension.objects.filter(user=insider.user).values_list("rule", flat=True))


def test_the_recordings_list_charges_every_row_and_is_audited(insider: Insider) -> None:
    r = insider.investigator.client.get("/api/v1/recordings/?page_size=200")
    assert r.status_code == 200
    rows = len(r.json()["results"])
    assert rows == 5
    assert _rows_charged(insider) == rows
    event = AuditEvent.objects.get(actor=insider.user, action="recordings.listed")
    assert event.details["rows"] == rows
    assert sorted(event.details["recording_ids"]) == sorted(row["id"] for row in r.json()["results"])


def test_the_recordings_list_over_quota_answers_429_with_a_reason(insider: Insider, settings: Any) -> None:
    settings.ACCESS_QUOTAS = {**settings.ACCESS_QUOTAS, "call_rows": [(3600, 6)]}
    client = insider.investigator.client
    assert client.get("/api/v1/recordings/?page_size=5").status_code == 200
    r = client.get("/api/v1/recordings/?page_size=5")
    assert r.status_code == 429
    assert r.json()["reason"] == "quota_exceeded"
    assert _rows_charged(insider) == 5


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/recordings/",
        "/api/v1/recordings/?playable=0",
        "/api/v1/calls/",
        "/api/v1/calls/download/",
    ],
)
def test_a_canary_row_in_an_api_list_trips_the_canary_rule(insider: Insider, path: str) -> None:
    analyse_new_events()
    assert insider.investigator.client.get(path).status_code == 200
    assert _suspended_for(insider) == ["canary"]


@pytest.mark.parametrize("page", ["calls", "inmate"])
def test_a_canary_row_in_a_portal_table_trips_the_canary_rule(insider: Insider, page: str) -> None:
    analyse_new_events()
    client = portal_client(insider.user)
    if page == "calls":
        r = client.get("/calls/")
    else:  # the canary inmate's own page: its call table holds the canary call
        r = client.get(f"/inmates/{insider.canary_call.inmate_id}/")
    assert r.status_code == 200
    assert _suspended_for(insider) == ["canary"]


def test_a_list_without_canaries_suspends_nobody(insider: Insider) -> None:
    analyse_new_events()
    inmate = insider.recordings[0].call.inmate
    assert (
        insider.investigator.client.get(f"/api/v1/calls/?inmate={inmate.booking_number}").status_code == 200
    )
    assert _suspended_for(insider) == []


@pytest.mark.parametrize(
    "path",
    ["/api/v1/calls/{call}/", "/api/v1/recordings/{recording}/", "portal:/recordings/{recording}/"],
)
def test_a_detail_read_charges_one_row(insider: Insider, path: str) -> None:
    recording = insider.recordings[0]
    url = path.format(call=recording.call_id, recording=recording.pk)
    if url.startswith("portal:"):
        r = portal_client(insider.user).get(url.removeprefix("portal:"))
    else:
        r = insider.investigator.client.get(url)
    assert r.status_code == 200
    assert _rows_charged(insider) == 1


def test_the_inmate_page_charges_its_call_table(insider: Insider) -> None:
    inmate = insider.recordings[0].call.inmate
    for _ in range(2):
        CallFactory(inmate=inmate)
    r = portal_client(insider.user).get(f"/inmates/{inmate.pk}/")
    assert r.status_code == 200
    assert len(r.context["rows"]) == 3
    assert _rows_charged(insider) == 3
    event = AuditEvent.objects.get(actor=insider.user, action="inmate.viewed")
    assert event.details["rows"] == 3


def test_the_inmate_page_over_quota_is_a_clear_429_page(insider: Insider, settings: Any) -> None:
    settings.ACCESS_QUOTAS = {**settings.ACCESS_QUOTAS, "call_rows": [(3600, 1)]}
    inmate = insider.recordings[0].call.inmate
    CallFactory(inmate=inmate)
    r = portal_client(insider.user).get(f"/inmates/{inmate.pk}/")
    assert r.status_code == 429
    assert b"quota" in r.content
    assert inmate.booking_number.encode() not in r.content


def test_walking_details_one_by_one_is_metered_and_trips_its_own_rule(
    insider: Insider, settings: Any
) -> None:
    settings.ANOMALY_RULES = {**settings.ANOMALY_RULES, "detail_walk": {"window": 600, "threshold": 6}}
    analyse_new_events()
    extra = [CallFactory(inmate=InmateFactory(facility=insider.facility)) for _ in range(2)]
    call_ids = [r.call_id for r in insider.recordings] + [c.pk for c in extra]
    client = insider.investigator.client
    for call_id in call_ids[:5]:
        assert client.get(f"/api/v1/calls/{call_id}/").status_code == 200
    assert _suspended_for(insider) == []
    assert client.get(f"/api/v1/calls/{call_ids[5]}/").status_code == 200
    assert _rows_charged(insider) == 6
    assert _suspended_for(insider) == ["detail_walk"]
