"""List alarms in the report: an unexplained drop of a facility's registration counts for that
facility (a global one's for every facility), a switch's drift alarm for its own facility."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User

from apps.actions.registry import exempt_number_verify
from apps.compliance.figures import Period, compliance_figures
from apps.facilities.models import Facility, SwitchAccount
from apps.registry.drift import switch_drift_check, switch_list_held_report
from apps.registry.models import Attorney, ExemptNumber
from apps.registry.services import exempt_number_register
from apps.registry.snapshots import registry_snapshot_take
from tests.compliance.conftest import Clock
from tests.conftest import Switch

pytestmark = pytest.mark.django_db


def _verified(attorney: Attorney, clerk: User, number: str, facility: Facility | None = None) -> ExemptNumber:
    exempt = exempt_number_register(attorney=attorney, number=number, facility=facility, actor=attorney.user)
    return exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)[0]


def _alarms(facility: Facility) -> dict[str, int]:
    return compliance_figures(Period(facility, date(2026, 1, 1), date(2026, 6, 30)))["list_alarms"]


def test_an_unexplained_drop_counts_for_the_facility_it_concerns(
    clock: Clock, attorney: Attorney, clerk: User, facility: Facility, other_facility: Facility
) -> None:
    clock.now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    home_only = _verified(attorney, clerk, "+12125550181", facility)
    _verified(attorney, clerk, "+12125550182")
    registry_snapshot_take(day=date(2026, 3, 1))
    # Behind the services' back: the home-only registration now starts next year.
    ExemptNumber.objects.filter(pk=home_only.pk).update(effective_from=datetime(2027, 1, 1, tzinfo=UTC))
    clock.now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert registry_snapshot_take(day=date(2026, 3, 2)).alarm is not None

    assert _alarms(facility) == {"unexplained_drops": 1, "switch_drift": 0}
    assert _alarms(other_facility) == {"unexplained_drops": 0, "switch_drift": 0}


def test_a_drift_alarm_counts_for_the_switch_s_facility(
    clock: Clock,
    attorney: Attorney,
    clerk: User,
    switch: Switch,
    facility: Facility,
    other_facility: Facility,
    settings: Any,
) -> None:
    settings.DECISION_LIST_MAX_STALENESS = 3600
    clock.now = datetime(2026, 4, 1, 12, tzinfo=UTC)
    _verified(attorney, clerk, "+12125550183")
    assert switch.client.get("/api/v1/switch/decision-list/").json()["version"] == 1
    assert (
        switch.client.post("/api/v1/switch/decision-list/held/", {"version": 1}, format="json").status_code
        == 200
    )
    _verified(attorney, clerk, "+12125550184")
    account = SwitchAccount.objects.get(user=switch.user)
    since = switch_list_held_report(switch=account, version=1, now=clock.now).stale_since
    assert since is not None
    clock.now = since + timedelta(hours=2)
    assert len(switch_drift_check(now=clock.now)) == 1

    assert _alarms(facility) == {"unexplained_drops": 0, "switch_drift": 1}
    assert _alarms(other_facility) == {"unexplained_drops": 0, "switch_drift": 0}
