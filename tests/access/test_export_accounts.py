"""Attacks around the accounts behind exports (issue 9, Low: re-suspension, username enumeration).

Each test failed on the code before the fix.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from apps.access.anomaly import analyse_new_events
from apps.access.models import Suspension
from apps.access.suspensions import suspension_lift
from apps.audit.models import AuditEvent
from apps.facilities.models import Facility
from apps.inmates.models import Inmate
from tests.actors import Actor, actor, staff_member
from tests.factories import CallFactory, InmateFactory, UserFactory

pytestmark = pytest.mark.django_db


# --- Re-suspension: a lifted suspension must not come back on the next act ---------------------


def test_a_lifted_suspension_does_not_come_back_on_the_next_act(
    facility: Facility, other_facility: Facility, store_recording: Any, settings: Any
) -> None:
    settings.ANOMALY_RULES = {**settings.ANOMALY_RULES, "denied_probes": {"window": 600, "threshold": 3}}
    who = staff_member("rs-investigator", "investigator", facility)
    boss = actor("rs-admin", "facility_admin")
    boss.user.user_permissions.add(Permission.objects.get(codename="lift_suspension"))
    foreign = store_recording(CallFactory(inmate=InmateFactory(facility=other_facility)))
    for _ in range(3):
        assert who.client.post(f"/api/v1/recordings/{foreign.pk}/playback/").status_code == 404
    assert [h.rule for h in analyse_new_events()] == ["denied_probes"]
    suspension = Suspension.objects.get(user=who.user)
    suspension_lift(suspension=suspension, lifted_by=boss.user, reason="mistyped ids, checked with them")

    # One more honest mistake after the lift: far below the threshold on its own.
    assert who.client.post(f"/api/v1/recordings/{foreign.pk}/playback/").status_code == 404
    assert analyse_new_events() == []
    who.user.refresh_from_db()
    assert who.user.is_active

    # The rule still works after a lift: a new burst counts from the lift on.
    for _ in range(2):
        who.client.post(f"/api/v1/recordings/{foreign.pk}/playback/")
    assert [h.rule for h in analyse_new_events()] == ["denied_probes"]


# --- Username enumeration: grant creation answers alike for every username it will not take ---


@pytest.fixture
def granting(facility: Facility, other_facility: Facility) -> dict[str, Any]:
    admin = staff_member(
        "en-admin",
        "facility_admin",
        facility,
        perms=["view_facility", "manage_facility", "view_facility_calls"],
    )
    suspended = staff_member("en-suspended", "investigator", facility, perms=["view_facility_calls"])
    suspended.user.is_active = False
    suspended.user.save(update_fields=["is_active"])
    UserFactory(username="en-outsider")  # exists, on nobody's staff
    staff_member("en-elsewhere", "investigator", other_facility, perms=["view_facility_calls"])
    good = staff_member("en-good", "investigator", facility, perms=["view_facility_calls"])
    inmate = InmateFactory(facility=facility, booking_number="EN1")
    return {"admin": admin, "inmate": inmate, "good": good}


NOT_GRANTABLE = ["en-nobody", "en-suspended", "en-outsider", "en-elsewhere"]


def _api_grant(admin: Actor, inmate: Inmate, username: str) -> Any:
    return admin.client.post(
        "/api/v1/grants/",
        {
            "investigator": username,
            "inmate": inmate.pk,
            "case_reference": "EN-1",
            "expires_at": (timezone.now() + timedelta(days=3)).isoformat(),
        },
        format="json",
    )


def test_the_grant_api_answers_alike_for_unknown_suspended_and_foreign_usernames(
    granting: dict[str, Any],
) -> None:
    answers = [_api_grant(granting["admin"], granting["inmate"], name) for name in NOT_GRANTABLE]
    assert {r.status_code for r in answers} == {400}
    bodies = [r.json() for r in answers]
    assert all(body == bodies[0] for body in bodies), bodies
    assert bodies[0]["reason"] == "investigator_not_assigned"
    assert AuditEvent.objects.filter(action="grant.refused", outcome="denied").count() == len(NOT_GRANTABLE)
    assert _api_grant(granting["admin"], granting["inmate"], "en-good").status_code == 201


def test_the_grant_form_answers_alike_for_every_user_it_will_not_take(
    granting: dict[str, Any], facility: Facility
) -> None:
    """The form offers only grantable staff; a forged choice (any user id) gets one answer."""
    from django.contrib.auth.models import User

    client = Client()
    client.force_login(granting["admin"].user)
    page = client.get("/grants/new/").content.decode()
    assert "en-good" in page and not any(name in page for name in NOT_GRANTABLE)
    ids = [User.objects.get(username=name).pk for name in NOT_GRANTABLE[1:]] + [999_999]
    errors = []
    for pk in ids:
        r = client.post(
            "/grants/new/",
            {
                "facility": facility.pk,
                "booking_number": "EN1",
                "investigator": pk,
                "case_reference": "EN-1",
                "expires_on": (timezone.localdate() + timedelta(days=10)).isoformat(),
            },
        )
        assert r.status_code == 200
        errors.append(r.context["form"].errors.get_json_data())
    assert all(e == errors[0] for e in errors), errors
