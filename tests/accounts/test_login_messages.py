"""Issue 15, item 13: login messages. An attorney whose e-mail is unconfirmed is told so (only
with the right password), and it never counts as a failed sign-in; the password rules are on
the sign-up and reset forms before the first attempt."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import Client

from apps.registry.models import Attorney
from apps.registry.profiles import attorney_verify_email
from tests.actors import Cast
from tests.factories import AttorneyFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager")]
PASSWORD = "correct-horse-battery"
UNCONFIRMED = "Your e-mail address is not confirmed yet"
RULES = "at least 12 characters"


def _signed_up(client: Client) -> Attorney:
    client.post(
        "/attorney/signup/",
        {
            "full_name": "Nia Counsel",
            "email": "nia@example.org",
            "username": "nia",
            "password": PASSWORD,
            "bar_state": "NY",
            "bar_number": "7654321",
            "firm": "",
        },
    )
    return Attorney.objects.get(user__username="nia")


def _sign_in(client: Client, path: str, password: str = PASSWORD) -> Any:
    return client.post(path, {"username": "nia", "password": password})


def _failures() -> int:
    return sum(a.failures_since_start for a in AccessAttempt.objects.all())


@pytest.mark.parametrize("path", ["/attorney/login/", "/login/"])
def test_an_unconfirmed_attorney_is_told_so_and_it_is_no_failed_login(path: str) -> None:
    client = Client()
    attorney = _signed_up(client)
    assert not attorney.user.is_active
    for _ in range(8):  # more than AXES_FAILURE_LIMIT: never a lockout
        response = _sign_in(client, path)
        assert response.status_code == 200
        assert UNCONFIRMED in response.content.decode()
    assert _failures() == 0
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_for_an_unconfirmed_account_is_the_usual_counted_failure() -> None:
    client = Client()
    _signed_up(client)
    response = _sign_in(client, "/attorney/login/", password="not-the-password")
    page = response.content.decode()
    assert UNCONFIRMED not in page and "correct username and password" in page
    assert _failures() == 1


def test_a_deactivated_confirmed_attorney_learns_nothing_new() -> None:
    attorney = AttorneyFactory(user__username="nia")
    attorney.user.set_password(PASSWORD)
    attorney.user.is_active = False
    attorney.user.save()
    response = _sign_in(Client(), "/attorney/login/")
    assert UNCONFIRMED not in response.content.decode()
    assert _failures() == 1


def test_once_confirmed_the_same_password_signs_in() -> None:
    attorney_verify_email(attorney=_signed_up(Client()))
    response = _sign_in(Client(), "/attorney/login/")
    assert response.status_code == 302


def test_the_signup_form_shows_the_password_rules_before_the_first_attempt() -> None:
    page = Client().get("/attorney/signup/").content.decode()
    assert RULES in page and "commonly used password" in page


def _reset_page(reset: str, email: str, capture: Any) -> str:
    with capture(execute=True):
        Client().post(reset, {"email": email})
    link = re.search(rf"https?://[^/\s]+({re.escape(reset)}\S+)", mail.outbox[-1].body)
    assert link
    return Client().get(link.group(1), follow=True).content.decode()


def test_the_attorney_reset_form_shows_the_password_rules(django_capture_on_commit_callbacks: Any) -> None:
    AttorneyFactory(user__email="nia@example.org")
    page = _reset_page("/attorney/password-reset/", "nia@example.org", django_capture_on_commit_callbacks)
    assert RULES in page


def test_the_staff_reset_form_shows_the_password_rules(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    cast.admin.user.email = "ada@example.org"
    cast.admin.user.save()
    page = _reset_page("/password-reset/", "ada@example.org", django_capture_on_commit_callbacks)
    assert RULES in page
