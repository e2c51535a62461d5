"""The report's figures on a small world built through the services (tests/compliance/conftest.py)."""

from __future__ import annotations

from datetime import date

import pytest

from apps.audit.models import AuditEvent
from apps.calls.models import Call
from apps.compliance.figures import Period, compliance_figures
from tests.compliance.conftest import World

pytestmark = pytest.mark.django_db


def _figures(world: World, facility: object = None) -> dict:
    return compliance_figures(Period(facility or world.facility, date(2026, 1, 1), date(2026, 6, 30)))


def test_every_figure_of_the_half_year(world: World) -> None:
    figures = _figures(world)
    reason = world.calls["a_mar"].reason

    assert figures["facility"]["code"] == "home"
    assert figures["period"] == {"from": "2026-01-01", "to": "2026-06-30"}
    assert figures["registered_numbers"] == {
        # A and L are global, B is home's; C (other's) does not reach home.
        "in_force_at_end": {"global": {"attorney": 2}, "facility": {"doctor": 1}, "total": 3},
        # A was verified in December, before the period.
        "verified_during_period": {"attorney": 1, "doctor": 1},
    }
    # Mar (A), N x2, L, and Jun 30 evening in New York (A); not Dec 20 nor Dec 31 evening.
    assert figures["calls"] == {"total": 5, "exempted_at_setup": 2, "exempted_by_reason": {reason: 2}}
    assert figures["gate_refusals"]["total"] == 1
    assert figures["quarantines"] == {
        "holds": 2,
        "recordings": 2,
        "by_kind": {"privileged": 1, "stop_button": 1},
    }
    assert figures["late_registrations"] == {"registrations": 1, "recordings_quarantined": 1}
    exposure = figures["exposure_incidents"]
    assert (exposure["incidents"], exposure["incidents_with_plays"], exposure["plays"]) == (1, 1, 2)
    assert exposure["listeners"] == 1 and exposure["seconds_heard"] > 0
    assert figures["assurance"] == {"runs": 1, "failed_runs": 0, "failures": 0, "failures_in_facility": 0}
    assert figures["list_alarms"] == {"unexplained_drops": 0, "switch_drift": 0}
    assert figures["stop_button"]["presses"] == 1 and figures["stop_button"]["recordings"] == 1
    assert figures["monthly"] == {
        "months": ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"],
        "exempted_calls": [0, 0, 1, 0, 0, 1],
        "gate_refusals": [0, 0, 1, 0, 0, 0],
    }


def test_synthetic_assurance_calls_are_left_out_of_every_figure(world: World) -> None:
    synthetic = Call.objects.filter(facility=world.facility, synthetic=True)
    # The run really did set up exempt calls and have uploads refused in home (A, L and B)...
    assert synthetic.filter(decision="exempt").count() == 3
    refused = AuditEvent.objects.filter(action="recording.upload_refused", facility_id=world.facility.pk)
    assert refused.count() == 4
    figures = _figures(world)
    # ...and none of it is counted.
    assert figures["calls"]["exempted_at_setup"] == 2
    assert figures["gate_refusals"]["total"] == 1
    assert sum(figures["monthly"]["exempted_calls"]) == 2


def test_the_other_facility_sees_only_its_own(world: World) -> None:
    figures = _figures(world, world.other)
    assert figures["registered_numbers"]["in_force_at_end"] == {
        "global": {"attorney": 2},
        "facility": {"clergy": 1},
        "total": 3,
    }
    assert figures["calls"]["total"] == 0
    assert figures["gate_refusals"]["total"] == 0  # its synthetic refusal is left out
    assert figures["quarantines"]["holds"] == 0
    assert figures["exposure_incidents"]["incidents"] == 0
    assert figures["stop_button"]["presses"] == 0
