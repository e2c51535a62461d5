"""Found by fuzzing on PostgreSQL: a NUL character in a filter or a lookup field was a 500
(PostgreSQL text cannot hold NUL). It is bad input: a 400 with a reason, on both databases."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.roles import FACILITY_ADMIN
from tests.actors import actor, grant_facility

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/api/v1/inmates/?q=a%00b", "/api/v1/grants/?investigator=%00", "/calls/?inmate=%00"]
)
def test_a_nul_in_the_query_string_is_a_400(facility: object, path: str) -> None:
    admin = actor("admin", FACILITY_ADMIN)
    grant_facility(admin.user, facility, "view_facility", "view_facility_calls", "manage_facility")  # type: ignore[arg-type]
    client = Client()
    client.force_login(admin.user)
    r = client.get(path)
    assert r.status_code == 400
    assert r.json()["reason"] == "invalid_characters"


def test_a_nul_in_a_lookup_field_is_a_400(facility: object, inmate: object) -> None:
    admin = actor("admin", FACILITY_ADMIN)
    grant_facility(admin.user, facility, "view_facility", "view_facility_calls", "manage_facility")  # type: ignore[arg-type]
    r = admin.client.post(
        "/api/v1/grants/",
        {"investigator": "inv\x00estigator", "inmate": inmate.pk, "case_reference": "C-1"},  # type: ignore[attr-defined]
        format="json",
    )
    assert r.status_code == 400
    assert r.json()["reason"] in {"invalid", "invalid_characters"}
