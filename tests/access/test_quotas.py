"""Quotas (I4): checked and counted atomically at the moment of access."""

from __future__ import annotations

import http.client
import json
import threading
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from apps.access.models import QuotaLimit, QuotaUsage
from apps.audit.models import AuditEvent
from apps.facilities.models import Facility
from apps.inmates.services import inmate_grant_create
from apps.recordings.models import Recording
from tests.actors import Actor, actor, staff_member
from tests.factories import CallFactory, InmateFactory, token_for

QUOTA = 5


@pytest.fixture
def playable(facility: Facility, store_recording: Any, settings: Any) -> tuple[Actor, Recording]:
    settings.ACCESS_QUOTAS = {**settings.ACCESS_QUOTAS, "playback": [(3600, QUOTA), (86400, 100)]}
    admin = staff_member(
        "quota-admin", "facility_admin", facility, perms=["manage_facility", "view_facility_calls"]
    )
    investigator = staff_member("quota-investigator", "investigator", facility, perms=["view_facility_calls"])
    inmate = InmateFactory(facility=facility)
    recording = store_recording(CallFactory(inmate=inmate))
    inmate_grant_create(
        granted_by=admin.user,
        investigator=investigator.user,
        inmate=inmate,
        case_reference="Q-1",
        expires_at=timezone.now() + timedelta(days=1),
    )
    return investigator, recording


@pytest.mark.django_db
def test_playback_beyond_the_quota_gets_429_with_a_reason(playable: tuple[Actor, Recording]) -> None:
    who, recording = playable
    answers = [who.client.post(f"/api/v1/recordings/{recording.pk}/playback/") for _ in range(QUOTA + 2)]
    assert [a.status_code for a in answers] == [200] * QUOTA + [429, 429]
    body = answers[-1].json()
    assert body["reason"] == "quota_exceeded" and body["kind"] == "playback" and body["limit"] == QUOTA
    assert AuditEvent.objects.filter(action="quota.exceeded", actor=who.user).count() == 2
    assert AuditEvent.objects.filter(action="recording.playback_link_issued").count() == QUOTA


@pytest.mark.django_db
def test_a_per_role_override_in_the_admin_wins(playable: tuple[Actor, Recording]) -> None:
    who, recording = playable
    QuotaLimit.objects.create(
        kind="playback", window_seconds=3600, limit=1, group=who.user.groups.get(name="investigator")
    )
    assert who.client.post(f"/api/v1/recordings/{recording.pk}/playback/").status_code == 200
    assert who.client.post(f"/api/v1/recordings/{recording.pk}/playback/").status_code == 429


@pytest.mark.django_db
def test_call_rows_are_counted_too(facility: Facility, settings: Any) -> None:
    settings.ACCESS_QUOTAS = {**settings.ACCESS_QUOTAS, "call_rows": [(3600, 3)]}
    who = staff_member("rows", "investigator", facility, perms=["view_facility_calls"])
    for _ in range(2):
        CallFactory(inmate=InmateFactory(facility=facility))
    assert who.client.get("/api/v1/calls/").status_code == 200
    r = who.client.get("/api/v1/calls/")
    assert r.status_code == 429 and r.json()["kind"] == "call_rows"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_32_concurrent_clients_get_exactly_the_quota(
    live_server: Any, playable: tuple[Actor, Recording]
) -> None:
    """Real HTTP server, real PostgreSQL, 32 clients at once for one user."""
    who, recording = playable
    token = token_for(who.user)
    url = urlparse(live_server.url)
    barrier = threading.Barrier(32)
    statuses: list[int] = []
    reasons: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        barrier.wait()
        conn.request(
            "POST",
            f"/api/v1/recordings/{recording.pk}/playback/",
            headers={"Authorization": f"Token {token}", "Content-Length": "0"},
        )
        response = conn.getresponse()
        body = json.loads(response.read())
        with lock:
            statuses.append(response.status)
            reasons.append(body.get("reason", ""))

    threads = [threading.Thread(target=client) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert statuses.count(200) == QUOTA, statuses
    assert statuses.count(429) == 32 - QUOTA
    assert reasons.count("quota_exceeded") == 32 - QUOTA
    assert QuotaUsage.objects.filter(user=who.user, kind="playback").count() == QUOTA
    assert AuditEvent.objects.filter(action="recording.playback_link_issued", actor=who.user).count() == QUOTA
    assert AuditEvent.objects.filter(action="quota.exceeded", actor=who.user).count() == 32 - QUOTA


@pytest.mark.django_db
def test_charges_of_one_kind_in_one_act_are_added_up(facility: Facility, settings: Any) -> None:
    from django.db import transaction

    from apps.access.errors import QuotaExceededError
    from apps.access.quotas import quota_consume_many

    settings.ACCESS_QUOTAS = {**settings.ACCESS_QUOTAS, "call_rows": [(3600, 10)]}
    who = actor("rows-twice")
    with pytest.raises(QuotaExceededError), transaction.atomic():
        quota_consume_many(user=who.user, charges=[("call_rows", 6), ("call_rows", 6)])
    with transaction.atomic():
        quota_consume_many(user=who.user, charges=[("call_rows", 4), ("call_rows", 6)])
    assert sum(QuotaUsage.objects.filter(user=who.user).values_list("amount", flat=True)) == 10
