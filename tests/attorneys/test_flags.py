"""Attacks on privilege flags, inmate claims and quarantine (issue 9 High 2 and Low "Unmasked
quarantines"; issue 13 High 1 and High 8). Each test is the attack; it failed before the fix."""

from __future__ import annotations

import zoneinfo
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.test import Client

from apps.access.anomaly import analyse_new_events
from apps.facilities.models import Facility
from apps.inmates.models import Inmate
from apps.recordings.models import Recording
from apps.registry.claims import claim_reject, claim_report, claim_verify
from apps.registry.models import Attorney, ExemptNumber, PrivilegeFlag
from apps.registry.services import exempt_number_register, exempt_number_revoke
from tests.actors import Actor, actor, grant_facility, staff_member
from tests.conftest import Switch
from tests.factories import CallFactory, InmateFactory

pytestmark = pytest.mark.django_db
NUMBER = "+12125550181"


def _web(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _local_date(recording: Recording, facility: Facility) -> date:
    return recording.call.started_at.astimezone(zoneinfo.ZoneInfo(facility.timezone)).date()


def _flag_form(facility: Facility, booking: str, day: date, number: str = NUMBER) -> dict[str, str]:
    return {
        "call_date": day.isoformat(),
        "facility": facility.code,
        "booking_number": booking,
        "number": number,
    }


def _flag_the_call(attorney: Attorney, recording: Recording) -> None:
    """The attorney flags exactly this recording's call through the portal form."""
    facility = recording.facility
    form = _flag_form(facility, recording.inmate.booking_number, _local_date(recording, facility))
    _web(attorney.user).post("/attorney/flag/", form)


@pytest.fixture
def officers(facility: Facility) -> tuple[Actor, Actor]:
    pair = actor("sec-officer-1", "privilege_officer"), actor("sec-officer-2", "privilege_officer")
    for who in pair:
        grant_facility(who.user, facility, "view_facility", "view_facility_calls")
    return pair


@pytest.fixture
def investigator(facility: Facility) -> Actor:
    who = staff_member(
        "sec-investigator",
        "investigator",
        facility,
        perms=["view_facility", "view_facility_calls", "play_facility_recordings"],
    )
    return who


@pytest.fixture
def pending_number(attorney: Attorney) -> ExemptNumber:
    return exempt_number_register(attorney=attorney, number=NUMBER, actor=attorney.user)


def _two_officer(recording: Recording, officers: tuple[Actor, Actor], action: str) -> None:
    from apps.recordings.review import review_confirm, review_propose

    decision = review_propose(recording=recording, officer=officers[0].user, action=action, reason="review")
    review_confirm(decision_id=decision.pk, officer=officers[1].user)


# --- issue 9 High 2: the flag form --------------------------------------------------------------


def test_the_flag_answer_is_the_same_whether_or_not_a_call_matched(
    attorney: Attorney, pending_number: ExemptNumber, facility: Facility, inmate: Inmate, store_recording: Any
) -> None:
    recording = store_recording(CallFactory(inmate=inmate, dialed_number=NUMBER))
    day = _local_date(recording, facility)
    web = _web(attorney.user)
    hit = web.post("/attorney/flag/", _flag_form(facility, inmate.booking_number, day), follow=True)
    miss = web.post("/attorney/flag/", _flag_form(facility, "NOBODY", day), follow=True)
    assert hit.status_code == miss.status_code == 200
    said = [[str(m) for m in r.context["messages"]] for r in (hit, miss)]
    assert said[0] == said[1] and said[0], said
    listed = [r.content.decode() for r in (hit, miss)]
    assert "quarantined" not in listed[1] and "1 matching" not in listed[0]


def test_a_flag_on_a_pending_number_changes_nothing_until_an_officer_decides(
    attorney: Attorney,
    pending_number: ExemptNumber,
    facility: Facility,
    inmate: Inmate,
    store_recording: Any,
    investigator: Actor,
    officers: tuple[Actor, Actor],
) -> None:
    recording = store_recording(CallFactory(inmate=inmate, dialed_number=NUMBER))
    _flag_the_call(attorney, recording)
    recording.refresh_from_db()
    assert recording.state == "stored"
    assert investigator.client.post(f"/api/v1/recordings/{recording.pk}/playback/").status_code == 200
    flag = PrivilegeFlag.objects.get()
    queue = _web(officers[0].user).get("/attorney/review/")
    assert f"flag-{flag.pk}" in queue.content.decode()
    accepted = _web(officers[0].user).post(f"/attorney/review/flags/{flag.pk}/accept/")
    assert accepted.status_code == 302
    recording.refresh_from_db()
    assert recording.state == "quarantined"


def test_an_officer_can_decline_a_flag_request_and_nothing_changes(
    attorney: Attorney,
    pending_number: ExemptNumber,
    facility: Facility,
    inmate: Inmate,
    store_recording: Any,
    officers: tuple[Actor, Actor],
) -> None:
    recording = store_recording(CallFactory(inmate=inmate, dialed_number=NUMBER))
    _flag_the_call(attorney, recording)
    flag = PrivilegeFlag.objects.get()
    response = _web(officers[0].user).post(
        f"/attorney/review/flags/{flag.pk}/decline/", {"reason": "not a call"}
    )
    assert response.status_code == 302
    flag.refresh_from_db()
    recording.refresh_from_db()
    assert flag.status == "declined" and recording.state == "stored"


def test_flags_are_rate_limited_per_attorney(
    attorney: Attorney, pending_number: ExemptNumber, facility: Facility, settings: Any
) -> None:
    settings.PRIVILEGE_FLAG_LIMIT = {"window": 3600, "limit": 3}
    web = _web(attorney.user)
    for n in range(3):
        assert web.post("/attorney/flag/", _flag_form(facility, f"B{n}", date(2026, 1, 5))).status_code == 302
    over = web.post("/attorney/flag/", _flag_form(facility, "B9", date(2026, 1, 5)))
    assert over.status_code == 429
    assert "flag_rate_limited" in over.content.decode() or "Too many flags" in over.content.decode()
    assert PrivilegeFlag.objects.count() == 3


def test_a_burst_of_flags_suspends_the_attorney(
    attorney: Attorney, pending_number: ExemptNumber, facility: Facility, settings: Any
) -> None:
    settings.PRIVILEGE_FLAG_LIMIT = {"window": 3600, "limit": 100}
    settings.ANOMALY_RULES = {**settings.ANOMALY_RULES, "flag_burst": {"window": 3600, "threshold": 4}}
    web = _web(attorney.user)
    for n in range(4):
        web.post("/attorney/flag/", _flag_form(facility, f"B{n}", date(2026, 1, 5)))
    hits = analyse_new_events()
    assert [h.rule for h in hits] == ["flag_burst"]
    attorney.user.refresh_from_db()
    assert attorney.user.is_active is False


def test_revoking_a_number_withdraws_its_pending_flags(
    attorney: Attorney,
    pending_number: ExemptNumber,
    facility: Facility,
    inmate: Inmate,
    store_recording: Any,
    officers: tuple[Actor, Actor],
) -> None:
    recording = store_recording(CallFactory(inmate=inmate, dialed_number=NUMBER))
    _flag_the_call(attorney, recording)
    exempt_number_revoke(exempt_number_id=pending_number.pk, actor=attorney.user)
    flag = PrivilegeFlag.objects.get()
    assert flag.status == "withdrawn"
    recording.refresh_from_db()
    assert recording.state == "stored"
    assert f"flag-{flag.pk}" not in _web(officers[0].user).get("/attorney/review/").content.decode()


# --- issue 13 High 1: a rejected claim must not release a flagged call ---------------------------


def test_a_rejected_claim_does_not_release_a_call_the_attorney_flagged(
    attorney: Attorney,
    pending_number: ExemptNumber,
    switch: Switch,
    inmate: Inmate,
    store_recording: Any,
    clerk: User,
    officers: tuple[Actor, Actor],
    investigator: Actor,
) -> None:
    claim, _ = claim_report(
        facility=switch.facility, booking_number=inmate.booking_number, number=NUMBER, actor=switch.user
    )
    recording = store_recording(CallFactory(inmate=inmate, dialed_number=NUMBER))
    assert recording.state == "quarantined"
    _flag_the_call(attorney, recording)
    flag = PrivilegeFlag.objects.get()
    _web(officers[0].user).post(f"/attorney/review/flags/{flag.pk}/accept/")
    claim_reject(claim_id=claim.pk, clerk=clerk, reason="not an attorney line")
    recording.refresh_from_db()
    assert recording.state == "quarantined"
    assert investigator.client.post(f"/api/v1/recordings/{recording.pk}/playback/").status_code == 404
    _two_officer(recording, officers, "release")  # the flag's own decision, by two officers
    recording.refresh_from_db()
    assert recording.state == "stored"


def test_the_database_refuses_to_release_a_recording_while_a_reason_holds_it(
    switch: Switch, inmate: Inmate, store_recording: Any
) -> None:
    claim_report(
        facility=switch.facility, booking_number=inmate.booking_number, number=NUMBER, actor=switch.user
    )
    recording = store_recording(CallFactory(inmate=inmate, dialed_number=NUMBER))
    with pytest.raises(IntegrityError), transaction.atomic():
        Recording.objects.filter(pk=recording.pk).update(state="stored", quarantined_at=None)


# --- issue 13 High 8: claims --------------------------------------------------------------------


def test_verifying_a_claim_purges_nothing_without_two_officers(
    switch: Switch, inmate: Inmate, store_recording: Any, clerk: User, officers: tuple[Actor, Actor]
) -> None:
    claim, _ = claim_report(
        facility=switch.facility, booking_number=inmate.booking_number, number=NUMBER, actor=switch.user
    )
    recording = store_recording(CallFactory(inmate=inmate, dialed_number=NUMBER))
    claim_verify(claim_id=claim.pk, clerk=clerk)
    recording.refresh_from_db()
    assert recording.state == "quarantined" and recording.wrapped_key is not None
    assert f"rec-{recording.pk}" in _web(officers[0].user).get("/attorney/review/").content.decode()
    _two_officer(recording, officers, "purge")
    recording.refresh_from_db()
    assert recording.state == "purged"


def test_claims_are_rate_limited_per_facility(switch: Switch, facility: Facility, settings: Any) -> None:
    settings.INMATE_CLAIM_LIMITS = {
        "facility": {"window": 3600, "limit": 2},
        "inmate": {"window": 3600, "limit": 9},
    }
    for n in range(3):
        InmateFactory(facility=facility, booking_number=f"R{n}")
    answers = [
        switch.client.post(
            "/api/v1/registry/claims/", {"inmate": f"R{n}", "number": f"+1212555030{n}"}, format="json"
        )
        for n in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2].json()["reason"] == "claim_rate_limited" and answers[2].json()["scope"] == "facility"


def test_claims_are_rate_limited_per_inmate(switch: Switch, inmate: Inmate, settings: Any) -> None:
    settings.INMATE_CLAIM_LIMITS = {
        "facility": {"window": 3600, "limit": 9},
        "inmate": {"window": 3600, "limit": 2},
    }
    answers = [
        switch.client.post(
            "/api/v1/registry/claims/",
            {"inmate": inmate.booking_number, "number": f"+1212555040{n}"},
            format="json",
        )
        for n in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2].json()["reason"] == "claim_rate_limited" and answers[2].json()["scope"] == "inmate"


def test_a_burst_of_claims_is_an_anomaly(switch: Switch, facility: Facility, settings: Any) -> None:
    settings.INMATE_CLAIM_LIMITS = {
        "facility": {"window": 3600, "limit": 99},
        "inmate": {"window": 3600, "limit": 9},
    }
    settings.ANOMALY_RULES = {**settings.ANOMALY_RULES, "claim_burst": {"window": 600, "threshold": 3}}
    for n in range(3):
        InmateFactory(facility=facility, booking_number=f"S{n}")
        switch.client.post(
            "/api/v1/registry/claims/", {"inmate": f"S{n}", "number": f"+1212555050{n}"}, format="json"
        )
    assert [h.rule for h in analyse_new_events()] == ["claim_burst"]


# --- issue 9 Low: unmasked quarantines ----------------------------------------------------------


def test_a_recording_quarantined_by_a_pending_claim_masks_its_number(
    switch: Switch, inmate: Inmate, store_recording: Any, investigator: Actor, officers: tuple[Actor, Actor]
) -> None:
    claim_report(
        facility=switch.facility, booking_number=inmate.booking_number, number=NUMBER, actor=switch.user
    )
    recording = store_recording(CallFactory(inmate=inmate, dialed_number=NUMBER))
    detail = investigator.client.get(f"/api/v1/recordings/{recording.pk}/").json()
    assert detail["call"]["dialed_number"] is None
    calls = investigator.client.get("/api/v1/calls/").json()["results"]
    assert [c["dialed_number"] for c in calls] == [None]
    assert investigator.client.get("/api/v1/calls/", {"number": NUMBER}).json()["results"] == []
    page = _web(investigator.user).get(f"/recordings/{recording.pk}/").content.decode()
    assert "555-0181" not in page and "5550181" not in page
    assert (
        officers[0].client.get(f"/api/v1/recordings/{recording.pk}/").json()["call"]["dialed_number"]
        == NUMBER
    )


def test_a_recording_quarantined_by_a_flag_masks_its_number(
    attorney: Attorney,
    pending_number: ExemptNumber,
    facility: Facility,
    inmate: Inmate,
    store_recording: Any,
    investigator: Actor,
    officers: tuple[Actor, Actor],
) -> None:
    recording = store_recording(CallFactory(inmate=inmate, dialed_number=NUMBER))
    _flag_the_call(attorney, recording)
    flag = PrivilegeFlag.objects.get()
    _web(officers[0].user).post(f"/attorney/review/flags/{flag.pk}/accept/")
    recording.refresh_from_db()
    assert recording.state == "quarantined"
    detail = investigator.client.get(f"/api/v1/recordings/{recording.pk}/").json()
    assert detail["call"]["dialed_number"] is None
    listed = investigator.client.get("/api/v1/recordings/").json()["results"]
    assert [r["call"]["dialed_number"] for r in listed] == [None]
    download = investigator.client.get("/api/v1/calls/download/", {"file_format": "json"}).json()
    assert [r["dialed_number"] for r in download["results"]] == [None]
