"""Least privilege (I2) on the recordings API: scoping, the deny layer, playback links."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from guardian.shortcuts import assign_perm

from apps.actions.registry import exempt_number_verify
from apps.audit.models import AuditEvent
from apps.facilities.models import Facility
from apps.inmates.models import InmateUserObjectPermission
from apps.inmates.services import inmate_grant_create
from apps.recordings.models import Recording
from apps.registry.models import ExemptStatus
from apps.registry.services import exempt_number_register
from tests.actors import Actor, actor, staff_member
from tests.factories import AttorneyFactory, CallFactory, InmateFactory, UserFactory

pytestmark = pytest.mark.django_db
AUDIO = b"RIFF" + bytes(range(256)) * 40


@pytest.fixture
def world(facility: Facility, other_facility: Facility, store_recording: Any) -> dict[str, Any]:
    admin = staff_member(
        "admin", "facility_admin", facility, perms=["view_facility", "view_facility_calls", "manage_facility"]
    )
    investigator = staff_member("investigator", "investigator", facility)
    granted_inmate = InmateFactory(facility=facility, booking_number="G1")
    other_inmate = InmateFactory(facility=facility, booking_number="U1")
    granted = store_recording(CallFactory(inmate=granted_inmate), AUDIO)
    ungranted = store_recording(CallFactory(inmate=other_inmate))
    foreign = store_recording(CallFactory(inmate=InmateFactory(facility=other_facility)))
    inmate_grant_create(
        granted_by=admin.user,
        investigator=investigator.user,
        inmate=granted_inmate,
        case_reference="CASE-1",
        expires_at=timezone.now() + timedelta(days=7),
    )
    return {
        "admin": admin,
        "investigator": investigator,
        "granted": granted,
        "ungranted": ungranted,
        "foreign": foreign,
        "granted_inmate": granted_inmate,
    }


def _play(who: Actor, recording: Recording) -> Any:
    return who.client.post(f"/api/v1/recordings/{recording.pk}/playback/")


def _stream(who: Actor, url: str, **headers: str) -> Any:
    parsed = urlparse(url)
    return who.client.get(f"{parsed.path}?{parsed.query}", headers=headers)


def test_the_list_shows_only_the_callers_facilities(world: dict[str, Any]) -> None:
    r = world["investigator"].client.get("/api/v1/recordings/")
    ids = {row["id"] for row in r.json()["results"]}
    assert ids == {world["granted"].pk, world["ungranted"].pk}


def test_an_investigator_plays_a_granted_recording(world: dict[str, Any]) -> None:
    who = world["investigator"]
    r = _play(who, world["granted"])
    assert r.status_code == 200, r.content
    stream = _stream(who, r.json()["url"])
    assert stream.status_code == 200
    assert b"".join(stream.streaming_content) == AUDIO
    assert AuditEvent.objects.filter(action="recording.streamed", actor=who.user).count() == 1


def test_the_player_can_ask_for_a_byte_range(world: dict[str, Any]) -> None:
    who = world["investigator"]
    url = _play(who, world["granted"]).json()["url"]
    part = _stream(who, url, Range="bytes=10-19")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 10-19/{len(AUDIO)}"
    assert b"".join(part.streaming_content) == AUDIO[10:20]
    assert _stream(who, url, Range="bytes=99999-").status_code == 416


@pytest.mark.parametrize("target", ["ungranted", "foreign"])
def test_an_ungranted_recording_looks_missing_and_is_audited(world: dict[str, Any], target: str) -> None:
    who = world["investigator"]
    recording = world[target]
    r = _play(who, recording)
    assert r.status_code == 404
    assert r.json() == who.client.post("/api/v1/recordings/987654321/playback/").json()
    assert AuditEvent.objects.filter(
        action="access.denied", actor=who.user, target_id=str(recording.pk)
    ).exists()


def test_a_foreign_recording_detail_is_404(world: dict[str, Any]) -> None:
    assert world["investigator"].client.get(f"/api/v1/recordings/{world['foreign'].pk}/").status_code == 404


def test_an_expired_grant_stops_working_without_a_job(world: dict[str, Any]) -> None:
    InmateUserObjectPermission.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _play(world["investigator"], world["granted"]).status_code == 404


def test_a_revoked_grant_kills_links_already_issued(world: dict[str, Any]) -> None:
    who = world["investigator"]
    url = _play(who, world["granted"]).json()["url"]
    grant = InmateUserObjectPermission.objects.get()
    r = world["admin"].client.delete(f"/api/v1/grants/{grant.pk}/")
    assert r.status_code == 204
    assert _stream(who, url).status_code == 404


def test_a_link_is_bound_to_its_user(world: dict[str, Any]) -> None:
    url = _play(world["investigator"], world["granted"]).json()["url"]
    other = actor("other-investigator", "investigator")
    assert _stream(other, url).status_code == 404
    assert world["investigator"].client.get(urlparse(url).path + "?t=forged").status_code == 403


def test_a_quarantined_recording_cannot_be_played_even_with_a_grant(
    world: dict[str, Any], clerk: User
) -> None:
    who = world["investigator"]
    url = _play(who, world["granted"]).json()["url"]
    attorney = AttorneyFactory()
    exempt = exempt_number_register(
        attorney=attorney, number=world["granted"].call.dialed_number, actor=attorney.user
    )
    exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    assert _play(who, world["granted"]).status_code == 404
    assert _stream(who, url).status_code == 404


def test_a_superuser_is_not_a_back_door(world: dict[str, Any]) -> None:
    root = actor("root")
    root.user.is_superuser = True
    root.user.save()
    assert root.client.get("/api/v1/recordings/").json()["results"] == []
    assert _play(root, world["granted"]).status_code == 404


def test_a_suspended_user_reaches_nothing(world: dict[str, Any]) -> None:
    who = world["investigator"]
    url = _play(who, world["granted"]).json()["url"]
    who.user.is_active = False
    who.user.save()
    assert _stream(who, url).status_code == 401
    assert who.client.get("/api/v1/recordings/").status_code == 401


def test_privileged_calls_are_masked_except_for_clerks_and_officers(
    world: dict[str, Any], facility: Facility, clerk: User
) -> None:
    call = world["ungranted"].call
    attorney = AttorneyFactory(full_name="Counsel Person")
    exempt = exempt_number_register(attorney=attorney, number=call.dialed_number, actor=attorney.user)
    exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    row = world["investigator"].client.get(f"/api/v1/calls/{call.pk}/").json()
    assert row["privileged"] is True and row["dialed_number"] is None and row["attorney"] is None
    search = world["investigator"].client.get("/api/v1/calls/", {"number": call.dialed_number}).json()
    assert search["count"] == 0
    officer = staff_member("officer", "privilege_officer", facility, perms=["view_facility_calls"])
    seen = officer.client.get(f"/api/v1/calls/{call.pk}/").json()
    assert seen["dialed_number"] == call.dialed_number and "Counsel Person" in seen["attorney"]
    assert ExemptStatus.VERIFIED == "verified"


def test_a_facility_admin_grants_and_revokes(world: dict[str, Any], facility: Facility) -> None:
    admin = world["admin"]
    other = InmateFactory(facility=facility, booking_number="NEW1")
    body = {
        "investigator": "investigator",
        "inmate": other.pk,
        "case_reference": "CASE-9",
        "expires_at": (timezone.now() + timedelta(days=3)).isoformat(),
    }
    r = admin.client.post("/api/v1/grants/", body, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["granted_by"] == "admin" and r.json()["case_reference"] == "CASE-9"
    listed = admin.client.get("/api/v1/grants/", {"investigator": "investigator"}).json()
    assert listed["count"] == 2
    assert admin.client.delete(f"/api/v1/grants/{r.json()['id']}/").status_code == 204
    assert AuditEvent.objects.filter(action__in=["grant.created", "grant.revoked"]).count() == 3


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"case_reference": "  "}, "invalid"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "invalid_grant"),
        ({"investigator": "admin"}, "self_grant"),
        ({"investigator": "unassigned"}, "investigator_not_assigned"),
    ],
)
def test_bad_grants_are_refused_with_a_reason(
    world: dict[str, Any], change: dict[str, str], reason: str
) -> None:
    UserFactory(username="unassigned")
    body = {
        "investigator": "investigator",
        "inmate": world["granted_inmate"].pk,
        "case_reference": "CASE-2",
        "expires_at": (timezone.now() + timedelta(days=3)).isoformat(),
        **change,
    }
    r = world["admin"].client.post("/api/v1/grants/", body, format="json")
    assert r.status_code == 400 and r.json()["reason"] == reason


def test_an_investigator_cannot_grant(world: dict[str, Any]) -> None:
    body = {
        "investigator": "investigator",
        "inmate": world["granted_inmate"].pk,
        "case_reference": "X",
        "expires_at": (timezone.now() + timedelta(days=3)).isoformat(),
    }
    other = actor("investigator2", "investigator")
    assign_perm("facilities.view_facility_calls", other.user, world["granted_inmate"].facility)
    assert other.client.post("/api/v1/grants/", body, format="json").status_code == 404
