"""Anomaly analysis and suspension (I4)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone

from apps.access.anomaly import analyse_new_events
from apps.access.canaries import canaries_plant
from apps.access.models import ExportRequest, Suspension
from apps.access.suspensions import LiftNotAllowedError, suspension_lift, user_suspend
from apps.audit.models import AuditEvent
from apps.facilities.models import Facility
from apps.inmates.services import inmate_grant_create
from tests.actors import actor, staff_member
from tests.factories import CallFactory, InmateFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def investigator(facility: Facility) -> Any:
    who = staff_member("anomaly-investigator", "investigator", facility)
    return who


def test_touching_a_canary_suspends_the_account(facility: Facility, investigator: Any) -> None:
    canary = canaries_plant(facility=facility, count=1, actor=UserFactory(username="planter"))[0]
    analyse_new_events()  # planting itself is not an anomaly
    assert not Suspension.objects.exists()
    assert investigator.client.get(f"/api/v1/recordings/{canary.pk}/").status_code == 200
    hits = analyse_new_events()
    assert [h.rule for h in hits] == ["canary"]
    investigator.user.refresh_from_db()
    assert investigator.user.is_active is False
    assert investigator.client.get("/api/v1/recordings/").status_code == 401
    assert AuditEvent.objects.filter(action="user.suspended", target_id=str(investigator.user.pk)).exists()


def test_repeated_probes_outside_scope_suspend(
    other_facility: Facility, investigator: Any, store_recording: Any, settings: Any
) -> None:
    settings.ANOMALY_RULES = {**settings.ANOMALY_RULES, "denied_probes": {"window": 600, "threshold": 5}}
    foreign = store_recording(CallFactory(inmate=InmateFactory(facility=other_facility)))
    for offset in range(4):
        investigator.client.post(f"/api/v1/recordings/{foreign.pk + offset}/playback/")
    assert analyse_new_events() == []
    investigator.client.post(f"/api/v1/recordings/{foreign.pk + 99}/playback/")
    hits = analyse_new_events()
    assert hits and hits[0].rule == "denied_probes"


def test_suspension_kills_sessions_tokens_links_and_pending_exports(
    facility: Facility, investigator: Any, store_recording: Any, django_capture_on_commit_callbacks: Any
) -> None:
    admin = staff_member(
        "anomaly-admin", "facility_admin", facility, perms=["manage_facility", "view_facility_calls"]
    )
    inmate = InmateFactory(facility=facility)
    recording = store_recording(CallFactory(inmate=inmate))
    inmate_grant_create(
        granted_by=admin.user,
        investigator=investigator.user,
        inmate=inmate,
        case_reference="S-1",
        expires_at=timezone.now() + timedelta(days=1),
    )
    link = investigator.client.post(f"/api/v1/recordings/{recording.pk}/playback/").json()["url"]
    investigator.client.post(
        "/api/v1/exports/",
        {"recording_ids": [recording.pk], "case_reference": "S-1", "justification": "x"},
        format="json",
    )
    browser = actor("unused").client
    browser.force_authenticate(None)
    session = investigator.client
    mail.outbox.clear()
    # The e-mail leaves after the commit (on_commit): run those callbacks as a commit would.
    with django_capture_on_commit_callbacks(execute=True):
        user_suspend(user=investigator.user, rule="manual", details={})
    assert investigator.client.get("/api/v1/recordings/").status_code == 401
    assert AuditEvent.objects.filter(action="auth.rejected", actor=investigator.user).exists()
    assert session.get(link.replace("http://testserver", "")).status_code == 401
    assert ExportRequest.objects.get().status == "cancelled"
    assert [m.subject for m in mail.outbox] == [
        "[callplatform] account anomaly-investigator suspended (manual)"
    ]
    assert link not in mail.outbox[0].body  # a live link must never travel by e-mail
    with django_capture_on_commit_callbacks(execute=True):
        assert user_suspend(user=investigator.user, rule="again", details={}) is None
    assert len(mail.outbox) == 1  # already suspended: no second e-mail


def test_a_canary_suspension_emails_compliance_once_and_tells_nothing_about_the_call(
    facility: Facility, investigator: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The suspension e-mail goes to the compliance desk (never to the suspended user, who
    would be warned), names the account, the rule and who may lift it, and carries no call
    data: not the dialed number in any writing, not the inmate, not the recording's key."""
    settings.COMPLIANCE_EMAILS = ["compliance@example.org", "security-desk@example.org"]
    User.objects.filter(pk=investigator.user.pk).update(email="insider@example.org")
    planter = UserFactory(username="planter")
    canary = canaries_plant(facility=facility, count=1, actor=planter, rng=random.Random(7))[0]
    analyse_new_events()
    mail.outbox.clear()
    assert investigator.client.get(f"/api/v1/recordings/{canary.pk}/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert [h.rule for h in analyse_new_events()] == ["canary"]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["compliance@example.org", "security-desk@example.org"]
    assert "insider@example.org" not in [*message.to, *message.cc, *message.bcc]
    assert message.subject == "[callplatform] account anomaly-investigator suspended (canary)"
    assert "Anomaly rule 'canary' suspended anomaly-investigator at " in message.body
    assert "Only an administrator can lift it, with a written reason." in message.body
    call, inmate = canary.call, canary.call.inmate
    national = call.dialed_number[2:]  # +1AAANNNNNNN -> AAANNNNNNN
    text = f"{message.subject}\n{message.body}"
    digits = "".join(ch for ch in text if ch.isdigit())
    for secret in (call.dialed_number, national, f"{national[:3]}-{national[3:6]}-{national[6:]}"):
        assert secret not in text
    assert national not in digits  # not even spread out as "(718) 555-..."
    for secret in (inmate.first_name, inmate.last_name, inmate.booking_number, call.switch_call_id):
        assert secret not in text
    assert canary.storage_key not in text
    # A second analysis finds the user already suspended: still one e-mail.
    with django_capture_on_commit_callbacks(execute=True):
        assert analyse_new_events() == []
    assert len(mail.outbox) == 1


def test_only_another_administrator_lifts_a_suspension_with_a_reason(investigator: Any) -> None:
    suspension = user_suspend(user=investigator.user, rule="manual", details={})
    assert suspension is not None
    boss = UserFactory(username="boss", is_superuser=True)
    colleague = UserFactory(username="colleague")
    with pytest.raises(LiftNotAllowedError):
        suspension_lift(suspension=suspension, lifted_by=colleague, reason="looks fine")
    with pytest.raises(LiftNotAllowedError):
        suspension_lift(suspension=suspension, lifted_by=boss, reason="  ")
    with pytest.raises(LiftNotAllowedError):
        suspension_lift(
            suspension=suspension, lifted_by=User.objects.get(pk=investigator.user.pk), reason="me"
        )
    suspension_lift(suspension=suspension, lifted_by=boss, reason="Reviewed with the supervisor; case 12")
    investigator.user.refresh_from_db()
    assert investigator.user.is_active is True


def _played(user: User, count: int, hours_ago: float = 0.0) -> None:
    """Playback-link events as the trail holds them (the analyser reads only the trail)."""
    at = timezone.now() - timedelta(hours=hours_ago)
    AuditEvent.objects.bulk_create(
        AuditEvent(created_at=at, actor=user, action="recording.playback_link_issued", target_id="1")
        for _ in range(count)
    )


def test_playback_far_above_the_users_own_baseline_suspends(investigator: Any, settings: Any) -> None:
    settings.ANOMALY_RULES = {
        **settings.ANOMALY_RULES,
        "baseline_burst": {"factor": 5.0, "min_count": 10, "history_days": 14},
    }
    for day in range(1, 6):  # a steady norm: 2 links in each of five working hours
        _played(investigator.user, 2, hours_ago=24 * day + 3)
    _played(investigator.user, 9)
    assert analyse_new_events() == []  # 9 < min_count
    _played(investigator.user, 1)
    hits = analyse_new_events()
    assert [h.rule for h in hits] == ["baseline_burst"]
    assert hits[0].details["baseline_per_active_hour"] == 2.0 and hits[0].details["last_hour"] == 10


def test_a_busy_users_normal_hour_is_not_an_anomaly(investigator: Any, settings: Any) -> None:
    settings.ANOMALY_RULES = {
        **settings.ANOMALY_RULES,
        "baseline_burst": {"factor": 5.0, "min_count": 10, "history_days": 14},
    }
    for day in range(1, 4):
        _played(investigator.user, 12, hours_ago=24 * day)
    _played(investigator.user, 15)  # busy, but within 5x of the own norm of 12 per active hour
    assert analyse_new_events() == []
    investigator.user.refresh_from_db()
    assert investigator.user.is_active


@pytest.mark.parametrize(("night_now", "suspended"), [(True, True), (False, False)])
def test_bulk_access_in_the_off_hours_suspends(
    investigator: Any, settings: Any, night_now: bool, suspended: bool
) -> None:
    hour = timezone.now().astimezone(timezone.get_current_timezone()).hour
    start = hour if night_now else (hour + 2) % 24  # off hours that do or do not contain now
    settings.ANOMALY_OFF_HOURS = {"start": start, "end": (start + 1) % 24, "timezone": settings.TIME_ZONE}
    settings.ANOMALY_RULES = {**settings.ANOMALY_RULES, "off_hours_bulk": {"window": 3600, "threshold": 3}}
    _played(investigator.user, 3)
    hits = analyse_new_events()
    assert [h.rule for h in hits] == (["off_hours_bulk"] if suspended else [])
