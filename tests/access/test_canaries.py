"""Issue 9, Low "Canaries".

(a) Planted canaries were easy to spot: ``C`` + hex booking numbers, one fixed name, ``cnry-``
switch ids, 555 numbers, the lowest ids. Now they take the shape of the facility's own rows.

(b) A plain cross-site link to a canary suspended whoever clicked it, so a colleague could get
you suspended by mail. Now a record page reached from outside the portal (another site, a mail
client, a typed address) shows an "open this record?" confirmation instead of the record, and
reads nothing; only opening it from within the portal counts. The API refuses session-cookie
reads that do not come from our own pages; token reads are not cross-site.
"""

from __future__ import annotations

import io
import re
from typing import Any

import phonenumbers
import pytest
from django.core.management import call_command
from django.test import Client

from apps.access.anomaly import analyse_new_events
from apps.access.canaries import canaries_plant
from apps.access.models import Canary, Suspension
from apps.audit.models import AuditEvent
from apps.calls.models import Call
from apps.inmates.models import Inmate
from apps.recordings.models import Recording
from tests.factories import CallFactory, FacilityFactory, InmateFactory, UserFactory
from tests.support.insider import Insider, portal_client

pytestmark = pytest.mark.django_db

CROSS_SITE = {"Sec-Fetch-Site": "cross-site"}


def _suspended(insider: Insider) -> bool:
    analyse_new_events()
    return Suspension.objects.filter(user=insider.user).exists()


# --- (a) indistinguishable -------------------------------------------------------------------


def test_planted_canaries_take_the_shape_of_the_facilitys_rows(facility: Any) -> None:
    for n in range(20):
        inmate = InmateFactory(facility=facility, booking_number=f"NY{300000 + n}")
        CallFactory(inmate=inmate, switch_call_id=f"SW{7000000 + n}", dialed_number=f"+1718{2300000 + n}")
    planted = canaries_plant(facility=facility, count=8, actor=UserFactory(username="planter"))
    calls = [r.call for r in planted]
    inmates = [c.inmate for c in calls]
    assert all(re.fullmatch(r"NY\d{6}", i.booking_number) for i in inmates), [
        i.booking_number for i in inmates
    ]
    assert len({(i.first_name, i.last_name) for i in inmates}) > 4
    assert all(re.fullmatch(r"SW\d{7}", c.switch_call_id) for c in calls), [c.switch_call_id for c in calls]
    for call in calls:
        number = phonenumbers.parse(call.dialed_number)
        assert phonenumbers.is_valid_number(number), call.dialed_number
        assert call.dialed_number[5:8] != "555", call.dialed_number
        assert call.ended_at is not None and call.duration_seconds
    sizes = {r.size_bytes for r in planted}
    assert len(sizes) > 1  # not one fixed size
    assert all(r.content_type == "audio/wav" for r in planted)


def test_a_canary_never_takes_an_id_the_switch_may_send_next(facility: Any) -> None:
    """A switch numbering upward ("SW7000000", "SW7000001", ...) must never meet a canary: its
    next call would be refused as a conflict and the canary shown for what it is."""
    for n in range(20):
        inmate = InmateFactory(facility=facility, booking_number=f"NY{300000 + n}")
        CallFactory(inmate=inmate, switch_call_id=f"SW{7000000 + n}", dialed_number=f"+1718{2300000 + n}")
    planted = canaries_plant(facility=facility, count=8, actor=UserFactory(username="planter"))
    assert all(int(r.call.switch_call_id[2:]) < 7000000 for r in planted)
    # A short sequence leaves no room below it: a random id, never the next number.
    short = FacilityFactory(code="short")
    for n in range(1, 6):
        CallFactory(inmate=InmateFactory(facility=short), switch_call_id=f"sim-a-{n}")
    (canary,) = canaries_plant(facility=short, count=1, actor=UserFactory(username="planter2"))
    assert not canary.call.switch_call_id.startswith("sim-a-")


def test_simulated_traffic_interleaves_canaries_with_real_rows() -> None:
    call_command("simulate_calls", "--calls", "60", "--seed", "3", stdout=io.StringIO())
    canary_calls = [
        int(i) for i in Canary.objects.filter(target_type="calls.call").values_list("target_id", flat=True)
    ]
    assert canary_calls
    for call in Call.objects.filter(pk__in=canary_calls):
        mine = Call.objects.filter(facility=call.facility_id)
        assert mine.filter(pk__lt=call.pk).exists() and mine.filter(pk__gt=call.pk).exists()
        assert not call.switch_call_id.startswith("cnry")
        assert not call.inmate.booking_number.startswith("C")


