"""Issue 15 (items 8, 12, 13, 15, 16) in headless Chromium, each flow at a laptop's width
(1366 px) and a phone's (390 px). Screenshots go to $SCREENSHOTS_DIR (default
test-artifacts/screenshots/issue15/), named flow-width-step.png."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from apps.actions.registry import exempt_number_verify
from apps.audit.models import AuditEvent
from apps.registry.models import Attorney, ExemptNumber
from apps.registry.profiles import attorney_signup
from apps.registry.services import exempt_number_register
from tests.actors import PASSWORD, registry_clerk
from tests.portal.conftest import SCREENSHOTS, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or SCREENSHOTS / "issue15")
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
WIDTHS = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}


@pytest.fixture(params=list(WIDTHS))
def width(request: pytest.FixtureRequest, browser_page: Any) -> str:
    browser_page.set_viewport_size(WIDTHS[request.param])
    return str(request.param)


def shot(page: Any, flow: str, width: str, step: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{flow}-{width}-{step}.png"), full_page=True)


def fits(page: Any) -> bool:
    """Nothing wider than the screen (the page does not scroll sideways)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def sign_in(page: Any, base: str, username: str, password: str = PASSWORD, at: str = "/login/") -> None:
    page.goto(f"{base}{at}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


# --- 16: API docs ---------------------------------------------------------------------------------


def test_the_api_docs_render_from_our_own_origin(
    world: World, live_server: Any, browser_page: Any, width: str
) -> None:
    page, base = browser_page, live_server.url

    def off_origin(url: str) -> bool:
        return not url.startswith((base, "data:", "blob:"))

    answered: list[str] = []  # off-origin requests that got a response: bytes left our origin
    page.on("response", lambda r: answered.append(r.url) if off_origin(r.url) else None)
    blocked: list[str] = []
    page.on("requestfailed", lambda r: blocked.append(r.url) if off_origin(r.url) else None)
    sign_in(page, base, "admin")
    page.goto(f"{base}/api/docs/")
    page.wait_for_selector(".opblock-summary-description")
    assert page.locator("text=Switch: upload a call's audio").count() >= 1
    shot(page, "docs-swagger", width, "1")
    page.goto(f"{base}/api/redoc/")
    page.wait_for_selector("h1:has-text('callplatform API')")
    page.wait_for_selector("h2:has-text('Switch: set up a call and get the record/exempt decision')")
    shot(page, "docs-redoc", width, "1")
    assert answered == []
    # The one address either UI names elsewhere: Redoc's unconditional "API docs by Redocly"
    # logo. Our Content-Security-Policy (img-src 'self') stops it in the browser.
    assert set(blocked) <= {REDOCLY_LOGO}


# --- 8: each role lands on its own workspace ----------------------------------------------------


def test_a_clerk_signing_in_at_the_staff_portal_lands_on_the_clerk_queue(
    world: World, live_server: Any, browser_page: Any, width: str
) -> None:
    page, base = browser_page, live_server.url
    registry_clerk("clerk")
    sign_in(page, base, "clerk")
    page.wait_for_url(f"{base}/attorney/clerk/")
    assert page.locator("h1").inner_text() == "Verification queue"
    shot(page, "workspace-clerk", width, "1-landed")


def test_an_officer_reaches_the_review_queue_from_the_staff_menu_and_back(
    world: World, live_server: Any, browser_page: Any, width: str
) -> None:
    page, base = browser_page, live_server.url
    sign_in(page, base, "officer")
    assert page.locator("h1").inner_text() == "Dashboard"
    shot(page, "workspace-officer", width, "1-dashboard")
    assert fits(page)
    page.click("nav >> text=Review queue")
    page.wait_for_url(f"{base}/attorney/review/")
    shot(page, "workspace-officer", width, "2-review")
    page.click("nav >> text=Facility portal")
    page.wait_for_url(f"{base}/")


# --- 12: confirmations ----------------------------------------------------------------------------


def test_an_attorney_confirms_a_revoke_that_says_what_happens(
    attorney: Attorney, clerk: Any, live_server: Any, browser_page: Any, width: str
) -> None:
    page, base = browser_page, live_server.url
    exempt = exempt_number_register(attorney=attorney, number="+12125550101", actor=attorney.user)
    exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    sign_in(page, base, attorney.user.username, at="/attorney/login/")
    page.goto(f"{base}/attorney/numbers/{exempt.pk}/")
    assert "(212) 555-0101" in page.locator("h1").inner_text()
    shot(page, "confirm-attorney-revoke", width, "1-number")
    page.click("button:text('Revoke')")
    assert "will be recorded again from now on" in page.inner_text("main")
    shot(page, "confirm-attorney-revoke", width, "2-confirm")
    assert fits(page)
    exempt.refresh_from_db()
    assert exempt.status == "verified"
    page.click("main button:text('Revoke')")
    page.wait_for_selector("text=calls to it are recorded again")
    shot(page, "confirm-attorney-revoke", width, "3-done")
    exempt.refresh_from_db()
    assert exempt.status == "revoked"


def test_an_admin_confirms_removing_staff(
    world: World, live_server: Any, browser_page: Any, width: str
) -> None:
    page, base = browser_page, live_server.url
    sign_in(page, base, "admin")
    page.goto(f"{base}/staff/")
    shot(page, "confirm-staff-remove", width, "1-staff")
    row = page.locator("tr", has_text="investigator")
    row.locator("button:text('Remove')").click()
    page.wait_for_selector("text=Remove investigator from")
    shot(page, "confirm-staff-remove", width, "2-confirm")
    assert fits(page)
    page.click("main button:text('Remove')")
    page.wait_for_selector("text=Removed investigator from")
    shot(page, "confirm-staff-remove", width, "3-done")


def test_a_clerk_confirms_approve_and_reject(
    attorney: Attorney, clerk: Any, live_server: Any, browser_page: Any, width: str
) -> None:
    page, base = browser_page, live_server.url
    office = exempt_number_register(attorney=attorney, number="+12125550101", actor=attorney.user)
    mobile = exempt_number_register(attorney=attorney, number="+19175550102", actor=attorney.user)
    sign_in(page, base, clerk.username, at="/attorney/login/")
    page.wait_for_url(f"{base}/attorney/clerk/")
    page.click(f"#reg-{office.pk} button:text('Approve')")
    assert "stop being recorded at once" in page.inner_text("main")
    shot(page, "confirm-clerk", width, "1-approve")
    assert fits(page)
    page.click("main button:text('Approve')")
    page.wait_for_selector("text=existing recording(s) quarantined")
    page.fill(f"#reason-{mobile.pk}", "The bar card shows another number.")
    page.click(f"#reg-{mobile.pk} button:text('Reject')")
    assert "The bar card shows another number." in page.inner_text("main")
    shot(page, "confirm-clerk", width, "2-reject")
    page.click("main button:text('Reject')")
    page.wait_for_selector("text=rejected; the attorney is notified")
    shot(page, "confirm-clerk", width, "3-done")
    statuses = dict(ExemptNumber.objects.values_list("pk", "status"))
    assert statuses == {office.pk: "verified", mobile.pk: "rejected"}


def test_an_admin_confirms_revoking_a_grant(
    world: World, live_server: Any, browser_page: Any, width: str
) -> None:
    page, base = browser_page, live_server.url
    sign_in(page, base, "admin")
    page.goto(f"{base}/grants/")
    page.click(f"a[href='/grants/{world.grant.pk}/revoke/']")
    assert "Playback links already issued stop working" in page.inner_text("main")
    shot(page, "confirm-grant-revoke", width, "1-confirm")
    assert fits(page)
    page.click("button:text('Revoke access')")
    page.wait_for_selector("text=Revoked the access of investigator")
    shot(page, "confirm-grant-revoke", width, "2-done")


# --- 10: staff accounts ----------------------------------------------------------------------------


def test_an_admin_invites_staff_and_staff_change_their_password(
    world: World, live_server: Any, browser_page: Any, width: str
) -> None:
    page, base = browser_page, live_server.url
    sign_in(page, base, "admin")
    page.goto(f"{base}/staff/")
    page.fill("#id_invite-username", "newbie")
    page.fill("#id_invite-email", "newbie@example.org")
    page.select_option("#id_invite-facility", str(world.facility.pk))
    page.select_option("#id_invite-role", "investigator")
    shot(page, "staff-invite", width, "1-form")
    page.click("#invite button:text('Invite')")
    page.wait_for_selector("text=Invited newbie as Investigator")
    shot(page, "staff-invite", width, "2-invited")
    assert fits(page)
    page.click(".whoami a")
    page.wait_for_url(f"{base}/account/password/")
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", "a-brand-new-passphrase-9")
    page.fill("#id_new_password2", "a-brand-new-passphrase-9")
    shot(page, "staff-password", width, "1-form")
    page.click("button:text('Change password')")
    page.wait_for_selector("text=Your password is changed.")
    shot(page, "staff-password", width, "2-changed")


# --- 13: login messages ---------------------------------------------------------------------------


def test_an_unconfirmed_attorney_is_told_why_and_sees_the_rules_first(
    db: None, live_server: Any, browser_page: Any, width: str
) -> None:
    page, base = browser_page, live_server.url
    page.goto(f"{base}/attorney/signup/")
    assert "at least 12 characters" in page.inner_text("form")
    shot(page, "login-unconfirmed", width, "1-signup-rules")
    attorney_signup(
        username="nia",
        email="nia@example.org",
        password="correct-horse-battery",
        full_name="Nia Counsel",
        bar_state="NY",
        bar_number="7654321",
        firm="",
        base_url=base,
    )
    sign_in(page, base, "nia", "correct-horse-battery", at="/attorney/login/")
    assert "not confirmed yet" in page.inner_text("main")
    shot(page, "login-unconfirmed", width, "2-told")
    assert fits(page)


# --- 15: details ----------------------------------------------------------------------------------


def test_play_is_a_page_a_refresh_does_not_charge_again(
    world: World, live_server: Any, browser_page: Any, width: str
) -> None:
    page, base = browser_page, live_server.url
    sign_in(page, base, "investigator")
    page.click("nav >> text=Calls")
    assert "(718) 555-0111" in page.inner_text("main")
    shot(page, "details-calls", width, "1-formatted")
    page.click(f"a[href='/recordings/{world.granted.pk}/']")
    page.wait_for_url(f"{base}/recordings/{world.granted.pk}/")
    page.click("#play")
    page.wait_for_url(f"{base}/recordings/{world.granted.pk}/play/")
    page.wait_for_selector("audio#player")
    shot(page, "details-play", width, "1-player")
    page.reload()  # no "resubmit the form?" prompt: it is a GET
    page.wait_for_selector("audio#player")
    issued = AuditEvent.objects.filter(action="recording.playback_link_issued", actor=world.investigator)
    assert issued.count() == 1
    assert fits(page)
    shot(page, "details-play", width, "2-after-refresh")


def test_renew_waits_for_the_reminder_window(
    attorney: Attorney, clerk: Any, live_server: Any, browser_page: Any, width: str, settings: Any
) -> None:
    settings.REGISTRY_WINDOW_MIN_DAYS = 1
    page, base = browser_page, live_server.url
    exempt = exempt_number_register(attorney=attorney, number="+12125550101", actor=attorney.user)
    exempt_number_verify(
        exempt_number_id=exempt.pk, clerk=clerk, effective_until=timezone.now() + timedelta(days=200)
    )
    sign_in(page, base, attorney.user.username, at="/attorney/login/")
    page.goto(f"{base}/attorney/numbers/{exempt.pk}/")
    assert page.locator("button:text('Renew')").count() == 0
    assert "Renewal opens" in page.inner_text("main")
    shot(page, "details-renew", width, "1-not-yet")
    ExemptNumber.objects.filter(pk=exempt.pk).update(effective_until=timezone.now() + timedelta(days=5))
    page.reload()
    assert page.locator("button:text('Renew')").count() == 1
    shot(page, "details-renew", width, "2-near-expiry")
