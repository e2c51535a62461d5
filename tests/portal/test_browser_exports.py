"""Exports and the dashboard in a real headless browser (Debian's chromium), at a laptop's
1366 px and a phone's 390 px. Screenshots go to /tmp/shots-exports/ (looked at by hand)."""

from __future__ import annotations

import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from apps.access.models import ExportRequest, ExportStatus
from apps.audit.models import AuditEvent
from apps.calls.models import Decision
from tests.factories import CallFactory
from tests.portal.conftest import World, browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots-exports")  # noqa: S108 - screenshots to look at by hand, never read back
WIDTHS = [1366, 390]


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _fits(page: Any) -> None:
    """Nothing of the page's own content is wider than the window (tables scroll inside)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width} px wide"


def _search_calls(page: Any, booking: str) -> None:
    """As a person does (a typed address to a record page asks before it opens)."""
    page.click("nav >> text=Calls")
    page.fill("#id_inmate", booking)
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/calls/?*")


@pytest.mark.parametrize("width", WIDTHS)
def test_request_then_a_second_person_approves_then_the_requester_downloads(
    world: World, live_server: Any, browser_page: Any, celery_eager: None, tmp_path: Path, width: int
) -> None:
    page, base = browser_page, live_server.url
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, base, "investigator")

    page.goto(f"{base}/exports/")
    assert page.locator("#export-how").is_visible()
    shot(page, f"{width}-01-exports-empty")

    _search_calls(page, "G1")
    box = page.locator(f"input[name=recording][value='{world.granted.pk}']")
    box.check()
    shot(page, f"{width}-02-calls-ticked")
    page.click("text=Request an export of the ticked recordings")
    page.wait_for_url("**/exports/new/?*")
    page.click("button:text('Request export')")  # nothing typed: the browser asks first
    page.fill("#id_case_reference", "CASE-77")
    page.fill("#id_justification", "short")
    page.evaluate("document.getElementById('export-form').noValidate = true")
    page.click("button:text('Request export')")
    assert "at least 20 characters" in page.inner_text("#export-form")
    shot(page, f"{width}-03-request-error")
    page.fill("#id_justification", "Court order 2026-114: calls of the week of the escape.")
    page.click("button:text('Request export')")
    page.wait_for_url(f"{base}/exports/")
    assert "requested" in page.inner_text(".messages")
    shot(page, f"{width}-04-exports-pending")
    export = ExportRequest.objects.get()

    page.context.clear_cookies()
    browser_login(page, base, "admin")
    page.goto(f"{base}/exports/")
    page.click(f"a[href='/exports/{export.pk}/']:text('Review')")
    page.wait_for_url(f"**/exports/{export.pk}/")
    assert "Court order 2026-114" in page.inner_text("#justification")
    assert "Grant, Gary" in page.content() and page.locator("#activity").is_visible()
    shot(page, f"{width}-05-approver-review")
    _fits(page)
    page.check("#approve-confirm")
    page.click("#approve")
    page.wait_for_url(f"{base}/exports/")
    assert "approved" in page.inner_text(".messages")
    shot(page, f"{width}-06-approved")
    assert ExportRequest.objects.get().status == ExportStatus.READY

    page.context.clear_cookies()
    browser_login(page, base, "investigator")
    page.goto(f"{base}/exports/")
    shot(page, f"{width}-07-ready-for-download")
    with page.expect_download() as download_info:
        page.click(f"#download-{export.pk}")
    saved = tmp_path / "export.zip"
    download_info.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert f"recording-{world.granted.pk}.audio" in archive.namelist()
    page.goto(f"{base}/exports/")
    assert "Downloaded" in page.inner_text("table.exports")
    shot(page, f"{width}-08-downloaded")
    assert AuditEvent.objects.filter(action="export.downloaded", actor=world.investigator).exists()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_recording_page_starts_a_request_and_the_approver_can_reject(
    world: World, live_server: Any, browser_page: Any, width: int
) -> None:
    page, base = browser_page, live_server.url
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, base, "investigator")
    _search_calls(page, "G1")
    page.click(f"a[href='/recordings/{world.granted.pk}/']")
    page.click("#request-export")
    page.wait_for_url("**/exports/new/?recording=*")
    shot(page, f"{width}-09-request-form")
    page.fill("#id_case_reference", "CASE-78")
    page.fill("#id_justification", "Tip from the unit: the call of Tuesday concerns a witness.")
    page.click("button:text('Request export')")
    page.wait_for_url(f"{base}/exports/")
    export = ExportRequest.objects.get()

    page.context.clear_cookies()
    browser_login(page, base, "admin")
    page.goto(f"{base}/exports/{export.pk}/")  # a typed address: the record page asks first
    assert page.locator("h1").inner_text() == "Open this record?"
    page.click("button:text('Open')")
    page.wait_for_selector("#reject-form")
    page.fill("#id_reason", "No court order on file for CASE-78.")
    page.click("#reject")
    page.wait_for_url(f"{base}/exports/")
    shot(page, f"{width}-10-rejected")
    assert ExportRequest.objects.get().status == ExportStatus.REJECTED
    assert "No court order on file" in page.inner_text("table.exports")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_dashboard_charts_thirty_days_and_its_tiles_link_to_lists(
    world: World, live_server: Any, browser_page: Any, width: int
) -> None:
    now = timezone.now()
    for days in (0, 1, 1, 3, 6, 6, 6, 12, 20, 29):
        CallFactory(inmate=world.granted_inmate, started_at=now - timedelta(days=days, hours=1))
    for days in (2, 6):
        CallFactory(
            inmate=world.granted_inmate,
            started_at=now - timedelta(days=days),
            decision=Decision.EXEMPT,
            privileged=True,
        )
    page, base = browser_page, live_server.url
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, base, "admin")
    assert page.locator("svg.trend").count() == 5
    shot(page, f"{width}-11-dashboard-admin")
    _fits(page)
    page.click("#trend-calls")
    page.wait_for_url("**/calls/?date_from=*")
    assert page.locator("h1").inner_text() == "Calls"
    page.context.clear_cookies()
    browser_login(page, base, "investigator")
    assert page.locator("svg.trend").count() == 4  # no list alarms for an investigator
    shot(page, f"{width}-12-dashboard-investigator")
