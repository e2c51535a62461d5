"""What the caller was told (issue 11, section 7): setup names the prompt, end records what
played, a mismatch is kept and audited, bad reports are 400s."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.calls.models import Call
from apps.calls.prompts import prompt_for_call
from apps.facilities.models import PromptKind
from apps.facilities.prompts import current_prompts, prompt_text_publish
from apps.inmates.models import Inmate
from apps.registry.models import ExemptStatus
from tests.actors import Cast
from tests.conftest import Switch
from tests.factories import ExemptNumberFactory

pytestmark = pytest.mark.django_db
CALLS = "/api/v1/calls/"
ATTORNEY = "+12125550101"


def _setup(switch: Switch, inmate: Inmate, number: str = "(718) 555-0142", call_id: str = "sw-1") -> Any:
    body = {
        "switch_call_id": call_id,
        "inmate": inmate.booking_number,
        "dialed_number": number,
        "started_at": "2026-11-25T10:00:00Z",
    }
    return switch.client.post(CALLS, body, format="json")


def _end(switch: Switch, call_id: int, **extra: Any) -> Any:
    body = {"ended_at": "2026-11-25T10:05:00Z", **extra}
    return switch.client.post(f"{CALLS}{call_id}/end/", body, format="json")


def _verified(number: str, clerk: User) -> None:
    ExemptNumberFactory(
        number=number, status=ExemptStatus.VERIFIED, verified_by=clerk, effective_from=timezone.now()
    )


def test_a_recorded_call_is_told_the_current_recording_notice(
    switch: Switch, inmate: Inmate, cast: Cast
) -> None:
    v2 = prompt_text_publish(
        facility=switch.facility, kind="recording_notice", text="v2", actor=cast.admin.user
    )
    answer = _setup(switch, inmate).json()
    assert answer["record"] is True
    assert answer["prompt"] == {"id": v2.pk, "kind": "recording_notice", "version": 2}
    call = Call.objects.get()
    assert call.prompt == v2
    assert AuditEvent.objects.get(action="call.setup").details["prompt"] == v2.pk


def test_a_privileged_call_is_told_the_private_call_notice(
    switch: Switch, inmate: Inmate, clerk: User
) -> None:
    _verified(ATTORNEY, clerk)
    answer = _setup(switch, inmate, number=ATTORNEY).json()
    private = current_prompts(switch.facility)[PromptKind.PRIVATE_CALL_NOTICE]
    assert answer["record"] is False
    assert answer["prompt"] == {"id": private.pk, "kind": "private_call_notice", "version": 1}


def test_a_retried_setup_names_the_same_prompt_even_after_a_publish(
    switch: Switch, inmate: Inmate, cast: Cast
) -> None:
    first = _setup(switch, inmate).json()
    prompt_text_publish(facility=switch.facility, kind="recording_notice", text="v2", actor=cast.admin.user)
    assert _setup(switch, inmate).json()["prompt"] == first["prompt"]


def test_the_end_records_what_played(switch: Switch, inmate: Inmate) -> None:
    told = _setup(switch, inmate).json()
    r = _end(switch, told["id"], prompt_played={"id": told["prompt"]["id"], "version": 1})
    assert r.status_code == 200, r.content
    call = Call.objects.get()
    assert call.prompt_played_id == told["prompt"]["id"] and call.prompt_reported_at is not None
    assert not call.prompt_mismatch
    assert AuditEvent.objects.get(action="call.end").details["prompt_played"] == call.prompt_played_id
    assert not AuditEvent.objects.filter(action="call.prompt_mismatch").exists()
    proof = prompt_for_call(call)
    assert proof.reported and proof.told == proof.played and proof.told is not None
    assert proof.told.kind == "recording_notice"


def test_an_old_switch_that_reports_nothing_still_ends_the_call(switch: Switch, inmate: Inmate) -> None:
    told = _setup(switch, inmate).json()
    assert _end(switch, told["id"]).status_code == 200
    assert _end(switch, told["id"], prompt_played=None).status_code == 200  # the same end again
    call = Call.objects.get()
    assert call.ended_at is not None and call.prompt_played is None and call.prompt_reported_at is None
    assert AuditEvent.objects.get(action="call.end").details["prompt_played"] is None
    assert prompt_for_call(call).reported is False


def test_a_mismatch_is_stored_and_audited(switch: Switch, inmate: Inmate, clerk: User) -> None:
    _verified(ATTORNEY, clerk)
    told = _setup(switch, inmate, number=ATTORNEY).json()
    notice = current_prompts(switch.facility)[PromptKind.RECORDING_NOTICE]
    r = _end(switch, told["id"], prompt_played={"id": notice.pk, "version": 1})
    assert r.status_code == 200
    call = Call.objects.get()
    assert call.prompt_played == notice and call.prompt_mismatch
    event = AuditEvent.objects.get(action="call.prompt_mismatch")
    assert event.target_id == str(call.pk)
    assert event.details == {
        "told": told["prompt"]["id"],
        "played": notice.pk,
        "played_kind": "recording_notice",
        "played_version": 1,
    }
    assert prompt_for_call(call).mismatch


@pytest.mark.parametrize(
    ("report", "reason"),
    [
        ({"id": 999_999, "version": 1}, "unknown_prompt"),
        ("told-but-version-2", "prompt_version_mismatch"),
        ({"id": "x", "version": 1}, "invalid"),
        ({"version": 1}, "invalid"),
        ({"id": 1, "version": 0}, "invalid"),
        ("not an object", "invalid"),
    ],
)
def test_a_bad_report_is_a_400_with_a_reason_and_changes_nothing(
    switch: Switch, inmate: Inmate, report: Any, reason: str
) -> None:
    told = _setup(switch, inmate).json()
    if report == "told-but-version-2":
        report = {"id": told["prompt"]["id"], "version": 2}
    r = _end(switch, told["id"], prompt_played=report)
    assert r.status_code == 400, r.content
    if reason != "invalid":
        assert r.json()["reason"] == reason
    call = Call.objects.get()
    assert call.ended_at is None and call.prompt_played is None


def test_a_prompt_of_another_facility_is_a_400(switch: Switch, inmate: Inmate, other_facility: Any) -> None:
    told = _setup(switch, inmate).json()
    theirs = current_prompts(other_facility)[PromptKind.RECORDING_NOTICE]
    r = _end(switch, told["id"], prompt_played={"id": theirs.pk, "version": 1})
    assert r.status_code == 400 and r.json()["reason"] == "unknown_prompt"


def test_another_prompt_after_the_end_is_a_conflict(switch: Switch, inmate: Inmate) -> None:
    told = _setup(switch, inmate).json()
    private = current_prompts(switch.facility)[PromptKind.PRIVATE_CALL_NOTICE]
    assert (
        _end(switch, told["id"], prompt_played={"id": told["prompt"]["id"], "version": 1}).status_code == 200
    )
    assert _end(switch, told["id"], prompt_played={"id": private.pk, "version": 1}).status_code == 409
    assert Call.objects.get().prompt_played_id == told["prompt"]["id"]


def test_staff_see_told_and_played_on_the_call(switch: Switch, inmate: Inmate, cast: Cast) -> None:
    from tests.actors import grant_facility

    told = _setup(switch, inmate).json()
    _end(switch, told["id"], prompt_played={"id": told["prompt"]["id"], "version": 1})
    grant_facility(cast.investigator.user, switch.facility, "view_facility_calls")
    detail = cast.investigator.client.get(f"{CALLS}{told['id']}/").json()
    assert detail["prompt"] == "recording_notice v1" and detail["prompt_played"] == "recording_notice v1"
