"""Issue 15, item 10: staff accounts without the Django admin. An admin invites a new member
by e-mail (an audited service creates the account with its role); staff change their own
password."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from apps.audit.models import AuditEvent
from apps.facilities.models import FacilityUserObjectPermission
from tests.actors import PASSWORD
from tests.portal.conftest import World, logged_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager")]
NEW_PASSWORD = "a-brand-new-passphrase-9"


def _signs_in(username: str, password: str) -> bool:
    return Client().post("/login/", {"username": username, "password": password}).status_code == 302


def _invite(client: Client, world: World, **overrides: Any) -> Any:
    body = {
        "invite-username": "newbie",
        "invite-email": "newbie@example.org",
        "invite-facility": world.facility.pk,
        "invite-role": "investigator",
        **overrides,
    }
    return client.post("/staff/invite/", body, follow=True)


def test_an_admin_invites_a_new_investigator_who_chooses_a_password(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(logged_in(world.admin), world)
    assert "Invited newbie as Investigator at Home Facility" in response.content.decode()
    newbie = User.objects.get(username="newbie")
    assert newbie.groups.filter(name="investigator").exists()
    codenames = set(
        FacilityUserObjectPermission.objects.filter(user=newbie).values_list(
            "permission__codename", flat=True
        )
    )
    assert codenames == {"view_facility", "view_facility_calls"}
    event = AuditEvent.objects.get(action="staff.invited")
    assert event.actor == world.admin and event.details["role"] == "investigator"
    assert "newbie@example.org" not in str(event.details)  # the address only masked in the trail
    assert AuditEvent.objects.filter(action="staff.assigned", target_id=str(newbie.pk)).exists()

    (message,) = mail.outbox
    assert message.to == ["newbie@example.org"] and "Home Facility" in message.body
    link = re.search(r"https?://[^/\s]+(/password-reset/\S+)", message.body)
    assert link
    client = Client()
    form = client.get(link.group(1), follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert _signs_in("newbie", NEW_PASSWORD)


def test_an_invitation_refuses_a_taken_username_and_says_so(world: World) -> None:
    response = _invite(logged_in(world.admin), world, **{"invite-username": "investigator"})
    assert response.status_code == 400
    assert "That username is taken" in response.content.decode()
    assert not AuditEvent.objects.filter(action="staff.invited").exists()


def test_only_a_manager_of_the_facility_invites(world: World) -> None:
    assert _invite(logged_in(world.investigator), world).status_code == 404
    foreign = _invite(logged_in(world.admin), world, **{"invite-facility": world.other_facility.pk})
    assert foreign.status_code == 400  # not a facility they may choose
    assert not User.objects.filter(username="newbie").exists()


def test_staff_change_their_own_password_and_it_is_audited(world: World) -> None:
    client = logged_in(world.investigator)
    page = client.get("/account/password/").content.decode()
    assert "at least 12 characters" in page  # the rules, before the first attempt
    response = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Your password is changed." in response.content.decode()
    assert _signs_in("investigator", NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="password.changed", actor=world.investigator).exists()


def test_a_wrong_current_password_changes_nothing(world: World) -> None:
    client = logged_in(world.investigator)
    response = client.post(
        "/account/password/",
        {"old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert _signs_in("investigator", PASSWORD)
    assert not AuditEvent.objects.filter(action="password.changed").exists()
