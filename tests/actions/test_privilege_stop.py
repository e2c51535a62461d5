""" "This sounds privileged - stop" (issue 11, section 5): the API and the act behind it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from django.core import mail
from django.utils import timezone

from apps.access.models import ExportItem, ExportRequest, ExportStatus
from apps.audit.models import AuditEvent
from apps.facilities.models import Facility
from apps.recordings.models import HoldKind, QuarantineHold, Recording, StopPress
from apps.recordings.review import review_confirm, review_propose, review_queue
from tests.actors import PRIVILEGE_OFFICER, Actor, Cast, cast_grant, staff_member
from tests.factories import CallFactory, InmateFactory

pytestmark = pytest.mark.django_db
# Four 64 KiB chunks and a bit, for a call of 100 seconds: 2,100 bytes a second, about.
AUDIO = b"RIFF" + bytes(range(256)) * 820
DURATION = 100
DIALED = "+12125550142"


@pytest.fixture
def world(cast: Cast, other_facility: Facility, store_recording: Any) -> dict[str, Any]:
    inmate = InmateFactory(facility=cast.facility, booking_number="S5")
    cast_grant(cast, inmate)
    recordings = [
        store_recording(CallFactory(inmate=inmate, dialed_number=DIALED, duration_seconds=DURATION), AUDIO)
        for _ in range(3)
    ]
    cast.officer.user.email = "officer@example.org"
    cast.officer.user.save()
    second = staff_member("officer-2", PRIVILEGE_OFFICER, cast.facility)
    second.user.email = "officer2@example.org"
    second.user.save()
    elsewhere = staff_member("officer-elsewhere", PRIVILEGE_OFFICER, other_facility)
    elsewhere.user.email = "elsewhere@example.org"
    elsewhere.user.save()
    return {"cast": cast, "recordings": recordings, "officer_2": second, "investigator": cast.investigator}


def _press(who: Actor, recording: Recording) -> Any:
    return who.client.post(f"/api/v1/recordings/{recording.pk}/stop-privileged/")


def _link(who: Actor, recording: Recording) -> str:
    r = who.client.post(f"/api/v1/recordings/{recording.pk}/playback/")
    assert r.status_code == 200, r.content
    parsed = urlparse(r.json()["url"])
    return f"{parsed.path}?{parsed.query}"


def test_the_stop_quarantines_and_the_players_cookie_is_refused(world: dict[str, Any]) -> None:
    who, recording = world["investigator"], world["recordings"][0]
    url = _link(who, recording)
    first = who.client.get(url, headers={"Range": "bytes=0-999"})
    assert first.status_code == 206
    path = urlparse(url).path
    assert who.client.get(path, headers={"Range": "bytes=1000-1999"}).status_code == 206  # the cookie works

    r = _press(who, recording)

    assert r.status_code == 200, r.content
    assert r.json()["state"] == "quarantined"
    recording.refresh_from_db()
    assert recording.state == "quarantined"
    hold = QuarantineHold.objects.get(recording=recording, closed_at__isnull=True)
    assert hold.kind == HoldKind.STOP_BUTTON
    assert r.json()["hold"] == hold.pk
    # The player's next Range request, with the cookie it was given: refused.
    assert f"cp_play_{recording.pk}" in who.client.cookies
    assert who.client.get(path, headers={"Range": "bytes=2000-2999"}).status_code == 404
    assert not Recording.objects.restrict(who.user, "play").filter(pk=recording.pk).exists()


def test_a_stream_in_flight_ends_at_its_next_recheck(world: dict[str, Any], settings: Any) -> None:
    settings.STREAM_RECHECK_SECONDS = 0
    who, recording = world["investigator"], world["recordings"][0]
    response = who.client.get(_link(who, recording))
    chunks = iter(response.streaming_content)
    received = next(chunks)
    assert _press(who, recording).status_code == 200
    received += b"".join(chunks)
    assert 0 < len(received) < len(AUDIO)
    assert int(response["Content-Length"]) == len(AUDIO)  # the client sees a cut-short body


def test_the_heard_estimate_comes_from_the_ranges_served(world: dict[str, Any]) -> None:
    who, recording = world["investigator"], world["recordings"][0]
    url = _link(who, recording)
    path = urlparse(url).path
    who.client.get(url, headers={"Range": "bytes=0-9999"})
    who.client.get(path, headers={"Range": "bytes=5000-20999"})  # overlaps: 21,000 distinct bytes
    heard = _press(who, recording).json()["heard"]
    assert heard["bytes_served"] == 10000 + 16000
    assert heard["bytes_heard"] == 21000
    assert heard["seconds_heard"] == round(21000 * DURATION / len(AUDIO), 1)
    assert heard["listeners"] == 1
    event = AuditEvent.objects.get(action="recording.stop_pressed")
    assert event.actor_id == who.user.pk
    assert event.target_id == str(recording.pk)
    assert event.details["heard"]["bytes_heard"] == 21000
    assert event.details["heard_by_presser"]["seconds_heard"] == heard["seconds_heard"]
    assert event.details["pressed_at"]


def test_nothing_streamed_is_nothing_heard(world: dict[str, Any]) -> None:
    heard = _press(world["investigator"], world["recordings"][0]).json()["heard"]
    assert heard == {"bytes_served": 0, "bytes_heard": 0, "seconds_heard": 0.0, "listeners": 0}


def test_exports_not_yet_downloaded_are_revoked_and_downloaded_ones_named(world: dict[str, Any]) -> None:
    who, recording, other = world["investigator"], world["recordings"][0], world["recordings"][1]
    facility = world["cast"].facility
    exports = {}
    for status in (ExportStatus.PENDING, ExportStatus.APPROVED, ExportStatus.READY, ExportStatus.DOWNLOADED):
        export = ExportRequest.objects.create(
            requested_by=who.user, case_reference="C-1", justification="j", status=status
        )
        ExportItem.objects.create(export=export, recording=recording, facility=facility)
        ExportItem.objects.create(export=export, recording=other, facility=facility)
        exports[status] = export
    unrelated = ExportRequest.objects.create(requested_by=who.user, case_reference="C-2", justification="j")
    ExportItem.objects.create(export=unrelated, recording=other, facility=facility)

    body = _press(who, recording).json()

    pulled = [exports[s].pk for s in (ExportStatus.PENDING, ExportStatus.APPROVED, ExportStatus.READY)]
    assert body["exports_pulled"] == pulled
    assert body["exports_already_downloaded"] == [exports[ExportStatus.DOWNLOADED].pk]
    for pk in pulled:
        export = ExportRequest.objects.get(pk=pk)
        assert export.status == ExportStatus.REVOKED
        assert export.wrapped_key is None
    assert ExportRequest.objects.get(pk=unrelated.pk).status == ExportStatus.PENDING
    revoked = AuditEvent.objects.filter(action="export.revoked")
    assert {e.details["cause"] for e in revoked} == {"recording_stopped_as_privileged"}


def test_the_officers_of_the_facility_are_emailed_counts_and_ids_only(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    recording = world["recordings"][0]
    with django_capture_on_commit_callbacks(execute=True):
        body = _press(world["investigator"], recording).json()
    assert sorted(body["officers_notified"]) == ["officer", "officer-2"]
    assert sorted(m.to[0] for m in mail.outbox) == ["officer2@example.org", "officer@example.org"]
    message = mail.outbox[0]
    assert f"#{recording.pk}" in message.subject
    assert f"hold #{body['hold']}" in message.body
    for secret in (DIALED, DIALED[2:], "S5", recording.inmate.last_name):
        assert secret not in message.body + message.subject


def test_the_hold_waits_in_the_officers_review_queue(world: dict[str, Any]) -> None:
    cast, recording = world["cast"], world["recordings"][0]
    _press(world["investigator"], recording)
    assert recording.pk in set(review_queue(cast.officer.user).values_list("pk", flat=True))
    decision = review_propose(
        recording=recording, officer=cast.officer.user, action="release", reason="not privileged"
    )
    review_confirm(decision_id=decision.pk, officer=world["officer_2"].user)
    recording.refresh_from_db()
    assert recording.state == "stored"
    assert QuarantineHold.objects.get(recording=recording).outcome == "released"


def test_a_user_who_cannot_play_gets_404_and_the_attempt_is_audited(world: dict[str, Any]) -> None:
    recording = world["recordings"][0]
    admin = world["cast"].admin  # sees the facility's calls, may not play
    assert _press(admin, recording).status_code == 404
    denied = AuditEvent.objects.get(action="access.denied", actor=admin.user)
    assert denied.details == {"attempted": "recording.stop_privileged", "exists": True}
    recording.refresh_from_db()
    assert recording.state == "stored"
    assert not StopPress.objects.exists()


def test_pressing_twice_answers_the_same_and_holds_once(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    who, recording = world["investigator"], world["recordings"][0]
    with django_capture_on_commit_callbacks(execute=True):
        first = _press(who, recording)
        second = _press(who, recording)
    assert second.status_code == 200
    assert {**second.json(), "repeated": False} == first.json()
    assert second.json()["repeated"] is True
    assert QuarantineHold.objects.filter(recording=recording).count() == 1
    assert StopPress.objects.count() == 1
    assert len(mail.outbox) == 2  # one per officer, once
    assert AuditEvent.objects.filter(action="recording.stop_pressed").count() == 1
    assert AuditEvent.objects.filter(action="recording.stop_repeated").count() == 1


def test_a_recording_quarantined_for_another_reason_cannot_be_pressed(world: dict[str, Any]) -> None:
    recording = world["recordings"][0]
    Recording.objects.filter(pk=recording.pk).update(state="quarantined", quarantined_at=timezone.now())
    assert _press(world["investigator"], recording).status_code == 404
    assert not QuarantineHold.objects.exists()


def test_another_listener_cannot_press_a_stopped_recording_into_anything_new(
    world: dict[str, Any], facility: Facility
) -> None:
    from tests.actors import grant_facility, staff_member

    colleague = staff_member("colleague", "investigator", facility)
    grant_facility(colleague.user, facility, "play_facility_recordings")
    recording = world["recordings"][0]
    assert _press(world["investigator"], recording).status_code == 200
    assert _press(colleague, recording).status_code == 404
    assert StopPress.objects.count() == 1


def test_presses_are_rate_limited_per_user_per_hour(world: dict[str, Any], settings: Any) -> None:
    settings.ACCESS_QUOTAS = {**settings.ACCESS_QUOTAS, "stop_press": [(3600, 2)]}
    who, (one, two, three) = world["investigator"], world["recordings"]
    assert _press(who, one).status_code == 200
    assert _press(who, two).status_code == 200
    assert _press(who, one).status_code == 200  # a repeat is not a new press
    refused = _press(who, three)
    assert refused.status_code == 429
    assert refused.json()["reason"] == "stop_rate_limited"
    three.refresh_from_db()
    assert three.state == "stored"
    event = AuditEvent.objects.get(action="quota.exceeded", actor=who.user)
    assert event.details["kind"] == "stop_press"
    assert event.target_id == str(three.pk)
