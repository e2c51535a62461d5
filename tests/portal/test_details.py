"""Issue 15, item 15: the details. Numbers formatted for their region, times with their zone,
Play as POST-redirect-GET whose GET never charges, Renew only near expiry, a favicon, roles
in words."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from apps.access.models import QuotaUsage
from apps.actions.registry import exempt_number_verify
from apps.audit.models import AuditEvent
from apps.common.phone import display_phone_number
from apps.registry.models import Attorney, ExemptNumber
from apps.registry.services import exempt_number_register
from tests.portal.conftest import World, logged_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("number", "region", "shown"),
    [
        ("+12125550101", "US", "(212) 555-0101"),
        ("+442079460958", "US", "+44 20 7946 0958"),
        ("+442079460958", "GB", "020 7946 0958"),
        ("privileged", "US", "privileged"),
    ],
)
def test_numbers_are_shown_as_their_region_writes_them(number: str, region: str, shown: str) -> None:
    assert display_phone_number(number, region) == shown


def test_the_call_list_formats_numbers_and_names_the_zone(world: World) -> None:
    page = logged_in(world.admin).get("/calls/").content.decode()
    assert "(718) 555-0111" in page and 'title="+17185550111"' in page
    started = world.granted.call.started_at.astimezone(ZoneInfo(world.facility.timezone))
    assert f"{started:%Y-%m-%d %H:%M}" in page and started.strftime("%Z") in page


def _issued(user: User) -> int:
    return AuditEvent.objects.filter(action="recording.playback_link_issued", actor=user).count()


def test_play_is_post_redirect_get_and_a_refresh_charges_nothing(world: World) -> None:
    client = logged_in(world.investigator)
    url = f"/recordings/{world.granted.pk}/play/"
    pressed = client.post(url)
    assert pressed.status_code == 302 and pressed["Location"] == url
    first = client.get(url)
    assert first.status_code == 200 and b'id="player"' in first.content
    charged = QuotaUsage.objects.filter(user=world.investigator).count()
    assert charged >= 1
    again = client.get(url)  # a refresh, the back button, a prefetch
    assert again.context["link"].url == first.context["link"].url
    assert _issued(world.investigator) == 1
    assert QuotaUsage.objects.filter(user=world.investigator).count() == charged
    assert AuditEvent.objects.filter(action="recording.player_viewed", actor=world.investigator).count() == 2


def test_an_expired_held_link_sends_back_to_the_play_button(world: World) -> None:
    client = logged_in(world.investigator)
    url = f"/recordings/{world.granted.pk}/play/"
    client.post(url)
    session = client.session
    session[f"portal.player.{world.granted.pk}"]["expires_at"] = (
        timezone.now() - timedelta(seconds=1)
    ).isoformat()
    session.save()
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == f"/recordings/{world.granted.pk}/"
    assert _issued(world.investigator) == 1


def _verified(attorney: Attorney, clerk: User, days: int) -> ExemptNumber:
    exempt = exempt_number_register(attorney=attorney, number="+12125550101", actor=attorney.user)
    exempt, _ = exempt_number_verify(
        exempt_number_id=exempt.pk, clerk=clerk, effective_until=timezone.now() + timedelta(days=days)
    )
    return exempt


@pytest.mark.parametrize(("days_left", "renew_shown"), [(200, False), (10, True)])
def test_renew_appears_only_near_expiry(
    attorney: Attorney, clerk: User, settings: object, days_left: int, renew_shown: bool
) -> None:
    settings.REGISTRY_REMINDER_DAYS = 30  # type: ignore[attr-defined]
    settings.REGISTRY_WINDOW_MIN_DAYS = 1  # type: ignore[attr-defined]
    exempt = _verified(attorney, clerk, days_left)
    client = Client()
    client.force_login(attorney.user)
    page = client.get(f"/attorney/numbers/{exempt.pk}/").content.decode()
    assert (">Renew</button>" in page) is renew_shown
    assert ("Renewal opens" in page) is not renew_shown
    assert "(212) 555-0101" in page and " UTC" in page  # formatted, and the time has its zone


def test_every_page_has_a_local_favicon(world: World) -> None:
    for client, path in [
        (Client(), "/login/"),
        (Client(), "/attorney/login/"),
        (logged_in(world.admin), "/"),
    ]:
        assert 'rel="icon" href="/static/common/favicon.svg"' in client.get(path).content.decode()
    assert finders.find("common/favicon.svg")
