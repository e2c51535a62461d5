"""Issue 15, item 12: consequential one-click acts ask first and say what will happen. The
confirmation is the server's (any request without ``confirm=1`` gets it), not a script's."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.actions.registry import exempt_number_verify
from apps.registry.models import Attorney, ExemptNumber
from apps.registry.services import exempt_number_register
from tests.attorneys.test_pages import attorney_web, clerk_web  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db
NUMBER = "+12125550101"


def _status(exempt: ExemptNumber) -> str:
    exempt.refresh_from_db()
    return exempt.status


def test_revoking_a_number_says_calls_will_be_recorded_again_before_it_acts(
    attorney_web: Client,  # noqa: F811
    attorney: Attorney,
    clerk: User,
) -> None:
    exempt = exempt_number_register(attorney=attorney, number=NUMBER, actor=attorney.user)
    exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    url = f"/attorney/numbers/{exempt.pk}/revoke/"
    for asked in (attorney_web.post(url), attorney_web.post(url, {"confirm": "0"})):
        page = asked.content.decode()
        assert asked.status_code == 200
        assert "Calls to this number will be recorded again from now on." in page
        assert 'name="confirm" value="1"' in page and "csrfmiddlewaretoken" in page
    assert _status(exempt) == "verified"
    done = attorney_web.post(url, {"confirm": "1"})
    assert done.status_code == 302 and _status(exempt) == "revoked"


def test_a_get_never_revokes(attorney_web: Client, attorney: Attorney) -> None:  # noqa: F811
    exempt = exempt_number_register(attorney=attorney, number=NUMBER, actor=attorney.user)
    assert attorney_web.get(f"/attorney/numbers/{exempt.pk}/revoke/?confirm=1").status_code == 405
    assert _status(exempt) == "pending"


def test_approving_says_recording_stops_and_earlier_audio_is_quarantined(
    clerk_web: Client,  # noqa: F811
    attorney: Attorney,
) -> None:
    exempt = exempt_number_register(attorney=attorney, number=NUMBER, actor=attorney.user)
    url = f"/attorney/clerk/numbers/{exempt.pk}/verify/"
    page = clerk_web.post(url, {"effective_until": ""}).content.decode()
    assert "stop being recorded at once" in page and "quarantined" in page
    assert _status(exempt) == "pending"
    clerk_web.post(url, {"confirm": "1"})
    assert _status(exempt) == "verified"


def test_rejecting_carries_the_reason_to_the_confirmation_and_then_acts(
    clerk_web: Client,  # noqa: F811
    attorney: Attorney,
) -> None:
    exempt = exempt_number_register(attorney=attorney, number=NUMBER, actor=attorney.user)
    url = f"/attorney/clerk/numbers/{exempt.pk}/reject/"
    page = clerk_web.post(url, {"reason": "Card shows another number"}).content.decode()
    assert "go on being recorded" in page
    assert 'name="reason" value="Card shows another number"' in page
    assert _status(exempt) == "pending"
    clerk_web.post(url, {"reason": "Card shows another number", "confirm": "1"})
    assert _status(exempt) == "rejected"


def test_a_reject_without_a_reason_is_refused_before_any_confirmation(
    clerk_web: Client,  # noqa: F811
    attorney: Attorney,
) -> None:
    exempt = exempt_number_register(attorney=attorney, number=NUMBER, actor=attorney.user)
    response = clerk_web.post(f"/attorney/clerk/numbers/{exempt.pk}/reject/", {"reason": " "}, follow=True)
    assert "A reason is required to reject." in response.content.decode()
    assert _status(exempt) == "pending"
