"""Red team (2026-11-27): privileged stations and the inmate "do not record" setting."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from apps.actions.stations import station_register
from apps.audit.models import AuditEvent
from apps.inmates.models import Inmate
from apps.inmates.recording_setting import inmate_do_not_record_set
from tests.actors import Cast

pytestmark = pytest.mark.django_db


def _logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


@pytest.mark.parametrize("given", ["(212) 555-0101", "+1 212 555 0101", "212.555.0101", "12125550101"])
def test_registering_a_station_by_phone_number_keeps_no_clear_number_in_the_trail(
    cast: Cast, given: str
) -> None:
    """ATTACK (medium, masking rule): ``station.registered`` kept the admin's input verbatim in
    ``details.given_as``. The backstop scrub only catches contiguous "+digits", so a number typed
    with spaces, dots or brackets stayed in clear in the sealed trail, readable by every auditor
    and in every audit export."""
    station_register(facility=cast.facility, station=given, label="Attorney booth", actor=cast.admin.user)
    details = json.dumps(AuditEvent.objects.get(action="station.registered").details)
    for spelled in (given, "555-0101", "555.0101", "555 0101", "5550101"):
        assert spelled not in details


@pytest.mark.parametrize("value", [None, "", "true", "1", "ON", "yes"])
def test_a_malformed_do_not_record_toggle_never_turns_recording_back_on(
    cast: Cast, inmate: Inmate, value: str | None
) -> None:
    """ATTACK (medium, I1 fails open): the portal toggle read anything but exactly "on" as
    "off". A POST with the field missing or spelled "true"/"1"/"ON" (a script, a stale form, a
    hand-made request) *cleared* a court-ordered "do not record" setting."""
    inmate_do_not_record_set(inmate=inmate, reason="court order", actor=cast.admin.user)
    form = {"reason": "typo", "confirm": "on"}
    if value is not None:
        form["do_not_record"] = value
    _logged_in(cast.admin.user).post(f"/inmates/{inmate.pk}/do-not-record/", form)
    inmate.refresh_from_db()
    assert inmate.do_not_record_since is not None
    assert not AuditEvent.objects.filter(action="inmate.do_not_record_cleared").exists()


def test_a_registered_station_number_dialled_from_an_extension_is_still_privileged(
    cast: Cast, inmate: Inmate, switch: object
) -> None:
    """ATTACK (medium, I1, fixed): the booth is registered as "(212) 555-0101"; the switch
    names the station with its extension ("2125550101x5", as PBXs often do). A station written as
    a number now drops the extension, as numbers do (the line is covered: the safe side)."""
    from datetime import UTC, datetime

    from apps.calls.services import call_setup

    station_register(facility=cast.facility, station="(212) 555-0101", label="Booth", actor=cast.admin.user)
    call, _ = call_setup(
        facility=cast.facility,
        switch_call_id="ext-1",
        booking_number=inmate.booking_number,
        dialed_number="+17185550199",
        started_at=datetime(2026, 11, 27, 12, tzinfo=UTC),
        actor=cast.admin.user,
        station="2125550101x5",
    )
    assert call.privileged


def test_a_number_written_in_a_reason_is_not_kept_in_clear(cast: Cast) -> None:
    """ATTACK (low, masking rule, fixed: the scrub reads national spellings too): an admin
    retires a station "moved to (212) 555-0101"; the reason went into the sealed trail as typed."""
    from apps.actions.stations import station_retire

    station, _ = station_register(facility=cast.facility, station="BOOTH-9", label="B", actor=cast.admin.user)
    station_retire(station=station, reason="moved to (212) 555-0101", actor=cast.admin.user)
    assert "555-0101" not in json.dumps(AuditEvent.objects.get(action="station.retired").details)