# --- (b) a link cannot be used against a colleague ---------------------------------------------


def _record_pages(insider: Insider) -> list[str]:
    return [
        f"/recordings/{insider.canary.pk}/",
        f"/inmates/{insider.canary_call.inmate_id}/",
        f"/calls/?inmate={insider.canary_call.inmate.booking_number}",
        f"/calls/download/?inmate={insider.canary_call.inmate.booking_number}",
    ]


@pytest.mark.parametrize(
    "headers",
    [
        CROSS_SITE,
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "none"},  # a link opened from a mail client, or a typed address
        {"Referer": "https://evil.example/page"},  # a browser that sends no Sec-Fetch-Site
        {},  # neither header: we cannot tell, so we ask
    ],
)
def test_a_link_from_outside_shows_a_confirmation_and_reads_nothing(
    insider: Insider, headers: dict[str, str]
) -> None:
    analyse_new_events()
    client = Client(headers=headers)
    client.force_login(insider.user)
    for path in _record_pages(insider):
        r = client.get(path)
        assert r.status_code == 200, path
        assert b"Open this record?" in r.content
        assert insider.canary_call.inmate.last_name.encode() not in r.content
    assert not AuditEvent.objects.filter(actor=insider.user).exclude(action="auth.login").exists()
    assert not _suspended(insider)


def test_the_confirmation_is_the_same_for_a_canary_a_real_record_and_a_missing_one(insider: Insider) -> None:
    client = Client(headers=CROSS_SITE)
    client.force_login(insider.user)

    def page(pk: int) -> bytes:
        body = client.get(f"/recordings/{pk}/").content
        body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", body)
        return body.replace(f"/recordings/{pk}/".encode(), b"/recordings/ID/")

    assert page(insider.canary.pk) == page(insider.recordings[0].pk) == page(999999)


def test_opening_from_the_confirmation_is_a_deliberate_read(insider: Insider) -> None:
    analyse_new_events()
    client = Client(enforce_csrf_checks=True, headers=CROSS_SITE)
    client.force_login(insider.user)
    path = f"/recordings/{insider.recordings[0].pk}/"
    page = client.get(path).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    assert client.post(path, {}).status_code == 403  # without the token: CSRF refusal
    r = client.post(path, {"csrfmiddlewaretoken": token.group(1)}, headers={"Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200
    assert b"Open this record?" not in r.content
    assert AuditEvent.objects.filter(actor=insider.user, action="recording.viewed").exists()
    assert not _suspended(insider)


def test_a_canary_opened_within_the_portal_still_suspends(insider: Insider) -> None:
    analyse_new_events()
    r = portal_client(insider.user).get(f"/recordings/{insider.canary.pk}/")
    assert r.status_code == 200
    assert _suspended(insider)


def test_the_api_refuses_a_cross_site_session_read(insider: Insider) -> None:
    analyse_new_events()
    client = Client(headers=CROSS_SITE)
    client.force_login(insider.user)
    for path in (f"/api/v1/recordings/{insider.canary.pk}/", "/api/v1/recordings/", "/api/v1/calls/"):
        r = client.get(path)
        assert r.status_code == 403, path
        assert r.json()["reason"] == "cross_site"
    assert not _suspended(insider)
    # The portal's own pages (same origin) may still use the session, e.g. the audio player.
    ok = Client(headers={"Sec-Fetch-Site": "same-origin"})
    ok.force_login(insider.user)
    assert ok.get(f"/api/v1/recordings/{insider.recordings[0].pk}/").status_code == 200


def test_a_token_read_of_a_canary_counts(insider: Insider) -> None:
    analyse_new_events()
    r = insider.investigator.client.get(f"/api/v1/recordings/{insider.canary.pk}/", headers=CROSS_SITE)
    assert r.status_code == 200
    assert _suspended(insider)


def test_canary_rows_are_real_rows(insider: Insider) -> None:
    """Planted rows go through the same models and the storage gate as real ones."""
    assert Recording.objects.filter(pk=insider.canary.pk, state="stored").exists()
    assert Inmate.objects.filter(pk=insider.canary_call.inmate_id).exists()


def test_a_link_that_passes_through_the_login_page_still_asks(insider: Insider) -> None:
    """Logged out, the colleague's link lands on the login page; the redirect after signing in
    is same-origin, but the person never chose the record."""
    analyse_new_events()
    path = f"/recordings/{insider.canary.pk}/"
    client = Client(
        headers={"Sec-Fetch-Site": "same-origin", "Referer": f"http://testserver/login/?next={path}"}
    )
    client.force_login(insider.user)
    r = client.get(path)
    assert b"Open this record?" in r.content
    assert not _suspended(insider)
