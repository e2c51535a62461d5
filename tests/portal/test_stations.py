"""The portal's privileged-station screen and the inmate page's "do not record" toggle: facility
admins only, each change with its reason and confirmation, audited; anyone else an audited 404."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.audit.models import AuditEvent
from apps.facilities.models import PrivilegedStation
from apps.inmates.models import Inmate
from tests.actors import Cast

pytestmark = pytest.mark.django_db


def _logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_an_admin_registers_and_retires_a_station_in_the_portal(cast: Cast) -> None:
    client = _logged_in(cast.admin.user)
    page = client.get("/stations/")
    assert page.status_code == 200
    assert b"Register a station" in page.content
    assert b'href="/stations/"' in client.get("/").content  # the nav link
    posted = client.post(
        "/stations/", {"facility": cast.facility.pk, "station": "booth-1", "label": "Booth 1"}
    )
    assert posted.status_code == 302
    station = PrivilegedStation.objects.get()
    assert (station.station_id, station.live) == ("BOOTH-1", True)
    unconfirmed = client.post(f"/stations/{station.pk}/retire/", {"reason": "now an office"})
    assert unconfirmed.status_code == 400
    assert PrivilegedStation.objects.get().live
    retired = client.post(f"/stations/{station.pk}/retire/", {"reason": "now an office", "confirm": "on"})
    assert retired.status_code == 302
    assert not PrivilegedStation.objects.get().live
    assert {"station.registered", "station.retired", "stations.viewed"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )


def test_a_bad_station_in_the_portal_is_shown_with_its_reason(cast: Cast) -> None:
    client = _logged_in(cast.admin.user)
    answer = client.post("/stations/", {"facility": cast.facility.pk, "station": "booth 1", "label": "Booth"})
    assert answer.status_code == 400
    assert b"station id of 1 to 64" in answer.content
    assert not PrivilegedStation.objects.exists()


def test_an_investigator_gets_an_audited_404_for_the_station_screen(cast: Cast) -> None:
    client = _logged_in(cast.investigator.user)
    assert client.get("/stations/").status_code == 404
    assert AuditEvent.objects.filter(action="access.denied", actor=cast.investigator.user).exists()
    assert b'href="/stations/"' not in client.get("/").content


def test_an_admin_toggles_do_not_record_with_reason_and_confirmation(cast: Cast, inmate: Inmate) -> None:
    client = _logged_in(cast.admin.user)
    page = client.get(f"/inmates/{inmate.pk}/", HTTP_SEC_FETCH_SITE="same-origin")
    assert b"Do not record this inmate" in page.content
    url = f"/inmates/{inmate.pk}/do-not-record/"
    client.post(url, {"do_not_record": "on", "reason": "court order"})  # not confirmed
    inmate.refresh_from_db()
    assert inmate.do_not_record_since is None
    client.post(url, {"do_not_record": "on", "reason": "court order", "confirm": "on"})
    inmate.refresh_from_db()
    assert inmate.do_not_record_reason == "court order"
    assert (
        b"Record this inmate"
        in client.get(f"/inmates/{inmate.pk}/", HTTP_SEC_FETCH_SITE="same-origin").content
    )
    client.post(url, {"do_not_record": "off", "reason": "order lifted", "confirm": "on"})
    inmate.refresh_from_db()
    assert inmate.do_not_record_since is None


def test_an_investigator_cannot_toggle_do_not_record(cast: Cast, inmate: Inmate) -> None:
    client = _logged_in(cast.investigator.user)
    url = f"/inmates/{inmate.pk}/do-not-record/"
    answer = client.post(url, {"do_not_record": "on", "reason": "x", "confirm": "on"})
    assert answer.status_code == 404
    inmate.refresh_from_db()
    assert inmate.do_not_record_since is None
    denied = AuditEvent.objects.get(action="access.denied", actor=cast.investigator.user)
    assert denied.details["attempted"] == "inmate.do_not_record"
