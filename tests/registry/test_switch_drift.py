"""Drift is visible (issue 11, section 2): switches report the list version they hold, a switch
stale past DECISION_LIST_MAX_STALENESS raises one drift alarm per episode, and the storage gate
stays the final check for a switch whose list is behind."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.actions.registry import exempt_number_verify
from apps.audit.models import AuditEvent
from apps.facilities.models import Facility, SwitchAccount
from apps.inmates.models import Inmate
from apps.recordings.models import Recording
from apps.registry.alarms import open_list_alarms
from apps.registry.decision_list import decision_list_publish
from apps.registry.drift import switch_drift_check, switch_list_held_report
from apps.registry.models import Attorney, ExemptNumber, ListAlarm, ListAlarmKind, SwitchListHolding
from apps.registry.services import exempt_number_register
from apps.registry.tasks import switch_drift_check as drift_task
from tests.conftest import Switch

pytestmark = pytest.mark.django_db

HELD_URL = "/api/v1/switch/decision-list/held/"
FIRST = "+12125550101"
SECOND = "+12125550102"
THIRD = "+12125550103"


def verified(attorney: Attorney, clerk: User, number: str, facility: Facility | None = None) -> ExemptNumber:
    exempt = exempt_number_register(attorney=attorney, number=number, facility=facility, actor=attorney.user)
    return exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)[0]


def account(switch: Switch) -> SwitchAccount:
    return SwitchAccount.objects.select_related("facility", "user").get(user=switch.user)


@pytest.fixture
def max_age(settings: Any) -> timedelta:
    settings.DECISION_LIST_MAX_STALENESS = 3600
    return timedelta(seconds=3600)


@pytest.fixture
def behind(attorney: Attorney, clerk: User, switch: Switch) -> tuple[int, datetime]:
    """The switch holds version 1; version 2 (a new number) is published at the returned time."""
    verified(attorney, clerk, FIRST)
    assert switch.client.get("/api/v1/switch/decision-list/").json()["version"] == 1
    assert switch.client.post(HELD_URL, {"version": 1}, format="json").status_code == 200
    verified(attorney, clerk, SECOND)
    changed_at = timezone.now()
    report = switch_list_held_report(switch=account(switch), version=1, now=changed_at)
    assert report.current_version == 2 and report.stale_since is not None
    return 2, report.stale_since


def test_the_switch_reports_the_version_it_holds(attorney: Attorney, clerk: User, switch: Switch) -> None:
    verified(attorney, clerk, FIRST)
    version = switch.client.get("/api/v1/switch/decision-list/").json()["version"]
    response = switch.client.post(HELD_URL, {"version": version}, format="json")
    assert response.status_code == 200
    assert response.json() == {"version": version, "current_version": version, "stale_since": None}
    holding = SwitchListHolding.objects.get(switch__user=switch.user)
    assert holding.held_version == version and holding.held_reported_at is not None
    assert AuditEvent.objects.filter(action="registry.decision_list_held", actor=switch.user).count() == 1


@pytest.mark.parametrize(
    ("body", "reason"), [({"version": 7}, "unknown_version"), ({"version": 0}, "invalid")]
)
def test_an_unknown_held_version_is_refused(switch: Switch, body: dict[str, Any], reason: str) -> None:
    response = switch.client.post(HELD_URL, body, format="json")
    assert response.status_code == 400 and response.json()["reason"] == reason


def test_a_stale_switch_alarms_only_past_the_allowed_age(
    behind: tuple[int, datetime],
    max_age: timedelta,
    switch: Switch,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[Any],
) -> None:
    _, since = behind
    assert switch_drift_check(now=since + max_age) == []
    with django_capture_on_commit_callbacks(execute=True):
        [alarm] = switch_drift_check(now=since + max_age + timedelta(seconds=1))
    assert alarm.kind == ListAlarmKind.SWITCH_DRIFT and alarm.switch == account(switch)
    assert (alarm.held_version, alarm.current_version, alarm.stale_since) == (1, 2, since)
    assert alarm.facility_ids == [switch.facility.pk]
    assert list(open_list_alarms()) == [alarm]
    event = AuditEvent.objects.get(action="registry.switch_drift")
    assert event.target_id == str(alarm.pk) and event.details["held_version"] == 1
    [mail] = mailoutbox
    assert "switch-home" in mail.subject and "version 1" in mail.body


def test_the_alarm_fires_once_per_episode(
    behind: tuple[int, datetime], max_age: timedelta, switch: Switch, attorney: Attorney, clerk: User
) -> None:
    _, since = behind
    late = since + max_age + timedelta(seconds=1)
    assert len(switch_drift_check(now=late)) == 1
    assert switch_drift_check(now=late + timedelta(hours=1)) == []
    assert switch_drift_check(now=late + timedelta(days=1)) == []
    # Catching up to a version that is still behind does not end the episode either.
    verified(attorney, clerk, THIRD)
    switch_list_held_report(switch=account(switch), version=2, now=late + timedelta(days=1))
    assert switch_drift_check(now=late + timedelta(days=2)) == []
    assert ListAlarm.objects.filter(kind="switch_drift").count() == 1


def test_a_switch_that_catches_up_ends_the_episode_and_a_new_fall_behind_alarms_again(
    behind: tuple[int, datetime], max_age: timedelta, switch: Switch, attorney: Attorney, clerk: User
) -> None:
    current, since = behind
    late = since + max_age + timedelta(seconds=1)
    [first] = switch_drift_check(now=late)
    report = switch_list_held_report(switch=account(switch), version=current, now=late)
    assert report.stale_since is None
    assert SwitchListHolding.objects.get(switch__user=switch.user).drift_alarm is None
    assert switch_drift_check(now=late + timedelta(days=1)) == []
    verified(attorney, clerk, THIRD)
    published = late + timedelta(days=3)
    assert switch_drift_check(now=published) == []  # publishes version 3: stale from now on
    [second] = switch_drift_check(now=published + max_age + timedelta(seconds=1))
    assert second != first and second.stale_since == published and second.held_version == current
    assert SwitchListHolding.objects.get(switch__user=switch.user).drift_alarm == second


def test_a_fresh_switch_does_not_alarm(
    attorney: Attorney, clerk: User, switch: Switch, other_switch: Switch, max_age: timedelta
) -> None:
    verified(attorney, clerk, FIRST)
    start = timezone.now()
    for each in (switch, other_switch):
        switch_list_held_report(switch=account(each), version=1, now=start)
    assert switch_drift_check(now=start + max_age * 10) == []
    assert not ListAlarm.objects.exists()


def test_a_change_for_another_facility_does_not_make_a_switch_stale(
    attorney: Attorney, clerk: User, switch: Switch, other_facility: Facility, max_age: timedelta
) -> None:
    verified(attorney, clerk, FIRST)
    start = timezone.now()
    switch_list_held_report(switch=account(switch), version=1, now=start)
    verified(attorney, clerk, SECOND, other_facility)
    assert switch_drift_check(now=start + timedelta(seconds=1)) == []  # version 2 published
    assert switch_drift_check(now=start + max_age * 10) == []


def test_a_switch_that_never_reported_alarms_once_past_the_age_since_it_exists(
    attorney: Attorney, clerk: User, switch: Switch, max_age: timedelta
) -> None:
    verified(attorney, clerk, FIRST)
    published = timezone.now()
    decision_list_publish(now=published)  # the first list exists after the switch does
    assert account(switch).created_at < published
    assert switch_drift_check(now=published + max_age) == []
    [alarm] = switch_drift_check(now=published + max_age + timedelta(seconds=1))
    assert alarm.held_version is None and alarm.current_version == 1


def test_a_deactivated_switch_is_not_watched(
    attorney: Attorney, clerk: User, switch: Switch, max_age: timedelta
) -> None:
    verified(attorney, clerk, FIRST)
    User.objects.filter(pk=switch.user.pk).update(is_active=False)
    assert switch_drift_check(now=timezone.now() + max_age * 10) == []


def test_the_beat_task_runs_the_check(switch: Switch, attorney: Attorney, clerk: User) -> None:
    verified(attorney, clerk, FIRST)
    assert drift_task() == []  # just created: within the allowed age


def test_the_gate_refuses_audio_to_a_number_added_after_the_switch_list(
    attorney: Attorney, clerk: User, switch: Switch, inmate: Inmate, storage: object
) -> None:
    """The list is a fallback, never the final check: a switch whose list predates a
    registration records the call, and the storage gate still refuses the upload."""
    body = switch.client.get("/api/v1/switch/decision-list/").json()
    switch.client.post(HELD_URL, {"version": body["version"]}, format="json")
    setup = switch.client.post(
        "/api/v1/calls/",
        {
            "switch_call_id": "offline-1",
            "inmate": inmate.booking_number,
            "dialed_number": "(212) 555-0103",
            "started_at": timezone.now().isoformat(),
        },
        format="json",
    )
    assert setup.status_code == 201 and setup.json()["record"] is True
    verified(attorney, clerk, THIRD)  # after the switch's list version and after call setup
    assert switch.client.get("/api/v1/switch/decision-list/", {"since": body["version"]}).json()["added"]
    audio = b"RIFF" + b"\x00" * 2048
    upload = switch.client.put(
        f"/api/v1/calls/{setup.json()['id']}/recording/",
        audio,
        content_type="audio/wav",
        headers={"Content-SHA256": hashlib.sha256(audio).hexdigest()},
    )
    assert upload.status_code == 403 and upload.json()["reason"] == "privileged"
    assert not Recording.objects.filter(call_id=setup.json()["id"]).exists()


def test_the_drift_alarm_shows_on_the_clerk_queue_and_admin_dashboards(
    behind: tuple[int, datetime], max_age: timedelta, switch: Switch, clerk: User, cast: Any
) -> None:
    from django.test import Client
    from django.urls import reverse

    _, since = behind
    [alarm] = switch_drift_check(now=since + max_age + timedelta(seconds=1))
    wanted = (
        f"The switch of {switch.facility.name} (switch-home) still holds decision list version 1 "
        f"(current 2) since {since:%Y-%m-%d %H:%M} UTC"
    )
    for user, page in ((clerk, "attorneys:clerk-queue"), (cast.admin.user, "portal:dashboard")):
        client = Client()
        client.force_login(user)
        body = client.get(reverse(page)).content.decode()
        assert f'id="alarm-{alarm.pk}"' in body and wanted in body, page
