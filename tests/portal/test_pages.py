"""Portal pages through Django's test client: who sees what, 404 for out-of-scope objects
(audited), login redirects, audit of reads, inert user data, login throttling.

Size: one world of actors and recordings for every page family; the per-feature pages
(exports, compliance, prompts, stop) have their own modules.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.calls.models import Decision
from apps.facilities.models import FacilityUserObjectPermission
from apps.inmates.models import InmateUserObjectPermission
from tests.actors import actor, staff_member
from tests.factories import CallFactory, ExemptNumberFactory, InmateFactory, UserFactory
from tests.portal.conftest import World, logged_in

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script>'


def _without_csrf(body: bytes) -> bytes:
    """Two renders differ only in the (per-response masked) CSRF token."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", body)


def _denied(user: Any, attempted: str) -> bool:
    return AuditEvent.objects.filter(
        action="access.denied", actor=user, details__attempted=attempted
    ).exists()


@pytest.mark.parametrize(
    "path",
    ["/", "/inmates/", "/inmates/1/", "/calls/", "/recordings/1/", "/grants/", "/grants/new/", "/staff/"],
)
def test_anonymous_is_sent_to_login(client: Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 302
    assert r["Location"].startswith(f"/login/?next={path}")


def test_login_page_renders_with_csrf(client: Client) -> None:
    r = client.get("/login/")
    assert r.status_code == 200
    assert b"csrfmiddlewaretoken" in r.content


def test_a_user_logs_in_and_out(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = page.cookies["csrftoken"].value
    r = client.post(
        "/login/",
        {"username": "investigator", "password": "a-long-test-password", "csrfmiddlewaretoken": token},
    )
    assert r.status_code == 302 and r["Location"] == "/"
    assert AuditEvent.objects.filter(action="auth.login", actor=world.investigator).exists()
    assert client.get("/logout/").status_code == 405
    r = client.post("/logout/", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert r.status_code == 302
    assert client.get("/").status_code == 302


def test_a_post_without_csrf_token_is_refused(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.admin)
    r = client.post(f"/grants/{world.grant.pk}/revoke/")
    assert r.status_code == 403
    assert InmateUserObjectPermission.objects.filter(pk=world.grant.pk).exists()


def test_the_fifth_failed_login_locks_out_with_a_clear_page(world: World, client: Client) -> None:
    for _ in range(4):
        r = client.post("/login/", {"username": "investigator", "password": "wrong-password-123"})
        assert r.status_code == 200
        assert b"did not match" in r.content
    r = client.post("/login/", {"username": "investigator", "password": "wrong-password-123"})
    assert r.status_code == 429
    # Even the right password is refused while locked out.
    r = client.post("/login/", {"username": "investigator", "password": "a-long-test-password"})
    assert r.status_code == 429
    assert b"Too many failed logins" in r.content
    assert "_auth_user_id" not in client.session


# --- dashboard and navigation ------------------------------------------------------------------


def test_the_dashboard_counts_todays_calls(world: World) -> None:
    r = logged_in(world.admin).get("/")
    assert r.status_code == 200
    stats = {s.facility.code: s for s in r.context["stats"]}
    assert set(stats) == {"home"}
    home = stats["home"]
    assert (home.calls_today, home.recorded, home.exempted, home.quarantined) == (3, 3, 0, 1)


def test_the_nav_shows_only_what_the_role_can_use(world: World) -> None:
    admin = logged_in(world.admin).get("/").content.decode()
    assert 'href="/staff/"' in admin and ">Grants<" in admin
    investigator = logged_in(world.investigator).get("/").content.decode()
    assert 'href="/staff/"' not in investigator and ">My grants<" in investigator
    auditor = logged_in(world.auditor).get("/").content.decode()
    assert 'href="/calls/"' not in auditor and 'href="/inmates/"' in auditor
    assert "do not see call data" in auditor


# --- inmates -----------------------------------------------------------------------------------


def test_the_inmate_list_shows_only_inmates_in_scope(world: World) -> None:
    r = logged_in(world.investigator).get("/inmates/")
    assert r.status_code == 200
    assert {i.booking_number for i in r.context["page"]} == {"G1", "U1"}


def test_the_inmate_search_finds_by_booking_number_and_name(world: World) -> None:
    client = logged_in(world.investigator)
    assert [i.booking_number for i in client.get("/inmates/?q=g1").context["page"]] == ["G1"]
    assert [i.booking_number for i in client.get("/inmates/?q=ungr").context["page"]] == ["U1"]


def test_the_inmate_list_is_paginated(world: World) -> None:
    for n in range(30):
        InmateFactory(facility=world.facility, booking_number=f"P{n:03d}")
    r = logged_in(world.investigator).get("/inmates/?page=2")
    assert r.context["page"].number == 2
    assert len(r.context["page"].object_list) == 32 - 25


def test_the_inmate_detail_is_audited(world: World) -> None:
    r = logged_in(world.investigator).get(f"/inmates/{world.granted_inmate.pk}/")
    assert r.status_code == 200
    assert AuditEvent.objects.filter(
        action="inmate.viewed", actor=world.investigator, target_id=str(world.granted_inmate.pk)
    ).exists()


def test_a_foreign_inmate_answers_404_and_is_audited(world: World) -> None:
    client = logged_in(world.investigator)
    foreign = client.get(f"/inmates/{world.foreign_inmate.pk}/")
    missing = client.get("/inmates/999999/")
    assert foreign.status_code == missing.status_code == 404
    assert _without_csrf(foreign.content) == _without_csrf(missing.content)
    assert _denied(world.investigator, "inmate.view")


def test_inmate_names_are_rendered_inert(world: World) -> None:
    evil = InmateFactory(facility=world.facility, booking_number="X1", first_name=XSS, last_name=XSS)
    client = logged_in(world.investigator)
    for path in ("/inmates/", f"/inmates/{evil.pk}/"):
        body = client.get(path).content.decode()
        assert XSS not in body
        assert "&lt;script&gt;" in body


# --- calls -------------------------------------------------------------------------------------


def test_the_call_search_is_scoped_and_audited(world: World) -> None:
    r = logged_in(world.investigator).get("/calls/")
    assert r.status_code == 200
    inmates = {row.call.inmate.booking_number for row in r.context["rows"]}
    assert inmates == {"G1", "U1"}
    assert AuditEvent.objects.filter(action="calls.searched", actor=world.investigator).exists()


def test_the_call_search_filters_by_inmate_number_and_date(world: World) -> None:
    client = logged_in(world.investigator)
    assert {r.call.inmate.booking_number for r in client.get("/calls/?inmate=U1").context["rows"]} == {"U1"}
    rows = client.get("/calls/", {"number": "(718) 555-0111"}).context["rows"]
    assert [r.call.pk for r in rows] == [world.granted.call_id]
    yesterday = (timezone.now() - timedelta(days=2)).date().isoformat()
    assert client.get(f"/calls/?date_to={yesterday}").context["rows"] == []


def test_an_unparseable_number_is_a_form_error(world: World) -> None:
    r = logged_in(world.investigator).get("/calls/", {"number": "not a number"})
    assert r.status_code == 200
    assert r.context["form"].errors["number"]
    assert r.context["rows"] == []


@pytest.fixture
def exempt_call(world: World) -> Any:
    exempt = ExemptNumberFactory(number="+12125550142")
    return CallFactory(
        inmate=world.granted_inmate,
        dialed_number=exempt.number,
        decision=Decision.EXEMPT,
        privileged=True,
        exempt_number=exempt,
        reason="verified_attorney_number",
    )


def test_a_privileged_call_is_masked_for_investigators(world: World, exempt_call: Any) -> None:
    client = logged_in(world.investigator)
    body = client.get("/calls/").content.decode()
    assert "+12125550142" not in body
    assert str(exempt_call.exempt_number.attorney) not in body
    assert "privileged" in body
    # Searching by the number must not reveal that the inmate called it.
    assert client.get("/calls/", {"number": "+12125550142"}).context["rows"] == []


def test_a_privileged_call_is_unmasked_for_privilege_officers(world: World, exempt_call: Any) -> None:
    body = logged_in(world.officer).get("/calls/").content.decode()
    assert "+12125550142" in body
    assert str(exempt_call.exempt_number.attorney) in body


# --- recordings --------------------------------------------------------------------------------


def test_the_recording_detail_shows_the_play_button_for_a_grant(world: World) -> None:
    r = logged_in(world.investigator).get(f"/recordings/{world.granted.pk}/")
    assert r.status_code == 200
    assert b'id="play"' in r.content
    assert AuditEvent.objects.filter(action="recording.viewed", actor=world.investigator).exists()


def test_play_issues_a_link_that_streams(world: World) -> None:
    client = logged_in(world.investigator)
    r = client.post(f"/recordings/{world.granted.pk}/play/", follow=True)
    assert r.redirect_chain == [(f"/recordings/{world.granted.pk}/play/", 302)]
    link = r.context["link"]
    assert link.url.startswith(f"/api/v1/recordings/{world.granted.pk}/stream/?t=")
    assert f'src="{link.url}"' in r.content.decode()
    stream = client.get(link.url, headers={"Range": "bytes=0-99"})
    assert stream.status_code == 206
    assert len(b"".join(stream.streaming_content)) == 100


def test_an_ungranted_recording_has_no_play_button_and_play_answers_404(world: World) -> None:
    client = logged_in(world.investigator)
    r = client.get(f"/recordings/{world.ungranted.pk}/")
    assert r.status_code == 200
    assert b'id="play"' not in r.content
    assert client.post(f"/recordings/{world.ungranted.pk}/play/").status_code == 404
    assert _denied(world.investigator, "recording.play")


def test_a_foreign_recording_answers_404_and_is_audited(world: World) -> None:
    client = logged_in(world.investigator)
    foreign = client.get(f"/recordings/{world.foreign.pk}/")
    missing = client.get("/recordings/999999/")
    assert foreign.status_code == missing.status_code == 404
    assert _without_csrf(foreign.content) == _without_csrf(missing.content)
    assert _denied(world.investigator, "recording.view")


def test_a_quarantined_recording_shows_its_state_and_no_player(world: World) -> None:
    r = logged_in(world.investigator).get(f"/recordings/{world.privileged.pk}/")
    body = r.content.decode()
    assert r.status_code == 200
    assert "Quarantined since" in body and 'id="play"' not in body
    assert "+12125550199" not in body


def test_a_play_page_without_a_pressed_play_issues_nothing_and_sends_to_the_button(world: World) -> None:
    r = logged_in(world.investigator).get(f"/recordings/{world.granted.pk}/play/")
    assert r.status_code == 302 and r["Location"] == f"/recordings/{world.granted.pk}/"
    assert not AuditEvent.objects.filter(action="recording.playback_link_issued").exists()


# --- grants ------------------------------------------------------------------------------------


def _grant_form(world: World, **overrides: Any) -> dict[str, Any]:
    data = {
        "facility": world.facility.pk,
        "booking_number": "U1",
        "investigator": world.investigator.pk,
        "case_reference": "CASE-42",
        "expires_on": (timezone.localdate() + timedelta(days=10)).isoformat(),
    }
    return {**data, **overrides}


def test_an_admin_creates_a_grant(world: World) -> None:
    client = logged_in(world.admin)
    assert client.get("/grants/new/").status_code == 200
    r = client.post("/grants/new/", _grant_form(world), follow=True)
    assert r.status_code == 200
    assert b"Access granted to investigator" in r.content
    grant = InmateUserObjectPermission.objects.get(content_object=world.ungranted_inmate)
    assert grant.case_reference == "CASE-42" and grant.granted_by == world.admin
    assert AuditEvent.objects.filter(action="grant.created", actor=world.admin).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"booking_number": "F1"}, "booking_number"),
        ({"case_reference": "   "}, "case_reference"),
        ({"expires_on": "2001-01-01"}, "expires_on"),
        ({"expires_on": "2999-01-01"}, "expires_on"),
        ({"facility": 999999}, "facility"),
    ],
)
def test_an_invalid_grant_shows_a_clear_error(world: World, overrides: dict[str, Any], field: str) -> None:
    r = logged_in(world.admin).post("/grants/new/", _grant_form(world, **overrides))
    assert r.status_code == 200
    assert r.context["form"].errors[field]
    assert not InmateUserObjectPermission.objects.filter(content_object=world.ungranted_inmate).exists()


