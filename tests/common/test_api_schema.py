"""Issue 13, Low "The public API schema": decided, the schema needs an account (README, API).

Switch vendors and API users have tokens and read it with them; an anonymous visitor gets no
map of the API (every operation, parameter and error reason) to aim at.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import Switch

pytestmark = pytest.mark.django_db


def test_an_anonymous_visitor_gets_no_map_of_the_api() -> None:
    r = APIClient().get("/api/schema/")
    assert r.status_code == 401
    assert b"not_authenticated" in r.content  # rendered by the schema's own renderer
    assert b"/api/v1/" not in r.content


def test_a_switch_vendor_reads_it_with_the_switch_token(switch: Switch) -> None:
    r = switch.client.get("/api/schema/")
    assert r.status_code == 200
    assert b"/api/v1/calls/" in r.content


def test_an_attorney_reads_it_too(attorney_client: APIClient) -> None:
    assert attorney_client.get("/api/schema/").status_code == 200
