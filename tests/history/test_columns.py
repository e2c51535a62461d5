"""The import's fast path for North American numbers answers exactly as the platform's one
normaliser does, or leaves the number to it: formatting can never hide a protected number."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.common.errors import InvalidPhoneNumberError
from apps.common.phone import normalize_phone_number
from apps.history.columns import nanp_fast_e164

digits = st.text(alphabet="0123456789", min_size=0, max_size=13)
punctuation = st.sampled_from(["", " ", "-", ".", "(", ")", "+", "+1 ", "1-", " x12", "ext", "A"])


@st.composite
def spellings(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(punctuation, digits), min_size=1, max_size=4))
    return "".join(p + d for p, d in parts)


@settings(max_examples=3000, deadline=None)
@given(spellings(), st.sampled_from(["US", "CA", "GB"]))
def test_the_fast_path_agrees_with_the_normaliser(raw: str, region: str) -> None:
    fast = nanp_fast_e164(raw, region)
    if fast is None:
        return
    try:
        slow = normalize_phone_number(raw, region)
    except InvalidPhoneNumberError:
        slow = None
    assert fast == slow, raw


def test_the_fast_path_reads_the_usual_spellings() -> None:
    for raw in ["(212) 555-0101", "212.555.0101", "1-212-555-0101", "+1 212 555 0101", "2125550101"]:
        assert nanp_fast_e164(raw, "US") == "+12125550101"
    for raw in ["1-800-FLOWERS", "212-555-0101 x23", "+44 20 7946 0018", "555-0101"]:
        assert nanp_fast_e164(raw, "US") is None