def test_an_admin_cannot_grant_themselves(world: World) -> None:
    r = logged_in(world.admin).post("/grants/new/", _grant_form(world, investigator=world.admin.pk))
    assert r.context["form"].errors["investigator"]


def test_an_investigator_cannot_create_grants(world: World) -> None:
    client = logged_in(world.investigator)
    assert client.get("/grants/new/").status_code == 404
    assert client.post("/grants/new/", _grant_form(world)).status_code == 404


def test_case_references_are_rendered_inert(world: World) -> None:
    InmateUserObjectPermission.objects.filter(pk=world.grant.pk).update(case_reference=XSS)
    for client in (logged_in(world.admin), logged_in(world.investigator)):
        body = client.get("/grants/").content.decode()
        assert XSS not in body and "&lt;script&gt;" in body


def test_the_grant_list_filters_by_investigator(world: World) -> None:
    client = logged_in(world.admin)
    assert len(client.get("/grants/?investigator=investigator").context["page"].object_list) == 1
    assert len(client.get("/grants/?investigator=nobody").context["page"].object_list) == 0


def test_an_investigator_sees_only_their_own_grants(world: World) -> None:
    other = actor("other-investigator", "investigator").user
    r = logged_in(other).get("/grants/")
    assert list(r.context["page"].object_list) == []


