from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.calls.models import Call
from apps.inmates.models import Inmate
from apps.registry.models import ExemptStatus
from tests.conftest import Switch
from tests.factories import CallFactory, ExemptNumberFactory, InmateFactory

pytestmark = pytest.mark.django_db
CALLS = "/api/v1/calls/"


def _setup(switch: Switch, who: Inmate, **overrides: Any) -> Any:
    body = {
        "switch_call_id": "sw-1",
        "inmate": who.booking_number,
        "dialed_number": "(718) 555-0142",
        "started_at": "2026-11-25T10:00:00Z",
        **overrides,
    }
    return switch.client.post(CALLS, body, format="json")


def _verified(number: str, clerk: User) -> None:
    ExemptNumberFactory(
        number=number, status=ExemptStatus.VERIFIED, verified_by=clerk, effective_from=timezone.now()
    )


def test_an_ordinary_call_is_recorded(switch: Switch, inmate: Inmate) -> None:
    r = _setup(switch, inmate)
    assert r.status_code == 201, r.content
    call = Call.objects.select_related("prompt").get()
    prompt = {"id": call.prompt_id, "kind": "recording_notice", "version": 1}
    assert r.json() == {
        "id": call.pk,
        "record": True,
        "privileged": False,
        "reason": "not_exempt",
        "prompt": prompt,
    }
    assert call.dialed_number == "+17185550142"
    assert AuditEvent.objects.filter(action="call.setup", target_id=str(call.pk)).count() == 1


@pytest.mark.parametrize(
    "written",
    [
        "(212) 555-0101",
        "212.555.0101",
        "+1 212 555 0101",
        "1-212-555-0101",
        "+12125550101",
        "212-555-0101 x12",
    ],
)
def test_a_call_to_a_verified_attorney_number_is_not_recorded(
    switch: Switch, inmate: Inmate, clerk: User, written: str
) -> None:
    _verified("+12125550101", clerk)
    r = _setup(switch, inmate, dialed_number=written)
    assert r.status_code == 201
    assert r.json()["record"] is False
    assert r.json()["privileged"] is True
    assert r.json()["reason"] == "verified_attorney_number"


def test_a_pending_registration_does_not_exempt(switch: Switch, inmate: Inmate) -> None:
    ExemptNumberFactory(number="+17185550142")
    assert _setup(switch, inmate).json()["record"] is True


def test_setup_is_idempotent_on_switch_call_id(switch: Switch, inmate: Inmate) -> None:
    first = _setup(switch, inmate)
    again = _setup(switch, inmate)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Call.objects.count() == 1


def test_reusing_a_switch_call_id_for_another_call_is_a_conflict(switch: Switch, inmate: Inmate) -> None:
    _setup(switch, inmate)
    r = _setup(switch, inmate, dialed_number="+13125550100")
    assert r.status_code == 409 and r.json()["reason"] == "switch_call_id_conflict"


def test_two_facilities_may_use_the_same_switch_call_id(
    switch: Switch, other_switch: Switch, inmate: Inmate
) -> None:
    other_inmate = InmateFactory(facility=other_switch.facility, booking_number=inmate.booking_number)
    assert _setup(switch, inmate).status_code == 201
    assert _setup(other_switch, other_inmate).status_code == 201


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"inmate": "NOBODY"}, "unknown_inmate"),
        ({"dialed_number": "hello"}, "invalid_number"),
        ({"dialed_number": "12"}, "invalid_number"),
        ({"started_at": "yesterday"}, "invalid"),
        ({"switch_call_id": "has spaces and ; semicolons"}, "invalid"),
        ({"switch_call_id": "x" * 65}, "invalid"),
    ],
)
def test_bad_setup_input_gets_a_4xx_with_a_reason(
    switch: Switch, inmate: Inmate, overrides: dict[str, str], reason: str
) -> None:
    r = _setup(switch, inmate, **overrides)
    assert r.status_code == 400, r.content
    assert r.json()["reason"] == reason
    assert Call.objects.count() == 0


def test_an_inmate_of_another_facility_is_unknown(switch: Switch, other_facility: Any) -> None:
    foreign = InmateFactory(facility=other_facility)
    r = _setup(switch, foreign)
    assert r.status_code == 400 and r.json()["reason"] == "unknown_inmate"


def test_malformed_json_gets_400(switch: Switch) -> None:
    r = switch.client.post(CALLS, "{not json", content_type="application/json")
    assert r.status_code == 400 and r.json()["reason"] == "malformed_request"


def test_missing_fields_get_400(switch: Switch) -> None:
    r = switch.client.post(CALLS, {}, format="json")
    assert r.status_code == 400
    assert set(r.json()["errors"]) == {"switch_call_id", "inmate", "dialed_number", "started_at"}


def test_only_a_switch_account_may_set_up_calls(stranger_client: APIClient, inmate: Inmate) -> None:
    body = {
        "switch_call_id": "x",
        "inmate": inmate.booking_number,
        "dialed_number": "+17185550142",
        "started_at": "2026-11-25T10:00:00Z",
    }
    assert stranger_client.post(CALLS, body, format="json").status_code == 403
    assert APIClient().post(CALLS, body, format="json").status_code == 401


def test_ending_a_call_records_its_duration(switch: Switch, inmate: Inmate) -> None:
    call_id = _setup(switch, inmate).json()["id"]
    r = switch.client.post(f"{CALLS}{call_id}/end/", {"ended_at": "2026-11-25T10:12:30Z"}, format="json")
    assert r.status_code == 200
    assert Call.objects.get().duration_seconds == 750
    again = switch.client.post(f"{CALLS}{call_id}/end/", {"ended_at": "2026-11-25T10:12:30Z"}, format="json")
    assert again.status_code == 200
    other = switch.client.post(f"{CALLS}{call_id}/end/", {"ended_at": "2026-11-25T10:13:00Z"}, format="json")
    assert other.status_code == 409


def test_a_call_cannot_end_before_it_started(switch: Switch, inmate: Inmate) -> None:
    call_id = _setup(switch, inmate).json()["id"]
    r = switch.client.post(f"{CALLS}{call_id}/end/", {"ended_at": "2026-11-25T09:00:00Z"}, format="json")
    assert r.status_code == 400 and r.json()["reason"] == "invalid_end"


def test_a_call_of_another_facility_looks_missing_and_is_audited(switch: Switch, other_facility: Any) -> None:
    foreign = CallFactory(inmate=InmateFactory(facility=other_facility))
    r = switch.client.post(f"{CALLS}{foreign.pk}/end/", {"ended_at": "2026-11-25T10:12:30Z"}, format="json")
    assert r.status_code == 404
    missing = switch.client.post(f"{CALLS}99999999/end/", {"ended_at": "2026-11-25T10:12:30Z"}, format="json")
    assert missing.status_code == 404 and missing.json() == r.json()
    denied = AuditEvent.objects.get(action="access.denied", target_id=str(foreign.pk))
    assert denied.actor == switch.user and denied.details["exists"] is True
    foreign.refresh_from_db()
    assert foreign.ended_at is None
