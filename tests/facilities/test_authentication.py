"""Token authentication (apps/facilities/authentication.py): one query on the call-setup hot path."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.inmates.models import Inmate
from tests.conftest import Switch

pytestmark = pytest.mark.django_db
CALLS = "/api/v1/calls/"


def _setup(client: APIClient, inmate: Inmate) -> Any:
    body = {
        "switch_call_id": "sw-1",
        "inmate": inmate.booking_number,
        "dialed_number": "(718) 555-0142",
        "started_at": "2026-11-25T10:00:00Z",
    }
    return client.post(CALLS, body, format="json")


def test_a_call_setup_loads_token_user_switch_account_and_facility_in_one_query(
    switch: Switch, inmate: Inmate, django_assert_num_queries: Any
) -> None:
    # On PostgreSQL one statement in all: the token with its active user, switch account and
    # facility, the decision, the call and its audit event (the lean endpoint, issue 14 section
    # 3). On SQLite the token query, then a savepoint around the call insert and the audit event.
    statements = 1 if connection.vendor == "postgresql" else 1 + 4
    with django_assert_num_queries(statements) as captured:
        response = _setup(switch.client, inmate)
    assert response.status_code == 201, response.content
    # The prompt to play rides in the call's own statement (issue 11, section 7): no query of its own.
    assert response.json()["prompt"]["kind"] == "recording_notice"
    prompt_statements = [q["sql"] for q in captured.captured_queries if "facilities_prompttext" in q["sql"]]
    assert prompt_statements and all("INSERT INTO calls_call" in sql for sql in prompt_statements)
    token_lookup = captured.captured_queries[0]["sql"]
    assert "authtoken_token" in token_lookup and "facilities_facility" in token_lookup


def test_an_unknown_token_is_refused_and_counted_in_the_trail(inmate: Inmate) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert _setup(client, inmate).status_code == 401
    event = AuditEvent.objects.get(action="auth.rejected")
    assert event.details["reason"] == "unknown_token" and event.actor is None


def test_an_inactive_switch_is_refused_and_named_in_the_trail(switch: Switch, inmate: Inmate) -> None:
    switch.user.is_active = False
    switch.user.save(update_fields=["is_active"])
    assert _setup(switch.client, inmate).status_code == 401
    event = AuditEvent.objects.get(action="auth.rejected", actor=switch.user)
    assert event.details == {"reason": "inactive", "method": "token"}
