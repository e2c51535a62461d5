"""Auditors list and download reports (API and portal), each read audited in its transaction;
everyone else gets 404, audited too. Bad input is a 400 or a CommandError with a reason."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from apps.audit.models import AuditEvent
from apps.compliance.models import ComplianceReport
from apps.compliance.services import ReportInputError, compliance_report_generate, period_parse
from apps.facilities.models import Facility
from tests.actors import Cast
from tests.compliance.conftest import Clock

pytestmark = pytest.mark.django_db
API = "/api/v1/compliance/reports/"


@pytest.fixture
def reports(clock: Clock, cast: Cast, other_facility: Facility) -> dict[str, ComplianceReport]:
    clock.now = datetime(2026, 7, 2, tzinfo=UTC)
    made = {}
    for code in ("home", "other"):
        period = period_parse(facility_code=code, start="2026-01-01", end="2026-06-30")
        made[code] = compliance_report_generate(period=period, actor=None)[0]
    return made


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_the_auditor_lists_the_reports_of_their_facilities_only(
    cast: Cast, reports: dict[str, ComplianceReport]
) -> None:
    r = cast.auditor.client.get(API)
    assert r.status_code == 200
    assert [row["id"] for row in r.json()["results"]] == [reports["home"].pk]  # not other's
    row = r.json()["results"][0]
    assert row["facility"] == "home" and row["generated_by"] is None and row["status"] == "done"
    assert row["figures"]["calls"]["total"] == 0
    (listed,) = _events("compliance_report.listed")
    assert listed.actor == cast.auditor.user and listed.details["report_ids"] == [reports["home"].pk]


@pytest.mark.parametrize("part", ["pdf", "csv", "manifest", "signature", "bundle"])
def test_each_download_is_audited(cast: Cast, reports: dict[str, ComplianceReport], part: str) -> None:
    report = reports["home"]
    r = cast.auditor.client.get(f"{API}{report.pk}/download/{part}/")
    assert r.status_code == 200, r.content
    assert "attachment" in r["Content-Disposition"]
    (event,) = _events("compliance_report.downloaded")
    assert event.actor == cast.auditor.user and event.target_id == str(report.pk)
    assert event.details["part"] == part and event.details["sha256"] == hashlib.sha256(r.content).hexdigest()
    if part == "pdf":
        assert r.content.startswith(b"%PDF") and event.details["sha256"] == report.pdf_sha256
    if part == "bundle":
        assert sorted(zipfile.ZipFile(io.BytesIO(r.content)).namelist()) == sorted(
            ["report.pdf", "figures.csv", "manifest.json", "manifest.json.sig"]
        )


@pytest.mark.parametrize("role", ["admin", "investigator", "officer"])
def test_staff_get_404_and_the_attempt_is_audited(
    cast: Cast, reports: dict[str, ComplianceReport], role: str
) -> None:
    who = getattr(cast, role)
    report = reports["home"]
    assert who.client.get(API).status_code == 404
    assert who.client.get(f"{API}{report.pk}/").status_code == 404
    assert who.client.get(f"{API}{report.pk}/download/pdf/").status_code == 404
    denied = [e for e in _events("access.denied") if e.actor == who.user]
    assert [e.details["attempted"] for e in denied] == [
        "compliance_report.list",
        "compliance_report.view",
        "compliance_report.download",
    ]
    assert denied[2].details["exists"] is True
    assert _events("compliance_report.downloaded") == []


def test_another_facility_s_report_is_404_for_the_auditor(
    cast: Cast, reports: dict[str, ComplianceReport]
) -> None:
    assert cast.auditor.client.get(f"{API}{reports['other'].pk}/download/csv/").status_code == 404
    assert _events("access.denied")[-1].details == {"attempted": "compliance_report.download", "exists": True}


def test_an_unknown_part_is_a_400_with_a_reason(cast: Cast, reports: dict[str, ComplianceReport]) -> None:
    r = cast.auditor.client.get(f"{API}{reports['home'].pk}/download/everything/")
    assert r.status_code == 400
    assert r.json()["reason"] == "invalid_report_request"


def test_a_file_altered_in_storage_is_not_served(cast: Cast, reports: dict[str, ComplianceReport]) -> None:
    from apps.compliance.store import report_store

    report = reports["home"]
    report_store().put(report.csv_key, b"section,item,value\nCalls,placed,0\n", content_type="text/csv")
    r = cast.auditor.client.get(f"{API}{report.pk}/download/csv/")
    assert r.status_code == 409 and r.json()["reason"] == "report_file_altered"
    assert _events("compliance_report.downloaded") == []


def _portal(user: User) -> Client:
    client = Client(headers={"Sec-Fetch-Site": "same-origin"})
    client.force_login(user)
    return client


def test_the_portal_page_lists_and_serves_downloads(cast: Cast, reports: dict[str, ComplianceReport]) -> None:
    auditor, investigator = _portal(cast.auditor.user), _portal(cast.investigator.user)
    page = auditor.get("/compliance/reports/")
    assert page.status_code == 200
    assert b"Home Facility" in page.content and b"Other Facility" not in page.content
    r = auditor.get(f"/compliance/reports/{reports['home'].pk}/pdf/")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert _events("compliance_report.downloaded")[0].details["via"] == "portal"
    assert investigator.get("/compliance/reports/").status_code == 404
    assert investigator.get(f"/compliance/reports/{reports['home'].pk}/pdf/").status_code == 404


@pytest.mark.parametrize(
    ("code", "start", "end", "field"),
    [
        ("nowhere", "2026-01-01", "2026-06-30", "facility"),
        ("home", "2026-13-01", "2026-06-30", "from"),
        ("home", "2026-01-01", "June", "to"),
        ("home", "2026-06-30", "2026-01-01", "to"),
        ("home", "2024-01-01", "2026-06-30", "to"),
    ],
)
def test_bad_input_is_refused_with_a_reason(cast: Cast, code: str, start: str, end: str, field: str) -> None:
    with pytest.raises(ReportInputError) as refused:
        period_parse(facility_code=code, start=start, end=end)
    assert refused.value.extra["field"] == field
    with pytest.raises(CommandError, match=field):
        call_command("compliance_report", "--facility", code, "--from", start, "--to", end, "--as", "auditor")
    assert ComplianceReport.objects.count() == 0


def test_the_command_prints_progress_and_is_idempotent(clock: Clock, cast: Cast) -> None:
    clock.now = datetime(2026, 7, 2, tzinfo=UTC)
    args = ["compliance_report", "--facility", "home", "--from", "2026-01-01", "--to", "2026-06-30"]
    out = StringIO()
    call_command(*args, "--as", "auditor", stdout=out)
    assert "computing figures" in out.getvalue() and "signing the manifest" in out.getvalue()
    assert "made" in out.getvalue()
    again = StringIO()
    call_command(*args, "--as", "auditor", stdout=again)
    assert "already issued" in again.getvalue()
    report = ComplianceReport.objects.get()
    assert report.generated_by == cast.auditor.user
    with pytest.raises(CommandError, match="needs a auditor"):
        call_command(*args, "--as", cast.investigator.user.username)