def test_an_admin_revokes_a_grant(world: World) -> None:
    client = logged_in(world.admin)
    assert client.get(f"/grants/{world.grant.pk}/revoke/").status_code == 200
    r = client.post(f"/grants/{world.grant.pk}/revoke/", {"confirm": "1"}, follow=True)
    assert b"Revoked the access of investigator" in r.content
    assert not InmateUserObjectPermission.objects.filter(pk=world.grant.pk).exists()
    assert AuditEvent.objects.filter(action="grant.revoked", actor=world.admin).exists()


def test_an_investigator_cannot_revoke_and_is_audited(world: World) -> None:
    r = logged_in(world.investigator).post(f"/grants/{world.grant.pk}/revoke/")
    assert r.status_code == 404
    assert InmateUserObjectPermission.objects.filter(pk=world.grant.pk).exists()
    assert _denied(world.investigator, "grant.revoke")


# --- staff -------------------------------------------------------------------------------------


def test_the_staff_list_shows_members_of_managed_facilities(world: World) -> None:
    staff_member(
        "stranger-admin", "facility_admin", world.other_facility, perms=["view_facility", "manage_facility"]
    )
    r = logged_in(world.admin).get("/staff/")
    assert r.status_code == 200
    names = {m.username for m in r.context["members"]}
    assert names == {"admin", "investigator", "officer", "auditor"}
    roles = {m.username: m.role for m in r.context["members"]}
    # Named by the member's role group where the permissions fit two roles (issue 15, item 15).
    assert roles["investigator"] == "Investigator" and roles["officer"] == "Privilege officer"
    assert roles["auditor"] == "Auditor"
    page = r.content.decode()
    assert "view_facility" not in page and "searches calls" in page  # what they can do, in words


