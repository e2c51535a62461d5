"""Issue 9, High 1: the renewal window must never store privileged audio (I1).

Each test drives the attack through the real endpoints (switch API, registry API, attorney and
clerk portals). Time passing is simulated by moving a registration's window into the past, never
by waiting; every instant is computed from one ``now`` taken at the start of the test.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.inmates.models import Inmate
from apps.recordings.models import Recording, RecordingState
from apps.registry.models import Attorney, ExemptNumber, ExemptStatus
from apps.registry.privilege import is_privileged
from apps.registry.services import exempt_numbers_expire, exempt_numbers_send_reminders
from tests.conftest import Switch

pytestmark = pytest.mark.django_db
NUMBER = "+12125550188"
MIN_DAYS, MAX_DAYS, REMINDER_DAYS = 45, 730, 30


@pytest.fixture(autouse=True)
def _window_settings(settings: Any) -> None:
    settings.REGISTRY_WINDOW_MIN_DAYS = MIN_DAYS
    settings.REGISTRY_WINDOW_MAX_DAYS = MAX_DAYS
    settings.REGISTRY_REMINDER_DAYS = REMINDER_DAYS
    settings.REGISTRY_VERIFICATION_DAYS = 365


def _web(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _register_and_verify(attorney_client: APIClient, clerk_client: APIClient, now: datetime) -> int:
    r = attorney_client.post("/api/v1/attorney/numbers/", {"number": "(212) 555-0188"}, format="json")
    assert r.status_code == 201, r.content
    until = now + timedelta(days=MIN_DAYS + 10)
    r = clerk_client.post(
        f"/api/v1/registry/numbers/{r.json()['id']}/verify/",
        {"effective_until": until.isoformat()},
        format="json",
    )
    assert r.status_code == 200, r.content
    return int(r.json()["id"])


def _window_ended(pk: int, now: datetime, *, reminded: bool = True) -> None:
    """Time passes: the window ended a minute ago (and the reminder went out in time)."""
    ExemptNumber.objects.filter(pk=pk).update(
        effective_from=now - timedelta(days=MIN_DAYS + 10),
        effective_until=now - timedelta(minutes=1),
        reminder_sent_at=now - timedelta(days=REMINDER_DAYS + 1) if reminded else None,
    )


def _call(switch: Switch, inmate: Inmate, call_id: str) -> dict[str, Any]:
    r = switch.client.post(
        "/api/v1/calls/",
        {
            "switch_call_id": call_id,
            "inmate": inmate.booking_number,
            "dialed_number": "212-555-0188",
            "started_at": "2026-11-25T10:00:00Z",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    body: dict[str, Any] = r.json()
    return body


def _upload(switch: Switch, call_id: int) -> Any:
    audio = os.urandom(2048)
    return switch.client.put(
        f"/api/v1/calls/{call_id}/recording/",
        audio,
        content_type="audio/wav",
        headers={"Content-SHA256": hashlib.sha256(audio).hexdigest()},
    )


def test_a_number_whose_renewal_is_pending_stays_exempt_after_its_window_ends(
    attorney: Attorney, attorney_client: APIClient, clerk_client: APIClient, switch: Switch, inmate: Inmate
) -> None:
    now = timezone.now()
    pk = _register_and_verify(attorney_client, clerk_client, now)
    assert _web(attorney.user).post(f"/attorney/numbers/{pk}/renew/").status_code == 302
    _window_ended(pk, now)  # the clerk has not decided the renewal yet

    call = _call(switch, inmate, "renewal-pending-1")
    assert call["record"] is False and call["privileged"] is True
    refused = _upload(switch, call["id"])
    assert refused.status_code == 403 and refused.json()["reason"] == "privileged"
    assert not Recording.objects.exists()
    assert exempt_numbers_expire(now=now) == 0  # a pending renewal is not a lapse


@pytest.mark.parametrize(
    "offset", [timedelta(seconds=40), timedelta(days=MIN_DAYS - 1), timedelta(days=MAX_DAYS + 1)]
)
def test_verify_refuses_a_window_outside_the_configured_bounds(
    attorney_client: APIClient, clerk_client: APIClient, offset: timedelta
) -> None:
    pk = attorney_client.post("/api/v1/attorney/numbers/", {"number": NUMBER}, format="json").json()["id"]
    until = timezone.now() + offset
    r = clerk_client.post(
        f"/api/v1/registry/numbers/{pk}/verify/", {"effective_until": until.isoformat()}, format="json"
    )
    assert r.status_code == 400
    assert r.json()["reason"] == "effective_until_out_of_range"
    assert ExemptNumber.objects.get(pk=pk).status == ExemptStatus.PENDING


def test_renewal_refuses_a_window_outside_the_configured_bounds(
    attorney_client: APIClient, clerk_client: APIClient
) -> None:
    now = timezone.now()
    pk = _register_and_verify(attorney_client, clerk_client, now)
    r = attorney_client.post(f"/api/v1/attorney/numbers/{pk}/renew/", format="json")
    assert r.status_code == 200 and r.json()["renewal_requested_at"]
    before = ExemptNumber.objects.get(pk=pk).effective_until
    assert before is not None
    for until in (before + timedelta(seconds=40), before + timedelta(days=MAX_DAYS + 1)):
        r = clerk_client.post(
            f"/api/v1/registry/numbers/{pk}/renew/", {"effective_until": until.isoformat()}, format="json"
        )
        assert r.status_code == 400 and r.json()["reason"] == "effective_until_out_of_range"
    assert ExemptNumber.objects.get(pk=pk).effective_until == before
    good = before + timedelta(days=MIN_DAYS + 1)
    r = clerk_client.post(
        f"/api/v1/registry/numbers/{pk}/renew/", {"effective_until": good.isoformat()}, format="json"
    )
    assert r.status_code == 200 and r.json()["renewal_requested_at"] is None


def test_the_clerk_portal_shows_a_form_error_for_a_window_out_of_range(
    attorney_client: APIClient, clerk: User
) -> None:
    pk = attorney_client.post("/api/v1/attorney/numbers/", {"number": NUMBER}, format="json").json()["id"]
    too_soon = (timezone.now() + timedelta(seconds=40)).strftime("%Y-%m-%dT%H:%M")
    page = _web(clerk).post(f"/attorney/clerk/numbers/{pk}/verify/", {"effective_until": too_soon})
    assert page.status_code == 400
    assert f"at least {MIN_DAYS} days" in page.content.decode()
    assert ExemptNumber.objects.get(pk=pk).status == ExemptStatus.PENDING


def test_a_lapse_then_re_verification_quarantines_what_was_recorded_during_the_lapse(
    attorney: Attorney,
    attorney_client: APIClient,
    clerk_client: APIClient,
    switch: Switch,
    inmate: Inmate,
) -> None:
    now = timezone.now()
    pk = _register_and_verify(attorney_client, clerk_client, now)
    _window_ended(pk, now)  # reminded in time, never renewed: the registration lapsed
    call = _call(switch, inmate, "lapse-1")
    assert call["record"] is True
    assert _upload(switch, call["id"]).status_code == 201

    # The attorney renews late: the lapsed registration cannot be revived without a clerk.
    assert _web(attorney.user).post(f"/attorney/numbers/{pk}/renew/").status_code == 302
    assert ExemptNumber.objects.get(pk=pk).status == ExemptStatus.EXPIRED
    fresh = ExemptNumber.objects.get(number=NUMBER, status=ExemptStatus.PENDING)
    until = timezone.now() + timedelta(days=MIN_DAYS + 10)
    r = clerk_client.post(
        f"/api/v1/registry/numbers/{fresh.pk}/verify/", {"effective_until": until.isoformat()}, format="json"
    )
    assert r.status_code == 200 and r.json()["quarantined_recordings"] == 1
    assert Recording.objects.get(call_id=call["id"]).state == RecordingState.QUARANTINED


def test_a_registration_does_not_lapse_before_its_attorney_was_reminded(
    attorney: Attorney,
    attorney_client: APIClient,
    clerk_client: APIClient,
    switch: Switch,
    inmate: Inmate,
    django_capture_on_commit_callbacks: Any,
) -> None:
    attorney.contact_email = "counsel@example.org"
    attorney.save()
    now = timezone.now()
    pk = _register_and_verify(attorney_client, clerk_client, now)
    _window_ended(pk, now, reminded=False)  # beat was down: no reminder ever went out
    assert _call(switch, inmate, "unreminded-1")["record"] is False
    assert exempt_numbers_expire(now=now) == 0

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert exempt_numbers_send_reminders(now=now) == 1
    exempt = ExemptNumber.objects.get(pk=pk)
    assert exempt.effective_until == now + timedelta(days=REMINDER_DAYS)  # full notice from now
    assert len(mail.outbox) == 1 and exempt.effective_until.date().isoformat() in mail.outbox[0].body
    assert is_privileged(NUMBER, now + timedelta(days=REMINDER_DAYS) - timedelta(seconds=1)).privileged
    assert not is_privileged(NUMBER, now + timedelta(days=REMINDER_DAYS)).privileged


@pytest.mark.parametrize("beat_down_days", [0, 20, 200])
def test_no_instant_of_a_registrations_life_records_without_notice(
    attorney_client: APIClient, clerk_client: APIClient, beat_down_days: int
) -> None:
    """Walk the life of a registration in 6-hour steps, with the reminder job down for a while
    right before the window ends: whenever the number is not exempt, the attorney was told at
    least REGISTRY_REMINDER_DAYS earlier."""
    start = timezone.now()
    pk = _register_and_verify(attorney_client, clerk_client, start)
    verified_at = ExemptNumber.objects.get(pk=pk).effective_from
    assert verified_at is not None
    outage_from = start + timedelta(days=MIN_DAYS + 10 - REMINDER_DAYS - 1)
    outage_until = outage_from + timedelta(days=beat_down_days)
    lapsed_at = None
    at = verified_at
    while at < start + timedelta(days=MIN_DAYS + 10 + REMINDER_DAYS + beat_down_days + 5):
        if not outage_from <= at < outage_until:
            exempt_numbers_send_reminders(now=at)
            exempt_numbers_expire(now=at)
        if not is_privileged(NUMBER, at).privileged:
            reminded = ExemptNumber.objects.get(number=NUMBER).reminder_sent_at
            assert reminded is not None and reminded <= at - timedelta(days=REMINDER_DAYS), at
            lapsed_at = lapsed_at or at
        at += timedelta(hours=6)
    assert lapsed_at is not None  # the registration does end eventually


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"REGISTRY_WINDOW_MIN_DAYS": "30", "REGISTRY_REMINDER_DAYS": "30"},
            "must exceed REGISTRY_REMINDER_DAYS",
        ),
        ({"REGISTRY_REMINDER_DAYS": "0"}, "REGISTRY_REMINDER_DAYS"),
        ({"REGISTRY_WINDOW_MIN_DAYS": "400", "REGISTRY_WINDOW_MAX_DAYS": "300"}, "REGISTRY_WINDOW_MAX_DAYS"),
        ({"REGISTRY_VERIFICATION_DAYS": "1000"}, "REGISTRY_VERIFICATION_DAYS"),
    ],
)
def test_settings_refuse_a_window_shorter_than_the_reminder_lead(env: dict[str, str], message: str) -> None:
    result = subprocess.run(  # noqa: S603 - our own interpreter, a constant program
        [sys.executable, "-c", "import callplatform.settings.base"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr
