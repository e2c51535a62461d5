"""The schedule: on Jan 1 and Jul 1 (facility time) the last half-year's report of every
facility; a second run makes nothing; a report is issued once, never regenerated."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from apps.audit.models import AuditEvent
from apps.compliance.models import ComplianceReport, ReportStatus
from apps.compliance.services import (
    compliance_report_generate,
    compliance_reports_schedule,
    last_half_year,
    period_parse,
)
from apps.compliance.tasks import half_year_reports
from apps.facilities.models import Facility
from tests.compliance.conftest import Clock

pytestmark = pytest.mark.django_db


def test_the_last_finished_half_year() -> None:
    assert last_half_year(date(2026, 7, 1)) == (date(2026, 1, 1), date(2026, 6, 30))
    assert last_half_year(date(2026, 12, 31)) == (date(2026, 1, 1), date(2026, 6, 30))
    assert last_half_year(date(2027, 1, 1)) == (date(2026, 7, 1), date(2026, 12, 31))
    assert last_half_year(date(2026, 6, 30)) == (date(2025, 7, 1), date(2025, 12, 31))


def test_the_beat_task_makes_each_facility_s_report_once(
    clock: Clock, facilities: tuple[Facility, Facility], celery_eager: None
) -> None:
    clock.now = datetime(2026, 7, 1, 5, 0, tzinfo=UTC)  # 01:00 on Jul 1 in New York

    made = half_year_reports.delay().get()

    reports = ComplianceReport.objects.order_by("facility__code")
    assert sorted(made) == sorted(r.pk for r in reports)
    assert [(r.facility.code, r.period_start, r.period_end, r.status) for r in reports] == [
        ("home", date(2026, 1, 1), date(2026, 6, 30), ReportStatus.DONE),
        ("other", date(2026, 1, 1), date(2026, 6, 30), ReportStatus.DONE),
    ]
    assert all(r.generated_by is None for r in reports)  # the schedule
    events = AuditEvent.objects.filter(action="compliance_report.generated")
    assert events.count() == 2 and {e.details["trigger"] for e in events} == {"schedule"}

    clock.now = datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
    assert half_year_reports.delay().get() == []  # idempotent: nothing new
    clock.now = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    assert compliance_reports_schedule() == []
    assert ComplianceReport.objects.count() == 2
    assert AuditEvent.objects.filter(action="compliance_report.generated").count() == 2


def test_before_midnight_in_the_facility_the_half_year_is_not_over(
    clock: Clock, facilities: tuple[Facility, Facility]
) -> None:
    clock.now = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)  # Jun 30, 22:00 in New York
    compliance_reports_schedule()
    assert set(ComplianceReport.objects.values_list("period_start", "period_end")) == {
        (date(2025, 7, 1), date(2025, 12, 31))
    }


def test_asking_again_returns_the_issued_report_unchanged(
    clock: Clock, facilities: tuple[Facility, Facility]
) -> None:
    clock.now = datetime(2026, 7, 2, tzinfo=UTC)
    period = period_parse(facility_code="home", start="2026-01-01", end="2026-06-30")
    first, made = compliance_report_generate(period=period, actor=None)
    clock.now = datetime(2026, 8, 1, tzinfo=UTC)
    again, made_again = compliance_report_generate(period=period, actor=None)
    assert made and not made_again
    assert (
        again.pk == first.pk
        and again.pdf_sha256 == first.pdf_sha256
        and again.generated_at == first.generated_at
    )


def test_a_failed_build_is_marked_and_built_again_later(
    clock: Clock, facilities: tuple[Facility, Facility], settings: Any, tmp_path: Path
) -> None:
    clock.now = datetime(2026, 7, 2, tzinfo=UTC)
    period = period_parse(facility_code="home", start="2026-01-01", end="2026-06-30")
    good_bucket, good_dir = settings.S3_BUCKET, settings.COMPLIANCE_REPORT_DIR
    # Storage that cannot take the files: a bucket that does not exist, a folder that is a file.
    settings.S3_BUCKET = "cp-compliance-no-such-bucket"
    settings.COMPLIANCE_REPORT_DIR = tmp_path / "a-file"
    settings.COMPLIANCE_REPORT_DIR.write_text("not a folder")
    with pytest.raises(Exception):  # noqa: B017 - whatever the backend raises
        compliance_report_generate(period=period, actor=None)
    failed = ComplianceReport.objects.get()
    assert failed.status == ReportStatus.FAILED and failed.error

    settings.S3_BUCKET, settings.COMPLIANCE_REPORT_DIR = good_bucket, good_dir
    report, made = compliance_report_generate(period=period, actor=None)
    assert made and report.pk == failed.pk and report.status == ReportStatus.DONE
