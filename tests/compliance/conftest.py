"""A small world for the compliance report, built through the services at pinned times.

Facility "home" (America/New_York), period 2026-01-01..2026-06-30. What happens there:

- Dec 2025: global attorney number A verified; a call to A (exempt, before the period).
- 2026-01-01 03:00Z (Dec 31 in New York): another exempt call to A, still before the period.
- Feb: a home-only registration B (category doctor) and an other-only one C verified.
- Mar: an exempt call to A whose audio the switch tries to upload anyway (refused at the gate);
  two recorded calls to an ordinary number N; a recorded call to L, played by the investigator.
- Apr: L is registered and verified late: its recording is quarantined, an exposure report made.
- May: the investigator presses "sounds privileged - stop" on one of N's recordings.
- Jun: the nightly assurance run (synthetic setups and refused uploads in home and other).
- 2026-07-01 02:00Z (Jun 30 in New York): an exempt call to A, inside the period.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.actions.assurance import assurance_run
from apps.actions.registry import exempt_number_verify
from apps.calls.models import Call
from apps.facilities.models import Facility
from apps.inmates.models import Inmate
from apps.recordings.models import Recording, StopPress
from apps.registry.evidence import evidence_upload
from apps.registry.models import Attorney, ExemptNumber
from apps.registry.services import exempt_number_register
from tests.actors import Cast, grant_facility
from tests.audit.conftest import broker, workers  # noqa: F401 - the real worker fixtures, reused
from tests.conftest import Switch
from tests.factories import InmateFactory
from tests.registry.test_categories import CREDENTIALS, PDF

A, B, C, L, N = "+12125550111", "+12125550122", "+12125550133", "+12125550144", "+17185550100"
AUDIO = b"RIFF" + bytes(range(256)) * 820  # 209,924 bytes
REPORT_AT = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = at("2025-12-01T12:00:00")

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Pinned time: ``timezone.now`` and the one default that captured it at import (a field
    caches its default callable in ``_get_default``, so that is what is replaced)."""
    pinned = Clock()
    monkeypatch.setattr(timezone, "now", pinned)
    monkeypatch.setattr(StopPress._meta.get_field("pressed_at"), "_get_default", pinned)
    return pinned


@pytest.fixture(autouse=True)
def _reports_apart(settings: Any, tmp_path: Any) -> None:
    """This test's own report folder (embedded default) or bucket prefix (S3)."""
    settings.COMPLIANCE_REPORT_DIR = tmp_path / "compliance-reports"
    settings.COMPLIANCE_REPORT_PREFIX = f"compliance-reports/test-{tmp_path.name}/"


@dataclass
class World:
    facility: Facility
    other: Facility
    cast: Cast
    clerk: User
    inmate: Inmate
    calls: dict[str, Call] = field(default_factory=dict)
    recordings: dict[str, Recording] = field(default_factory=dict)
    registrations: dict[str, ExemptNumber] = field(default_factory=dict)


def _verify(
    attorney: Attorney, clerk: User, number: str, facility: Facility | None = None, category: str = "attorney"
) -> ExemptNumber:
    """Registered and verified through the services, with the category's credential and letter."""
    credential = CREDENTIALS.get(category, {})
    exempt = exempt_number_register(
        attorney=attorney,
        number=number,
        facility=facility,
        category=category,
        actor=attorney.user,
        **credential,
    )
    if credential:
        evidence_upload(exempt_number=exempt, data=PDF, filename="letter.pdf", actor=attorney.user)
    return exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)[0]


