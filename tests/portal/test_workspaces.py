"""Issue 15, item 8: the two portals link to each other by role. Whoever signs in at the staff
portal's address lands on their own workspace, never on "ask a facility administrator"."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.roles import PRIVILEGE_OFFICER
from apps.registry.models import Attorney
from tests.actors import PASSWORD, Cast, actor, registry_clerk
from tests.portal.conftest import logged_in

pytestmark = pytest.mark.django_db

NOBODY_YET = "Ask a facility administrator to add you"


def _sign_in(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    return client


def test_a_registry_clerk_signing_in_lands_on_the_clerk_queue() -> None:
    registry_clerk("clerk")
    response = _sign_in("clerk").get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/attorney/clerk/"
    assert NOBODY_YET not in response.content.decode()


def test_an_attorney_signing_in_at_the_staff_portal_lands_on_their_numbers(attorney: Attorney) -> None:
    response = _sign_in(attorney.user.username).get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/attorney/"


def test_a_privilege_officer_of_no_facility_lands_on_the_review_queue() -> None:
    actor("po", PRIVILEGE_OFFICER)
    response = _sign_in("po").get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/attorney/review/"


def test_staff_of_a_facility_keep_their_dashboard_and_see_their_queues_in_the_menu(cast: Cast) -> None:
    officer = logged_in(cast.officer.user).get("/")
    assert officer.status_code == 200
    assert 'href="/attorney/review/"' in officer.content.decode()
    assert 'href="/attorney/clerk/"' not in officer.content.decode()
    admin = logged_in(cast.admin.user).get("/").content.decode()
    assert 'href="/attorney/review/"' not in admin and 'href="/attorney/clerk/"' not in admin


def test_a_clerk_queue_link_is_in_the_menu_of_staff_who_are_also_clerks(cast: Cast) -> None:
    from apps.accounts.roles import ensure_role_groups

    cast.investigator.user.groups.add(ensure_role_groups()["registry_clerk"])
    page = logged_in(cast.investigator.user).get("/").content.decode()
    assert 'href="/attorney/clerk/"' in page


def test_the_officer_finds_the_way_back_to_the_facility_portal(cast: Cast) -> None:
    page = logged_in(cast.officer.user).get("/attorney/review/").content.decode()
    assert 'href="/">Facility portal</a>' in page


def test_someone_with_no_role_anywhere_is_still_told_whom_to_ask() -> None:
    actor("nobody")
    page = _sign_in("nobody").get("/").content.decode()
    assert "Ask a facility administrator to add you" in page
