"""The audit event written in SQL (``event_insert_sql``) is the one ``record_event`` writes.

apps/audit/services.py promises that an act written as one PostgreSQL statement (call setup,
the hot path) records an event whose columns are exactly ``record_event``'s. The chain hashes
every column (apps/audit/canonical.py), so a column that differed in value or type (a NULL
for an empty string, a number as text, another time) would make the two paths hash
differently for the same act, and an export verifier could not tell which is right. Each test
writes the same act both ways, under one pinned clock and one request context, and compares
the events as the chain sees them: every field the hash covers, except those that must differ
(the row id, and the seal the chain adds later).

The SQL path is PostgreSQL only (``jsonb_build_object``, ``::inet``); the embedded default
writes call setup through ``record_event`` itself, so there is nothing to compare there.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from apps.audit.canonical import EVENT_FIELDS
from apps.audit.chain import audit_seal_pending, event_record, verify_chain
from apps.audit.models import AuditEvent, Outcome
from apps.audit.services import event_insert_sql, events_written, record_event
from apps.calls import services as call_services
from apps.calls.services import call_setup
from apps.common import context
from apps.common.db import fetchone_prepared
from apps.facilities.models import Facility, PromptText
from apps.inmates.models import Inmate
from tests.conftest import Switch
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
# What the seal adds afterwards, and the row id: the only fields allowed to differ.
UNSEALED_IDENTITY = {"id", "sequence", "prev_hash", "hash", "sealed_at"}


REQUEST = ("req-sql-parity-0001", "203.0.113.9")
NO_REQUEST = ("", None)  # a Celery task or a management command: no request context


@pytest.fixture(params=[REQUEST, NO_REQUEST], ids=["in-a-request", "outside-a-request"])
def one_request(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str | None]]:
    """One pinned clock and one request context (id, client address) for both writes."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    request_token = context.request_id.set(request.param[0])
    ip_token = context.client_ip.set(request.param[1])
    yield request.param
    context.request_id.reset(request_token)
    context.client_ip.reset(ip_token)


def _records(action: str) -> list[dict[str, Any]]:
    rows = AuditEvent.objects.filter(action=action).order_by("id").values(*EVENT_FIELDS)
    return [event_record(row) for row in rows]


def _hashed_fields(
    record: dict[str, Any], *, also_ignore: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in UNSEALED_IDENTITY | also_ignore}


def _assert_same_event(by_sql: dict[str, Any], by_orm: dict[str, Any], *, differing: set[str]) -> None:
    left = _hashed_fields(by_sql, also_ignore=differing)
    right = _hashed_fields(by_orm, also_ignore=differing)
    # Compare values *and* types: the canonical JSON writes 7 and "7" differently.
    assert {k: (type(v).__name__, v) for k, v in left.items()} == {
        k: (type(v).__name__, v) for k, v in right.items()
    }
    assert set(left) == set(EVENT_FIELDS) - UNSEALED_IDENTITY - differing  # nothing skipped


@pytest.mark.postgres
def test_an_event_written_in_sql_has_every_hashed_field_of_record_event(
    one_request: tuple[str, str | None], facility: Facility
) -> None:
    actor = UserFactory(username="parity-actor")
    details = {"decision": "exempt", "reason": "verified_attorney", "count": 3, "ok": True}
    with transaction.atomic():
        record_event(
            action="test.sql_parity",
            actor=actor,
            outcome=Outcome.DENIED,
            target_type="test.thing",
            target_id=7,
            facility_id=facility.pk,
            details=details,
        )
    event_sql, event_params = event_insert_sql(
        source="src",
        target_id="src.id::text",
        facility_id="CAST(%(facility)s AS integer)",
        details="jsonb_build_object('decision', src.decision, 'reason', src.reason, "
        "'count', src.count, 'ok', src.ok)",
        action="test.sql_parity",
        actor=actor,
        target_type="test.thing",
        outcome=Outcome.DENIED,
    )
    source = (
        "SELECT 7 AS id, CAST(%(decision)s AS text) AS decision, CAST(%(reason)s AS text) AS reason, "
        "3 AS count, true AS ok"
    )
    fetchone_prepared(
        f"WITH src AS ({source}), event AS ({event_sql}) SELECT 1",  # noqa: S608 - constant SQL
        {**event_params, "decision": "exempt", "reason": "verified_attorney", "facility": facility.pk},
    )
    events_written()
    by_orm, by_sql = _records("test.sql_parity")
    _assert_same_event(by_sql, by_orm, differing=set())
    assert by_sql["details"] == details and by_sql["outcome"] == Outcome.DENIED
    assert (by_sql["request_id"], by_sql["client_ip"]) == one_request
    assert by_sql["created_at"] == "2026-03-04T05:06:07.891011+00:00"
    # Sealed together, both verify: the chain computes each hash from the stored row.
    assert audit_seal_pending() == AuditEvent.objects.count()
    assert verify_chain().ok


class _AsIfEmbedded:
    """The database connection, except that it says SQLite: ``call_setup`` then takes the
    embedded default's path (its INSERT, then ``record_event``) on this same PostgreSQL."""

    vendor = "sqlite"

    def __getattr__(self, name: str) -> Any:
        return getattr(connection, name)


@pytest.mark.postgres
def test_call_setup_records_the_same_event_in_one_statement_and_through_record_event(
    one_request: tuple[str, str | None], monkeypatch: pytest.MonkeyPatch, switch: Switch, inmate: Inmate
) -> None:
    assert connection.vendor == "postgresql"

    def setup(switch_call_id: str) -> int:
        call, created = call_setup(
            facility=switch.facility,
            switch_call_id=switch_call_id,
            booking_number=inmate.booking_number,
            dialed_number="(718) 555-0142",
            started_at=NOW,
            actor=switch.user,
        )
        assert created
        return call.pk

    one_statement = setup("sql-path")
    with monkeypatch.context() as patch:
        patch.setattr(call_services, "connection", _AsIfEmbedded())
        through_record_event = setup("orm-path")
    by_sql, by_orm = _records("call.setup")
    assert by_sql["target_id"] == str(one_statement) and by_orm["target_id"] == str(through_record_event)
    _assert_same_event(by_sql, by_orm, differing={"target_id"})
    # The prompt the switch was told to play rides in the event (issue 11, section 7).
    notice = PromptText.objects.filter(facility=switch.facility, kind="recording_notice").latest("version")
    assert by_sql["details"] == {"decision": "record", "reason": "not_exempt", "prompt": notice.pk}
    assert by_sql["actor_id"] == switch.user.pk and by_sql["facility_id"] == switch.facility.pk
    assert audit_seal_pending() == AuditEvent.objects.count()
    assert verify_chain().ok


def test_the_comparison_sees_a_field_that_differs(one_request: tuple[str, str | None]) -> None:
    """The check itself (on any database): one differing value in one column fails it."""
    actor: User = UserFactory(username="parity-actor")
    with transaction.atomic():
        record_event(action="test.differs", actor=actor, details={"count": 3})
        record_event(action="test.differs", actor=actor, details={"count": "3"})
    first, second = _records("test.differs")
    with pytest.raises(AssertionError):
        _assert_same_event(first, second, differing=set())
