"""Issue 9 (low): unauthenticated floods are aggregated per source and raise an alert; the
embedded default (eager Celery) checkpoints its newest events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from rest_framework.test import APIClient

from apps.audit.chain import chain_tip, verify_chain
from apps.audit.floods import auth_rejection_record, auth_rejections_flush
from apps.audit.models import AuditEvent, Checkpoint
from apps.audit.services import record_event

pytestmark = pytest.mark.django_db
PINNED = datetime(2025, 6, 2, 10, 15, 7, tzinfo=UTC)


def test_a_flood_of_bad_tokens_writes_one_event_per_source_and_minute_not_one_each() -> None:
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    for _ in range(40):
        assert client.get("/api/v1/recordings/").status_code == 401
    # At most two minute windows for a quick loop, whenever it runs.
    assert AuditEvent.objects.filter(action="auth.rejected").count() <= 2


def test_the_aggregate_is_flushed_into_the_trail_with_its_count() -> None:
    for second in range(30):
        with transaction.atomic():
            auth_rejection_record(
                source="203.0.113.9", reason="unknown_token", now=PINNED + timedelta(seconds=second % 50)
            )
    assert AuditEvent.objects.filter(action="auth.rejected").count() == 1
    assert auth_rejections_flush(now=PINNED + timedelta(minutes=2)) == 1
    aggregate = AuditEvent.objects.get(action="auth.rejected_aggregate")
    assert aggregate.details["source"] == "203.0.113.9" and aggregate.details["count"] == 30
    assert aggregate.outcome == "denied"
    assert auth_rejections_flush(now=PINNED + timedelta(minutes=3)) == 0  # flushed once


def test_a_source_over_the_threshold_alerts_compliance_once(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.AUDIT_AUTH_FLOOD_THRESHOLD = 5
    settings.COMPLIANCE_EMAILS = ["compliance@example.org"]
    for second in range(12):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            auth_rejection_record(
                source="198.51.100.7", reason="unknown_token", now=PINNED + timedelta(seconds=second)
            )
    alerts = AuditEvent.objects.filter(action="auth.flood_detected")
    assert alerts.count() == 1 and alerts.get().details["source"] == "198.51.100.7"
    assert len(mail.outbox) == 1 and "198.51.100.7" in mail.outbox[0].subject


@pytest.mark.django_db(transaction=True)
def test_eager_sealing_checkpoints_the_newest_events(celery_eager: None) -> None:
    for n in range(3):  # three commits, as three requests of a demo would make
        with transaction.atomic():
            record_event(action="test.demo_act", details={"n": n})
    sequence, tip = chain_tip()
    assert sequence >= 3
    assert Checkpoint.objects.order_by("-sequence").values_list("sequence", flat=True).first() == sequence
    report = verify_chain()
    assert report.ok and not any("not covered" in note for note in report.notes)
