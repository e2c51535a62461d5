"""The player's "This sounds privileged - stop" button (issue 11, section 5) in the portal."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.audit.models import AuditEvent
from apps.recordings.models import StopPress
from tests.portal.conftest import World, logged_in

pytestmark = pytest.mark.django_db


def _player(client: Client, world: World) -> str:
    r = client.post(f"/recordings/{world.granted.pk}/play/", follow=True)
    assert r.status_code == 200
    return str(r.content.decode())


def test_the_player_shows_the_stop_button_as_a_confirmed_csrf_form(world: World) -> None:
    body = _player(logged_in(world.investigator), world)
    assert f'action="/recordings/{world.granted.pk}/stop/"' in body
    assert 'name="csrfmiddlewaretoken"' in body.split('id="stop-form"')[1]
    assert 'name="confirm" value="yes" required' in body
    assert 'id="stop"' in body


def test_pressing_stop_says_what_happened_and_whom_it_told(world: World) -> None:
    world.officer.email = "officer@example.org"
    world.officer.save()
    client = logged_in(world.investigator)
    _player(client, world)
    r = client.post(f"/recordings/{world.granted.pk}/stop/", {"confirm": "yes"})
    body = r.content.decode()
    assert r.status_code == 200
    assert 'id="stop-result"' in body
    press = StopPress.objects.get()
    assert f"hold #{press.hold_id}" in body
    assert "the privilege officer officer" in body  # whom it notified
    assert "quarantined" in body and 'id="player"' not in body
    assert AuditEvent.objects.filter(action="recording.stop_pressed", actor=world.investigator).exists()


def test_without_the_confirmation_nothing_is_stopped(world: World) -> None:
    r = logged_in(world.investigator).post(f"/recordings/{world.granted.pk}/stop/")
    assert r.status_code == 400
    assert "Tick the box" in r.content.decode()
    world.granted.refresh_from_db()
    assert world.granted.state == "stored"
    assert not StopPress.objects.exists()


def test_a_stop_without_the_csrf_token_is_refused(world: World) -> None:
    client = Client(enforce_csrf_checks=True, headers={"Sec-Fetch-Site": "same-origin"})
    client.force_login(world.investigator)
    assert client.post(f"/recordings/{world.granted.pk}/stop/", {"confirm": "yes"}).status_code == 403
    assert not StopPress.objects.exists()


def test_someone_who_may_not_play_gets_the_404_page(world: World) -> None:
    r = logged_in(world.admin).post(f"/recordings/{world.granted.pk}/stop/", {"confirm": "yes"})
    assert r.status_code == 404
    assert AuditEvent.objects.filter(
        action="access.denied", actor=world.admin, details__attempted="recording.stop_privileged"
    ).exists()


def test_stop_is_post_only(world: World) -> None:
    assert logged_in(world.investigator).get(f"/recordings/{world.granted.pk}/stop/").status_code == 405
