from __future__ import annotations

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.common.errors import InvalidPhoneNumberError
from apps.common.phone import normalize_phone_number
from apps.registry.models import ExemptNumber, ExemptStatus
from apps.registry.privilege import is_privileged
from tests.factories import ExemptNumberFactory, UserFactory

SAME_NUMBER = [
    "(212) 555-0101",
    "212.555.0101",
    "+1 212 555 0101",
    "1-212-555-0101",
    "+12125550101",
    "2125550101",
    "tel:+1-212-555-0101",
    " +1 (212) 555-0101 ",
]


@pytest.mark.parametrize("written", SAME_NUMBER)
def test_every_common_format_is_one_number(written: str) -> None:
    assert normalize_phone_number(written, "US") == "+12125550101"


def test_an_extension_is_dropped_so_the_whole_line_is_exempt() -> None:
    for written in ["212-555-0101 ext. 23", "212 555 0101 x23", "+1 (212) 555-0101 #7"]:
        assert normalize_phone_number(written, "US") == "+12125550101"


def test_vanity_letters_are_read_as_the_keypad_digits_the_switch_dials() -> None:
    assert normalize_phone_number("1-800-FLOWERS", "US") == "+18003569377"


def test_national_formats_are_read_in_the_given_region() -> None:
    assert normalize_phone_number("020 7946 0958", "GB") == "+442079460958"


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "abc", "12", "020 7946 0958", "+1 212 555 0101 5555 999", "212\x00555\x000101", "9" * 41],
)
def test_unparseable_input_is_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(InvalidPhoneNumberError) as err:
        normalize_phone_number(bad, "US")
    assert err.value.reason == "invalid_number"
    assert err.value.message


SEPARATORS = st.sampled_from(["", " ", "-", ".", "  "])


@st.composite
def written_forms(draw: st.DrawFn) -> tuple[str, str]:
    area = draw(st.integers(200, 989))
    exchange = draw(st.integers(200, 999))
    line = draw(st.integers(0, 9999))
    e164 = f"+1{area}{exchange}{line:04d}"
    sep = draw(SEPARATORS)
    area_text = draw(st.sampled_from([f"{area}", f"({area})"]))
    prefix = draw(st.sampled_from(["", "1" + sep, "+1" + sep, "+1 ", "tel:+1-"]))
    if prefix.startswith("tel:"):
        area_text, sep = str(area), "-"
    suffix = draw(st.sampled_from(["", " ext. 12", " x9", ""]))
    return e164, f"{prefix}{area_text}{sep}{exchange}{sep}{line:04d}{suffix}"


@given(written_forms())
def test_any_formatting_normalizes_to_the_same_e164(case: tuple[str, str]) -> None:
    e164, written = case
    assert normalize_phone_number(written, "US") == e164


@pytest.mark.django_db
@settings(max_examples=60, deadline=None)
@given(written_forms())
def test_any_formatting_of_a_registered_number_is_still_privileged(case: tuple[str, str]) -> None:
    e164, written = case
    clerk = UserFactory(username="hypothesis-clerk")
    exempt = ExemptNumberFactory(
        number=e164, status=ExemptStatus.VERIFIED, verified_by=clerk, effective_from=timezone.now()
    )
    try:
        decision = is_privileged(written, timezone.now())
        assert decision.privileged
        assert decision.exempt_number_id == exempt.pk
    finally:
        # Registrations are never deleted (a trigger refuses it on PostgreSQL): revoke instead.
        ExemptNumber.objects.filter(pk=exempt.pk).update(status=ExemptStatus.REVOKED)