def test_only_facility_admins_reach_the_staff_page(world: World) -> None:
    assert logged_in(world.investigator).get("/staff/").status_code == 404


def test_an_admin_assigns_a_user_with_a_role(world: World) -> None:
    newcomer = UserFactory(username="newcomer")
    r = logged_in(world.admin).post(
        "/staff/",
        {"username": "newcomer", "facility": world.facility.pk, "role": "investigator"},
        follow=True,
    )
    assert b"newcomer is now Investigator" in r.content
    perms = set(
        FacilityUserObjectPermission.objects.filter(user=newcomer, content_object=world.facility).values_list(
            "permission__codename", flat=True
        )
    )
    assert perms == {"view_facility", "view_facility_calls"}
    assert AuditEvent.objects.filter(action="staff.assigned", actor=world.admin).exists()


def test_an_admin_cannot_assign_themselves_or_outside_their_facilities(world: World) -> None:
    client = logged_in(world.admin)
    r = client.post("/staff/", {"username": "admin", "facility": world.facility.pk, "role": "facility_admin"})
    assert r.context["form"].errors["username"]
    UserFactory(username="newcomer")
    r = client.post(
        "/staff/", {"username": "newcomer", "facility": world.other_facility.pk, "role": "investigator"}
    )
    assert r.context["form"].errors["facility"]
    assert not FacilityUserObjectPermission.objects.filter(user__username="newcomer").exists()


def test_removing_an_investigator_revokes_their_grants_there(world: World) -> None:
    r = logged_in(world.admin).post(
        "/staff/remove/",
        {"facility": world.facility.pk, "user": world.investigator.pk, "confirm": "1"},
        follow=True,
    )
    assert b"Removed investigator from Home Facility and revoked 1 grant" in r.content
    assert not FacilityUserObjectPermission.objects.filter(user=world.investigator).exists()
    assert not InmateUserObjectPermission.objects.filter(user=world.investigator).exists()
    assert AuditEvent.objects.filter(action="staff.removed", actor=world.admin).exists()


def test_removing_from_a_foreign_facility_answers_404(world: World) -> None:
    r = logged_in(world.admin).post(
        "/staff/remove/", {"facility": world.other_facility.pk, "user": world.investigator.pk}
    )
    assert r.status_code == 404
    assert _denied(world.admin, "staff.remove")


def test_call_rows_count_against_the_quota(world: World, settings: Any) -> None:
    settings.ACCESS_QUOTAS = {**settings.ACCESS_QUOTAS, "call_rows": [(3600, 3)]}
    client = logged_in(world.investigator)
    assert client.get("/calls/").status_code == 200  # 3 rows: exactly the quota
    r = client.get("/calls/")
    assert r.status_code == 429
    assert r.context["rows"] == []
    assert b"quota" in r.content
    assert AuditEvent.objects.filter(action="quota.exceeded", actor=world.investigator).exists()


def test_who_cannot_play_is_told_how_to_get_access(world: World) -> None:
    """Issue 15, demo trap 3: the administrator is told how to grant, the investigator whom to ask."""
    admin_page = logged_in(world.admin).get(f"/recordings/{world.ungranted.pk}/")
    assert b"grant them inmate U1 for a case" in admin_page.content
    assert b"/grants/new/" in admin_page.content
    investigator_page = logged_in(world.investigator).get(f"/recordings/{world.ungranted.pk}/")
    assert b"Ask an administrator of" in investigator_page.content
    assert world.admin.username.encode() in investigator_page.content