def setup_call(switch: Switch, inmate: Inmate, key: str, number: str, started: str) -> Call:
    r = switch.client.post(
        "/api/v1/calls/",
        {
            "switch_call_id": key,
            "inmate": inmate.booking_number,
            "dialed_number": number,
            "started_at": started,
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    call = Call.objects.get(pk=r.json()["id"])
    ended = (call.started_at + timedelta(seconds=100)).isoformat()
    assert (
        switch.client.post(f"/api/v1/calls/{call.pk}/end/", {"ended_at": ended}, format="json").status_code
        == 200
    )
    call.refresh_from_db()
    return call


def upload(switch: Switch, call: Call) -> Any:
    return switch.client.put(
        f"/api/v1/calls/{call.pk}/recording/",
        AUDIO,
        content_type="audio/wav",
        headers={"Content-SHA256": hashlib.sha256(AUDIO).hexdigest()},
    )


@pytest.fixture
def world(
    clock: Clock,
    cast: Cast,
    other_facility: Facility,
    switch: Switch,
    attorney: Attorney,
    clerk: User,
    store_recording: Callable[..., Recording],
) -> World:
    inmate = InmateFactory(facility=cast.facility, booking_number="CR-1")
    w = World(cast.facility, other_facility, cast, clerk, inmate)
    clock.now = at("2025-12-10T15:00:00")
    w.registrations["A"] = _verify(attorney, clerk, A)
    clock.now = at("2025-12-20T15:00:00")
    w.calls["a_dec"] = setup_call(switch, inmate, "a-dec", A, "2025-12-20T15:00:00Z")
    clock.now = at("2026-01-01T03:00:00")
    w.calls["a_newyear_eve"] = setup_call(switch, inmate, "a-nye", A, "2026-01-01T03:00:00Z")
    clock.now = at("2026-02-01T15:00:00")
    w.registrations["B"] = _verify(attorney, clerk, B, cast.facility, category="doctor")
    w.registrations["C"] = _verify(attorney, clerk, C, other_facility, category="clergy")
    clock.now = at("2026-03-10T15:00:00")
    # Facility-wide play (an inmate grant's expiry is checked against the database clock,
    # which the pinned time does not move).
    grant_facility(cast.investigator.user, cast.facility, "play_facility_recordings")
    w.calls["a_mar"] = setup_call(switch, inmate, "a-mar", A, "2026-03-10T15:00:00Z")
    assert upload(switch, w.calls["a_mar"]).status_code == 403  # refused at the gate
    for i in (1, 2):
        w.calls[f"n{i}"] = setup_call(switch, inmate, f"n-{i}", N, "2026-03-10T15:00:00Z")
        assert upload(switch, w.calls[f"n{i}"]).status_code == 201
        w.recordings[f"n{i}"] = w.calls[f"n{i}"].recording
    w.calls["l"] = setup_call(switch, inmate, "l-1", L, "2026-03-10T15:00:00Z")
    assert upload(switch, w.calls["l"]).status_code == 201
    w.recordings["l"] = w.calls["l"].recording
    who = cast.investigator
    played = who.client.post(f"/api/v1/recordings/{w.recordings['l'].pk}/playback/")
    assert played.status_code == 200, played.content
    link = played.json()["url"]
    url = f"{urlparse(link).path}?{urlparse(link).query}"
    assert who.client.get(url, headers={"Range": "bytes=0-20999"}).status_code == 206
    assert who.client.get(urlparse(link).path, headers={"Range": "bytes=30000-41999"}).status_code == 206
    clock.now = at("2026-04-15T15:00:00")
    w.registrations["L"] = _verify(attorney, clerk, L)  # late: quarantines L's recording
    clock.now = at("2026-05-20T15:00:00")
    r = who.client.post(f"/api/v1/recordings/{w.recordings['n1'].pk}/stop-privileged/")
    assert r.status_code == 200, r.content
    clock.now = at("2026-06-10T03:00:00")
    run = assurance_run(trigger="command", actor=clerk)
    assert run.failures == 0 and run.numbers_checked == 4
    clock.now = at("2026-07-01T02:00:00")
    w.calls["a_jun30"] = setup_call(switch, inmate, "a-jun30", A, "2026-07-01T02:00:00Z")
    clock.now = REPORT_AT
    return w
