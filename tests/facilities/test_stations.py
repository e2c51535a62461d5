"""Privileged stations and the inmate "do not record" setting (issue 11, section 6): the most
restrictive of number, station and inmate decides; registering a station quarantines what was
stored from it; only the facility's admins change either, and bad input is a 400 with a reason."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.actions.stations import station_register, station_retire
from apps.audit.models import AuditEvent
from apps.calls.models import Call
from apps.common.errors import NotFoundError
from apps.facilities.models import PrivilegedStation
from apps.facilities.stations import InvalidStationError, normalize_station
from apps.inmates.models import Inmate
from apps.inmates.recording_setting import inmate_do_not_record_clear, inmate_do_not_record_set
from apps.recordings.models import HoldKind, QuarantineHold, RecordingState
from apps.registry.models import ExemptStatus
from tests.actors import FACILITY_ADMIN, Cast, client_for, staff_member
from tests.conftest import Switch
from tests.factories import CallFactory, ExemptNumberFactory, InmateFactory

pytestmark = pytest.mark.django_db
CALLS = "/api/v1/calls/"
STATIONS = "/api/v1/stations/"
BOOTH = "(212) 555-0199"
NUMBER = "+17185550142"  # an ordinary, unregistered number


def _setup(
    switch: Switch, inmate: Inmate, station: str | None, call_id: str = "sw-1", number: str = NUMBER
) -> Any:
    body = {
        "switch_call_id": call_id,
        "inmate": inmate.booking_number,
        "dialed_number": number,
        "started_at": "2026-11-25T10:00:00Z",
    }
    if station is not None:
        body["station"] = station
    return switch.client.post(CALLS, body, format="json")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("(212) 555-0199", "+12125550199"),
        ("212.555.0199", "+12125550199"),
        ("+1 212 555 0199", "+12125550199"),
        ("1-212-555-0199", "+12125550199"),
        ("booth-1", "BOOTH-1"),
        ("  Visit.Room:2 ", "VISIT.ROOM:2"),
        ("1234", "1234"),  # too short to be a number: an opaque id
        ("12-34-56", "12-34-56"),  # phone-shaped but not a possible number: an opaque id
    ],
)
def test_a_station_is_stored_in_one_form(given: str, stored: str) -> None:
    assert normalize_station(given, "US") == stored


@pytest.mark.parametrize("given", ["", "   ", "booth 1", "(212) 555", "a" * 65, "bo/oth", "+44 20"])
def test_an_unreadable_station_is_refused(given: str) -> None:
    with pytest.raises(InvalidStationError):
        normalize_station(given, "US")


@pytest.mark.parametrize("written", ["(212) 555-0199", "212.555.0199", "+12125550199", "1 212 555 0199"])
def test_a_call_from_a_registered_station_is_exempt_in_any_format(
    switch: Switch, inmate: Inmate, cast: Cast, written: str
) -> None:
    station_register(facility=switch.facility, station=BOOTH, label="Attorney booth", actor=cast.admin.user)
    answer = _setup(switch, inmate, written)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["record"], body["privileged"], body["reason"]) == (False, True, "privileged_station")
    assert body["prompt"]["kind"] == "private_call_notice"
    call = Call.objects.get()
    assert (call.station, call.decision, call.privileged) == ("+12125550199", "exempt", True)


def test_an_opaque_station_id_matches_whatever_its_case(switch: Switch, inmate: Inmate, cast: Cast) -> None:
    station_register(facility=switch.facility, station="Booth-7", label="Booth 7", actor=cast.admin.user)
    assert _setup(switch, inmate, "booth-7").json()["reason"] == "privileged_station"


def test_a_station_of_another_facility_does_not_count(
    switch: Switch, inmate: Inmate, cast: Cast, other_facility: Any
) -> None:
    other_admin = staff_member("other-admin", FACILITY_ADMIN, other_facility).user
    station_register(facility=other_facility, station=BOOTH, label="Their booth", actor=other_admin)
    body = _setup(switch, inmate, BOOTH).json()
    assert (body["record"], body["reason"]) == (True, "not_exempt")


def test_a_retired_station_records_again(switch: Switch, inmate: Inmate, cast: Cast) -> None:
    registered, _ = station_register(
        facility=switch.facility, station=BOOTH, label="Booth", actor=cast.admin.user
    )
    station_retire(station=registered, reason="booth converted to an office", actor=cast.admin.user)
    body = _setup(switch, inmate, BOOTH).json()
    assert (body["record"], body["reason"]) == (True, "not_exempt")
    # ... and it can be registered again (one live row, the retired one kept as history).
    station_register(facility=switch.facility, station=BOOTH, label="Booth again", actor=cast.admin.user)
    assert PrivilegedStation.objects.filter(facility=switch.facility).count() == 2
    assert _setup(switch, inmate, BOOTH, call_id="sw-2").json()["reason"] == "privileged_station"


def test_the_numbers_reason_comes_first(switch: Switch, inmate: Inmate, cast: Cast, clerk: User) -> None:
    ExemptNumberFactory(
        number=NUMBER, status=ExemptStatus.VERIFIED, verified_by=clerk, effective_from=timezone.now()
    )
    station_register(facility=switch.facility, station=BOOTH, label="Booth", actor=cast.admin.user)
    assert _setup(switch, inmate, BOOTH).json()["reason"] == "verified_attorney_number"


def test_a_call_without_a_station_is_decided_as_before(switch: Switch, inmate: Inmate) -> None:
    body = _setup(switch, inmate, None).json()
    assert (body["record"], body["reason"]) == (True, "not_exempt")
    assert Call.objects.get().station == ""


def test_an_unreadable_station_at_setup_is_a_400_with_a_reason(switch: Switch, inmate: Inmate) -> None:
    answer = _setup(switch, inmate, "booth 1")
    assert answer.status_code == 400
    assert answer.json()["reason"] == "invalid_station"
    assert not Call.objects.exists()


def test_an_inmate_set_do_not_record_is_exempt_and_cleared_records_again(
    switch: Switch, inmate: Inmate, cast: Cast
) -> None:
    inmate_do_not_record_set(inmate=inmate, reason="court order 26-114", actor=cast.admin.user)
    body = _setup(switch, inmate, None).json()
    assert (body["record"], body["privileged"], body["reason"]) == (False, True, "inmate_do_not_record")
    other = InmateFactory(facility=switch.facility)
    assert _setup(switch, other, None, call_id="sw-2").json()["record"] is True
    inmate_do_not_record_clear(inmate=inmate, reason="order lifted", actor=cast.admin.user)
    assert _setup(switch, inmate, None, call_id="sw-3").json()["record"] is True
    actions = list(
        AuditEvent.objects.filter(action__startswith="inmate.do_not_record").values_list("action", flat=True)
    )
    assert actions == ["inmate.do_not_record_set", "inmate.do_not_record_cleared"]


def test_the_inmate_setting_quarantines_nothing_stored_before(
    inmate: Inmate, cast: Cast, store_recording: Any
) -> None:
    earlier = store_recording(CallFactory(inmate=inmate))
    inmate_do_not_record_set(inmate=inmate, reason="court order", actor=cast.admin.user)
    earlier.refresh_from_db()
    assert earlier.state == RecordingState.STORED


def test_only_the_facilitys_admin_sets_do_not_record(inmate: Inmate, cast: Cast) -> None:
    for user in (cast.investigator.user, cast.officer.user, cast.auditor.user):
        with pytest.raises(NotFoundError):
            inmate_do_not_record_set(inmate=inmate, reason="x", actor=user)
    inmate.refresh_from_db()
    assert inmate.do_not_record_since is None


def test_registering_a_station_quarantines_its_stored_recordings(
    facility: Any, inmate: Inmate, cast: Cast, store_recording: Any
) -> None:
    from_booth = store_recording(CallFactory(inmate=inmate, station="+12125550199"))
    elsewhere = store_recording(CallFactory(inmate=inmate, station="+12125550198"))
    _, quarantined = station_register(facility=facility, station=BOOTH, label="Booth", actor=cast.admin.user)
    assert quarantined == 1
    from_booth.refresh_from_db()
    elsewhere.refresh_from_db()
    assert from_booth.state == RecordingState.QUARANTINED
    assert elsewhere.state == RecordingState.STORED
    assert QuarantineHold.objects.get(recording=from_booth).kind == HoldKind.PRIVILEGED
    assert Call.objects.get(pk=from_booth.call_id).privileged
    assert AuditEvent.objects.filter(action="station.quarantined").get().details["quarantined"] == 1


# --- the admin API ------------------------------------------------------------------------


def test_an_admin_registers_lists_and_retires_a_station(facility: Any, cast: Cast) -> None:
    client = cast.admin.client
    answer = client.post(
        STATIONS, {"facility": facility.pk, "station": BOOTH, "label": "Booth"}, format="json"
    )
    assert answer.status_code == 201, answer.content
    created = answer.json()
    assert (created["station_id"], created["live"], created["quarantined"]) == ("+12125550199", True, 0)
    again = client.post(
        STATIONS, {"facility": facility.pk, "station": "212-555-0199", "label": "B"}, format="json"
    )
    assert (again.status_code, again.json()["reason"]) == (409, "station_already_registered")
    listed = client.get(STATIONS).json()
    assert [s["station_id"] for s in listed["results"]] == ["+12125550199"]
    retired = client.post(f"{STATIONS}{created['id']}/retire/", {"reason": "moved"}, format="json")
    assert (retired.status_code, retired.json()["live"]) == (200, False)
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "station.registered",
        "station.retired",
        "stations.listed",
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"station": "booth 1", "label": "Booth"}, "invalid_station"),
        ({"station": "(212) 555", "label": "Booth"}, "invalid_station"),
        ({"station": BOOTH, "label": "   "}, "invalid"),  # the serializer: a blank label
        ({"label": "Booth"}, "invalid"),
    ],
)
def test_bad_station_input_is_a_400_with_a_reason(
    facility: Any, cast: Cast, body: dict[str, Any], reason: str
) -> None:
    answer = cast.admin.client.post(STATIONS, {"facility": facility.pk, **body}, format="json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["reason"].startswith(reason)
    assert not PrivilegedStation.objects.exists()


def test_retiring_needs_a_reason(facility: Any, cast: Cast) -> None:
    registered, _ = station_register(facility=facility, station=BOOTH, label="Booth", actor=cast.admin.user)
    answer = cast.admin.client.post(f"{STATIONS}{registered.pk}/retire/", {"reason": "  "}, format="json")
    assert answer.status_code == 400
    assert answer.json()["reason"] in ("invalid", "invalid_station_change")
    assert PrivilegedStation.objects.get().live


def test_an_investigator_cannot_register_a_station(facility: Any, cast: Cast) -> None:
    answer = cast.investigator.client.post(
        STATIONS, {"facility": facility.pk, "station": BOOTH, "label": "Booth"}, format="json"
    )
    assert answer.status_code == 404
    assert not PrivilegedStation.objects.exists()
    denied = AuditEvent.objects.get(action="access.denied")
    assert denied.details == {"attempted": "station.register", "exists": True}


def test_another_facilitys_admin_gets_an_audited_404(facility: Any, other_facility: Any, cast: Cast) -> None:
    registered, _ = station_register(facility=facility, station=BOOTH, label="Booth", actor=cast.admin.user)
    outsider = staff_member("other-admin", FACILITY_ADMIN, other_facility)
    client = client_for(outsider.user)
    assert (
        client.post(f"{STATIONS}{registered.pk}/retire/", {"reason": "mine now"}, format="json").status_code
        == 404
    )
    assert (
        client.post(
            STATIONS, {"facility": facility.pk, "station": "booth-9", "label": "x"}, format="json"
        ).status_code
        == 404
    )
    assert client.get(STATIONS).json()["results"] == []
    attempts = sorted(
        AuditEvent.objects.filter(action="access.denied", actor=outsider.user).values_list(
            "details__attempted", flat=True
        )
    )
    assert attempts == ["station.register", "station.retire"]
    assert PrivilegedStation.objects.get().live


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_do_not_record_needs_a_written_reason(inmate: Inmate, cast: Cast, reason: str) -> None:
    from apps.inmates.recording_setting import DoNotRecordError

    with pytest.raises(DoNotRecordError) as caught:
        inmate_do_not_record_set(inmate=inmate, reason=reason, actor=cast.admin.user)
    assert caught.value.reason == "invalid_do_not_record_change"
    inmate.refresh_from_db()
    assert inmate.do_not_record_since is None
