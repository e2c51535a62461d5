"""Issue 13 "Done when": the fuzzing pass also covers the attorney portal's forms.

Random form data (plausible values mixed with junk: control characters, NUL bytes, very long
strings, other people's bar numbers and usernames) is posted to every form an outsider or an
attorney can reach. Whatever comes in, the answer is never a 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.actions.registry import exempt_number_verify
from apps.facilities.models import Facility
from apps.registry.models import Attorney
from apps.registry.services import exempt_number_register
from tests.factories import AttorneyFactory, UserFactory

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TAKEN = {"username": "attorney-taken", "bar_number": "7654321", "email": "taken@example.org"}


JUNK = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=400),
    st.sampled_from(["", " ", "\x00", "0" * 5000, "=HYPERLINK(1)", "<script>", "%00", "' OR 1=1"]),
)


def form(**plausible: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    """A plausible submission (often a valid one, so the deep paths run) with any subset of
    its fields spoiled by junk or left out."""
    names = sorted(plausible)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, str]:
        data = {name: draw(st.sampled_from(plausible[name])) for name in names}
        spoiled_fields = draw(st.sets(st.sampled_from(names))) if draw(st.booleans()) else set()
        for name in spoiled_fields:
            spoiled = draw(st.one_of(st.none(), JUNK))
            if spoiled is None:
                data.pop(name)
            else:
                data[name] = spoiled
        return data

    return build()


@pytest.fixture
def scene(facility: Facility, clerk: Any) -> dict[str, Any]:
    taken = AttorneyFactory(
        user=UserFactory(username=TAKEN["username"], email=TAKEN["email"]),
        bar_state="NY",
        bar_number="7654321",
    )
    attorney: Attorney = AttorneyFactory(user=UserFactory(username="fuzzing-attorney"))
    exempt = exempt_number_register(attorney=attorney, number="+12125550150", actor=attorney.user)
    exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    signed_in = Client(raise_request_exception=False)
    signed_in.force_login(attorney.user)
    return {"attorney": signed_in, "taken": taken}


def _post(client: Client, path: str, data: dict[str, str]) -> None:
    response = client.post(path, data)
    assert response.status_code < 500, (path, data, response.status_code)


@FUZZ
@given(
    data=form(
        full_name=("Ada Lovelace",),
        email=("ada@example.org", TAKEN["email"]),
        username=("ada-l", "ada-2", "ada-3", "ada-4", TAKEN["username"]),
        password=("a-long-test-password",),
        bar_state=("NY", "CA"),
        bar_number=("1234567", TAKEN["bar_number"], f" {TAKEN['bar_number']} "),
        firm=("Lovelace LLP",),
    )
)
def test_signup_never_answers_500(scene: dict[str, Any], data: dict[str, str]) -> None:
    _post(Client(raise_request_exception=False), "/attorney/signup/", data)


@FUZZ
@given(data=form(username=(TAKEN["username"],), password=("a-long-test-password",)))
def test_login_never_answers_500(scene: dict[str, Any], data: dict[str, str]) -> None:
    _post(Client(raise_request_exception=False), "/attorney/login/", data)


@FUZZ
@given(data=form(email=(TAKEN["email"], "nobody@example.org")))
def test_password_reset_never_answers_500(scene: dict[str, Any], data: dict[str, str]) -> None:
    _post(Client(raise_request_exception=False), "/attorney/password-reset/", data)


@FUZZ
@given(
    data=form(
        number=("+12125550177", "(212) 555-0150", "1-800-FLOWERS", "212 555 0101 x12"),
        label=("office",),
        scope=("global", "facility"),
        facility=("home", "nope"),
    )
)
def test_number_registration_never_answers_500(scene: dict[str, Any], data: dict[str, str]) -> None:
    _post(scene["attorney"], "/attorney/", data)


@FUZZ
@given(
    data=form(
        call_date=("2026-01-05", "9999-12-31", "0001-01-01"),
        facility=("home",),
        booking_number=("A1001",),
        number=("+12125550150",),
    )
)
def test_flag_never_answers_500(scene: dict[str, Any], data: dict[str, str]) -> None:
    _post(scene["attorney"], "/attorney/flag/", data)


@FUZZ
@given(
    data=form(
        full_name=("Ada Lovelace",),
        bar_state=("NY",),
        bar_number=(TAKEN["bar_number"], "1111111"),
        firm=("Firm",),
        contact_email=("ada@example.org",),
        contact_phone=("+12125550150", "call me"),
    )
)
def test_profile_never_answers_500(scene: dict[str, Any], data: dict[str, str]) -> None:
    _post(scene["attorney"], "/attorney/profile/", data)
