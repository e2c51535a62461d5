"""Issue 15, item 12 (staff portal): removing staff and revoking a grant ask first and say
what will happen; only the confirmation's own POST (``confirm=1``, CSRF) acts."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.facilities.models import FacilityUserObjectPermission
from apps.inmates.models import InmateUserObjectPermission
from tests.portal.conftest import World, logged_in

pytestmark = pytest.mark.django_db


def test_removing_staff_says_what_they_lose_and_acts_only_when_confirmed(world: World) -> None:
    client = logged_in(world.admin)
    body = {"facility": world.facility.pk, "user": world.investigator.pk}
    page = client.post("/staff/remove/", body).content.decode()
    assert "Remove investigator from Home Facility?" in page
    assert "case grants on its inmates are revoked" in page and "shredded" in page
    assert f'name="user" value="{world.investigator.pk}"' in page
    assert FacilityUserObjectPermission.objects.filter(user=world.investigator).exists()
    client.post("/staff/remove/", {**body, "confirm": "1"})
    assert not FacilityUserObjectPermission.objects.filter(user=world.investigator).exists()


def test_revoking_a_grant_by_a_bare_post_shows_the_confirmation(world: World) -> None:
    client = logged_in(world.admin)
    page = client.post(f"/grants/{world.grant.pk}/revoke/").content.decode()
    assert "Revoke access?" in page and "Playback links already issued stop working" in page
    assert InmateUserObjectPermission.objects.filter(pk=world.grant.pk).exists()
    client.post(f"/grants/{world.grant.pk}/revoke/", {"confirm": "1"})
    assert not InmateUserObjectPermission.objects.filter(pk=world.grant.pk).exists()


def test_the_confirmed_act_still_needs_the_csrf_token(world: World) -> None:
    client = Client(enforce_csrf_checks=True, headers={"Sec-Fetch-Site": "same-origin"})
    client.force_login(world.admin)
    body = {"facility": world.facility.pk, "user": world.investigator.pk, "confirm": "1"}
    assert client.post("/staff/remove/", body).status_code == 403
    assert FacilityUserObjectPermission.objects.filter(user=world.investigator).exists()
