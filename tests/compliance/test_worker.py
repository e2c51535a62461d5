"""The schedule's task through the real broker and a real Celery worker (PostgreSQL, S3)."""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from apps.audit import signing
from apps.compliance.bundle import verify_bundle
from apps.compliance.models import ComplianceReport, ReportStatus
from apps.compliance.services import last_half_year, report_file_read
from apps.compliance.tasks import half_year_reports
from callplatform.celery import app as celery_app
from tests.actors import AUDITOR, home_facilities, staff_member
from tests.audit.conftest import BROKER_URL, Worker, wait_until


def _send() -> None:
    """Publish on a connection of its own to the test broker: the app's producer pool may still
    hold a connection to the broker of the environment, opened by an earlier test."""
    with celery_app.connection_for_write(BROKER_URL) as connection:
        half_year_reports.apply_async(connection=connection)


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_makes_the_half_year_reports_once(
    workers: Callable[..., Worker], settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home, other = home_facilities()
    auditor = staff_member("auditor", AUDITOR, home).user
    # The worker stores where this test reads (its environment is copied from ours).
    monkeypatch.setenv("COMPLIANCE_REPORT_DIR", str(settings.COMPLIANCE_REPORT_DIR))
    monkeypatch.setenv("COMPLIANCE_REPORT_PREFIX", settings.COMPLIANCE_REPORT_PREFIX)
    workers()

    _send()

    def done() -> bool:
        return ComplianceReport.objects.filter(status=ReportStatus.DONE).count() == 2

    wait_until(done, timeout=90, what="the half-year reports")
    _send()  # a second run, on the worker too: nothing new (checked below)
    time.sleep(3)
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(home.timezone)).date()
    start, end = last_half_year(today)
    report = ComplianceReport.objects.get(facility=home)
    assert (report.period_start, report.period_end, report.generated_by) == (start, end, None)
    data, name, _ = report_file_read(report=report, part="bundle", actor=auditor, via="test")
    (tmp_path / name).write_bytes(data)
    assert verify_bundle(tmp_path / name, trusted_keys=[signing.public_key_bytes()]).ok
    assert ComplianceReport.objects.count() == 2 and other.pk in set(
        ComplianceReport.objects.values_list("facility_id", flat=True)
    )
