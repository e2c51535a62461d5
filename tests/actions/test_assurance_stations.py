"""The nightly assurance run also sends a synthetic setup from each live privileged station
(issue 11, section 6): it must be exempt and its upload refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.utils import timezone

from apps.actions.assurance import STATION_CHECK_NUMBER, assurance_run
from apps.actions.stations import station_register, station_retire
from apps.audit.models import AuditEvent
from apps.calls.models import Call
from apps.recordings.models import Recording
from tests.actors import Cast

pytestmark = pytest.mark.django_db
NOW = datetime(2030, 3, 1, 3, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def test_each_live_station_is_checked_and_passes(cast: Cast, other_facility: Any, storage: Any) -> None:
    booth, _ = station_register(
        facility=cast.facility, station="booth-1", label="Booth 1", actor=cast.admin.user
    )
    old, _ = station_register(
        facility=cast.facility, station="booth-2", label="Booth 2", actor=cast.admin.user
    )
    station_retire(station=old, reason="closed", actor=cast.admin.user)
    run = assurance_run()
    assert (run.status, run.failures) == ("passed", 0)
    calls = Call.objects.filter(synthetic=True)
    assert [(c.station, c.dialed_number, c.decision, c.reason) for c in calls] == [
        ("BOOTH-1", STATION_CHECK_NUMBER, "exempt", "privileged_station")
    ]
    assert not Recording.objects.exists()
    finished = AuditEvent.objects.get(action="assurance.run_finished")
    assert finished.details["stations_checked"] == 1
    assert booth.live
