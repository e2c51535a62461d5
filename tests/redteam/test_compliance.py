"""Red team (2026-11-27): a facility's compliance report counts nothing of another facility."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from apps.compliance.figures import Period, compliance_figures
from apps.facilities.models import Facility
from apps.registry.assurance_models import AssuranceRun, AssuranceStatus

pytestmark = pytest.mark.django_db


def test_assurance_failures_elsewhere_are_not_in_this_facilitys_report(
    facility: Facility, other_facility: Facility
) -> None:
    """ATTACK (low, I2): the report (read by the facility's auditors) carried the platform-wide
    "failed runs" and "numbers failed": an auditor of home learnt, by subtracting "failures in
    this facility", how many privileged numbers failed assurance in facilities they do not
    audit. Only the number of runs (the nightly schedule) is platform-wide now."""
    at = datetime(2026, 3, 1, 3, tzinfo=UTC)
    AssuranceRun.objects.create(
        started_at=at,
        finished_at=at,
        status=AssuranceStatus.FAILED,
        failures=3,
        failure_details=[
            {"registration_id": i, "number_ref": "x", "facility_id": other_facility.pk, "stage": "setup"}
            for i in range(3)
        ],
    )
    figures = compliance_figures(Period(facility, date(2026, 1, 1), date(2026, 6, 30)))
    assert figures["assurance"] == {"runs": 1, "failed_runs": 0, "failures": 0, "failures_in_facility": 0}
    mine = compliance_figures(Period(other_facility, date(2026, 1, 1), date(2026, 6, 30)))
    assert mine["assurance"] == {"runs": 1, "failed_runs": 1, "failures": 3, "failures_in_facility": 3}
