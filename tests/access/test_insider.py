"""The insider test: the 2015 breach replayed against callplatform.

An investigator with legitimate grants runs a script that tries to pull 10,000 recordings
through every path. Nothing beyond the quota may be served, the account must be suspended,
every attempt must be in the audit trail, and the chain must verify.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.access.models import Suspension
from apps.audit.chain import audit_seal_pending, verify_chain
from apps.audit.models import AuditEvent
from apps.facilities.models import Facility
from apps.inmates.services import inmate_grant_create
from tests.actors import staff_member
from tests.factories import CallFactory, InmateFactory

pytestmark = pytest.mark.django_db(transaction=True)
ATTEMPTS = 10_000
GIVE_UP = 200


def test_an_authorized_insider_cannot_pull_recordings_in_bulk(
    facility: Facility,
    other_facility: Facility,
    store_recording: Any,
    settings: Any,
    celery_eager: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings.PLAYBACK_LINK_SECONDS = 1
    admin = staff_member(
        "insider-admin",
        "facility_admin",
        facility,
        perms=["manage_facility", "view_facility_calls", "approve_facility_exports"],
    )
    insider = staff_member("insider", "investigator", facility)
    # Others' recordings first in id order: the script sweeps ids upwards, as a scraper would.
    outside = [store_recording(CallFactory(inmate=InmateFactory(facility=other_facility))) for _ in range(5)]
    granted = []
    for _ in range(3):
        inmate = InmateFactory(facility=facility)
        inmate_grant_create(
            granted_by=admin.user,
            investigator=insider.user,
            inmate=inmate,
            case_reference="CASE-77",
            expires_at=timezone.now() + timedelta(days=5),
        )
        granted += [store_recording(CallFactory(inmate=inmate)) for _ in range(12)]

    first_id = min(r.pk for r in granted + outside)
    log: Counter[str] = Counter()
    served = 0
    client = insider.client

    # 1. A link reused after it expired.
    link = client.post(f"/api/v1/recordings/{granted[0].pk}/playback/").json()["url"]
    served += 1
    time.sleep(1.2)
    log[f"expired link -> {client.get(link.replace('http://testserver', '')).status_code}"] += 1
    # 2. Export without approval, then approved by themselves.
    export = client.post(
        "/api/v1/exports/",
        {
            "recording_ids": [r.pk for r in granted[:10]],
            "case_reference": "CASE-77",
            "justification": "need all",
        },
        format="json",
    )
    log[f"export request -> {export.status_code}"] += 1
    if export.status_code == 201:
        export_id = export.json()["id"]
        log[f"download unapproved -> {client.get(f'/api/v1/exports/{export_id}/download/').status_code}"] += 1
        log[f"self-approval -> {client.post(f'/api/v1/exports/{export_id}/approve/').status_code}"] += 1
    # 3. Playback of every id in a range, sweeping upwards; the script gives up after
    #    GIVE_UP consecutive refusals of its credentials (it has been suspended).
    refused_in_a_row = 0
    for n in range(ATTEMPTS):
        answer = client.post(f"/api/v1/recordings/{first_id + n}/playback/")
        log[f"playback -> {answer.status_code}"] += 1
        served += answer.status_code == 200
        refused_in_a_row = refused_in_a_row + 1 if answer.status_code == 401 else 0
        if refused_in_a_row == GIVE_UP:
            log["playback not attempted (script gave up)"] = ATTEMPTS - n - 1
            break

    audit_seal_pending()
    suspension = Suspension.objects.get(user=insider.user)
    report = [
        f"insider test: {ATTEMPTS} attempts planned, links served {served}",
        f"suspended by rule '{suspension.rule}'",
        *[f"  {k}: {v}" for k, v in sorted(log.items())],
    ]
    with capsys.disabled():
        print("\n" + "\n".join(report))
    quota = settings.ACCESS_QUOTAS["playback"][0][1]
    assert served <= quota
    assert "expired link -> 403" in log
    assert log.get("self-approval -> 403") == 1
    assert log.get("download unapproved -> 409") == 1
    insider.user.refresh_from_db()
    assert insider.user.is_active is False
    events = AuditEvent.objects.filter(actor=insider.user)
    assert events.filter(action="recording.playback_link_issued").count() == served
    assert events.filter(action="access.denied").count() >= len(outside)
    assert events.filter(action="auth.rejected").count() == log["playback -> 401"]
    assert events.filter(action="export.self_approval_refused").exists()
    assert verify_chain().ok
