"""Inmate claims: quarantine on arrival until a clerk decides; verify sends the audio to the
two-officer review, reject releases it (when nothing else holds it)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.calls.models import Call
from apps.inmates.models import Inmate
from apps.recordings.errors import ReleaseRefusedError
from apps.recordings.models import QuarantineHold, Recording, Tombstone
from apps.recordings.review import recording_release
from apps.recordings.services import recording_read
from apps.registry.claims import claim_reject, claim_report, claim_verify
from apps.registry.errors import IllegalTransitionError
from apps.registry.models import ClaimStatus, InmateClaim
from apps.registry.privilege import is_privileged
from tests.conftest import Switch
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db
NUMBER = "+12125550177"


def _claim(switch: Switch, inmate: Inmate, number: str = "(212) 555-0177") -> InmateClaim:
    claim, _ = claim_report(
        facility=switch.facility, booking_number=inmate.booking_number, number=number, actor=switch.user
    )
    return claim


def test_the_switch_reports_a_claim_for_its_own_facility(switch: Switch, inmate: Inmate) -> None:
    response = switch.client.post(
        "/api/v1/registry/claims/", {"inmate": "A1001", "number": "212.555.0177"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["number"] == NUMBER and response.json()["facility"] == "home"
    again = switch.client.post(
        "/api/v1/registry/claims/", {"inmate": "A1001", "number": NUMBER}, format="json"
    )
    assert again.status_code == 200 and again.json()["id"] == response.json()["id"]


def test_a_switch_cannot_report_for_another_facility(
    switch: Switch, inmate: Inmate, other_facility: Any
) -> None:
    response = switch.client.post(
        "/api/v1/registry/claims/", {"inmate": "A1001", "number": NUMBER, "facility": "other"}, format="json"
    )
    assert response.status_code == 404
    assert not InmateClaim.objects.exists()


def test_only_switch_accounts_report_claims(attorney_client: APIClient, inmate: Inmate) -> None:
    response = attorney_client.post(
        "/api/v1/registry/claims/", {"inmate": "A1001", "number": NUMBER}, format="json"
    )
    assert response.status_code == 403


def test_a_pending_claim_records_into_quarantine_on_arrival(
    switch: Switch, inmate: Inmate, store_recording: Any
) -> None:
    claim = _claim(switch, inmate)
    decision = is_privileged(NUMBER, claim.created_at, facility_id=switch.facility.pk)
    assert decision.quarantine_on_arrival and not decision.privileged and decision.claim_id == claim.pk
    recording = store_recording(CallFactory(inmate=inmate, dialed_number=NUMBER))
    assert (
        recording.state == "quarantined"
        and recording.quarantine_reason == f"pending inmate claim #{claim.pk}"
    )
    assert recording.quarantined_at is not None
    assert (
        not Recording.objects.restrict(User(is_superuser=True, is_active=True), "play")
        .filter(pk=recording.pk)
        .exists()
    )


def test_a_claim_does_not_quarantine_calls_from_other_facilities(
    switch: Switch, inmate: Inmate, store_recording: Any, other_facility: Any
) -> None:
    _claim(switch, inmate)
    elsewhere = store_recording(CallFactory(inmate__facility=other_facility, dialed_number=NUMBER))
    assert elsewhere.state == "stored"


def test_verifying_a_claim_holds_what_arrived_under_it_for_two_officers(
    switch: Switch, inmate: Inmate, store_recording: Any, clerk: User
) -> None:
    claim = _claim(switch, inmate)
    recording = store_recording(CallFactory(inmate=inmate, dialed_number=NUMBER))
    outcome = claim_verify(claim_id=claim.pk, clerk=clerk)
    assert outcome.queued_for_review == 1 and outcome.claim.status == ClaimStatus.VERIFIED
    recording.refresh_from_db()
    assert recording.state == "quarantined" and recording.wrapped_key is not None
    holds = {(h.kind, h.outcome) for h in QuarantineHold.objects.filter(recording=recording)}
    assert holds == {("claim", "claim_verified"), ("privileged", "")}
    assert not Tombstone.objects.exists()
    assert is_privileged(NUMBER, outcome.claim.decided_at, facility_id=switch.facility.pk).privileged  # type: ignore[arg-type]
    assert AuditEvent.objects.filter(action="inmate_claim.verified", target_id=str(claim.pk)).exists()
    with pytest.raises(ReleaseRefusedError):  # the number is privileged now: only a purge remains
        recording_release(recording=recording, actor=clerk, reason="x", confirmed_by=switch.user)


def test_rejecting_a_claim_releases_what_arrived_under_it(
    switch: Switch, inmate: Inmate, store_recording: Any, clerk: User
) -> None:
    audio = b"RIFF" + b"\x01" * 512
    claim = _claim(switch, inmate)
    recording = store_recording(CallFactory(inmate=inmate, dialed_number=NUMBER), audio)
    outcome = claim_reject(claim_id=claim.pk, clerk=clerk, reason="not a lawyer")
    assert outcome.released == 1
    recording.refresh_from_db()
    assert recording.state == "stored" and recording.quarantine_reason == ""
    assert recording_read(recording=recording) == audio
    assert AuditEvent.objects.filter(action="recording.released", target_id=str(recording.pk)).exists()
    later = store_recording(CallFactory(inmate=inmate, dialed_number=NUMBER))
    assert later.state == "stored"


def test_a_decided_claim_cannot_be_decided_again(switch: Switch, inmate: Inmate, clerk: User) -> None:
    claim = _claim(switch, inmate)
    claim_reject(claim_id=claim.pk, clerk=clerk, reason="no")
    with pytest.raises(IllegalTransitionError):
        claim_verify(claim_id=claim.pk, clerk=clerk)
    with pytest.raises(IllegalTransitionError):
        claim_reject(claim_id=claim.pk, clerk=clerk, reason="again")


def test_call_setup_says_record_and_names_the_pending_claim(switch: Switch, inmate: Inmate) -> None:
    _claim(switch, inmate)
    response = switch.client.post(
        "/api/v1/calls/",
        {
            "switch_call_id": "c-1",
            "inmate": "A1001",
            "dialed_number": NUMBER,
            "started_at": "2026-01-01T10:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["record"] is True and response.json()["reason"] == "pending_inmate_claim"
    assert Call.objects.get(switch_call_id="c-1").privileged is False
