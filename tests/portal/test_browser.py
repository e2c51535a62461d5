"""The portal in a real headless browser (Debian's chromium through Playwright)."""

from __future__ import annotations

from typing import Any

import pytest

from apps.audit.models import AuditEvent
from apps.inmates.models import InmateUserObjectPermission
from tests.portal.conftest import World, browser_login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_investigator_finds_a_granted_call_and_plays_its_recording(
    world: World, live_server: Any, browser_page: Any
) -> None:
    page, base = browser_page, live_server.url
    page.goto(f"{base}/login/")
    screenshot(page, "01-login")
    browser_login(page, base, "investigator")
    assert page.locator("h1").inner_text() == "Dashboard"
    screenshot(page, "02-dashboard-investigator")

    page.click("nav >> text=Calls")
    page.fill("#id_inmate", "G1")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/calls/?*")
    screenshot(page, "03-calls-search")
    page.click(f"a[href='/recordings/{world.granted.pk}/']")
    page.wait_for_url(f"**/recordings/{world.granted.pk}/")
    screenshot(page, "04-recording-detail")

    streamed: list[int] = []
    page.on("response", lambda r: streamed.append(r.status) if "/stream/" in r.url else None)
    page.click("#play")
    page.wait_for_selector("audio#player")
    # Polled from outside: wait_for_function evaluates a string in the page, which the
    # Content-Security-Policy (no 'unsafe-eval') rightly refuses.
    for _ in range(200):
        if page.evaluate("document.querySelector('audio#player').readyState") >= 2:
            break
        page.wait_for_timeout(50)
    duration = page.evaluate("document.querySelector('audio#player').duration")
    assert 0.9 < duration < 1.1  # the 1-second tone, decoded by the browser
    assert streamed and set(streamed) <= {200, 206}
    page.evaluate("document.querySelector('audio#player').pause()")
    screenshot(page, "05-recording-player")
    assert AuditEvent.objects.filter(action="recording.streamed", actor=world.investigator).exists()


def test_an_investigator_cannot_reach_an_ungranted_recording_by_url(
    world: World, live_server: Any, browser_page: Any
) -> None:
    page, base = browser_page, live_server.url
    browser_login(page, base, "investigator")
    response = open_by_address(page, f"{base}/recordings/{world.foreign.pk}/")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "Not found"
    screenshot(page, "06-recording-404")
    # Same facility but no grant: metadata only, no way to play.
    open_by_address(page, f"{base}/recordings/{world.ungranted.pk}/")
    assert page.locator("#play").count() == 0
    assert "no grant" in page.content()
    # Quarantined: the state is shown, never a player.
    open_by_address(page, f"{base}/recordings/{world.privileged.pk}/")
    assert page.locator("#play").count() == 0
    screenshot(page, "07-recording-quarantined")
    assert AuditEvent.objects.filter(
        action="access.denied", actor=world.investigator, details__attempted="recording.view"
    ).exists()


def test_a_facility_admin_creates_and_revokes_a_grant(
    world: World, live_server: Any, browser_page: Any
) -> None:
    page, base = browser_page, live_server.url
    browser_login(page, base, "admin")
    screenshot(page, "08-dashboard-admin")
    page.click("nav >> text=Inmates")
    screenshot(page, "09-inmates")
    page.click("a:text('U1')")
    screenshot(page, "10-inmate-detail")
    page.click("text=Grant an investigator access")
    page.select_option("#id_investigator", str(world.investigator.pk))
    page.fill("#id_case_reference", "CASE-2024-0042")
    screenshot(page, "11-grant-form")
    page.click("button:text('Grant access')")
    page.wait_for_url("**/grants/?investigator=investigator")
    assert "Access granted to investigator for inmate U1" in page.inner_text(".messages")
    screenshot(page, "12-grants-after-create")
    grant = InmateUserObjectPermission.objects.get(content_object=world.ungranted_inmate)
    assert grant.case_reference == "CASE-2024-0042"

    page.click(f"a[href='/grants/{grant.pk}/revoke/']")
    screenshot(page, "13-grant-revoke-confirm")
    page.click("button:text('Revoke access')")
    page.wait_for_url(f"{base}/grants/")
    assert "Revoked the access of investigator on inmate U1" in page.inner_text(".messages")
    assert not InmateUserObjectPermission.objects.filter(pk=grant.pk).exists()

    page.click("nav >> text=Staff")
    screenshot(page, "14-staff")
    open_by_address(page, f"{base}/calls/?number=garbage")
    screenshot(page, "15-calls-error")


def open_by_address(page: Any, url: str) -> Any:
    """A typed address is not a navigation within the portal: the record page asks first."""
    page.goto(url)
    assert page.locator("h1").inner_text() == "Open this record?"
    with page.expect_navigation() as navigation:
        page.click("button:text('Open')")
    return navigation.value


def test_a_link_from_another_site_to_a_canary_asks_and_does_not_suspend(
    world: World, live_server: Any, browser_page: Any
) -> None:
    from apps.access.anomaly import analyse_new_events
    from apps.access.canaries import canaries_plant
    from apps.access.models import Suspension

    canary = canaries_plant(facility=world.facility, count=1, actor=world.admin)[0]
    page, base = browser_page, live_server.url
    browser_login(page, base, "investigator")
    analyse_new_events()
    # A colleague's page on another origin links to the canary; the investigator clicks it.
    page.goto(f'data:text/html,<a id="bait" href="{base}/recordings/{canary.pk}/">the case file</a>')
    page.click("#bait")
    page.wait_for_url(f"{base}/recordings/{canary.pk}/")
    assert page.locator("h1").inner_text() == "Open this record?"
    assert canary.call.inmate.last_name not in page.content()
    screenshot(page, "16-cross-site-confirmation")
    analyse_new_events()
    assert not Suspension.objects.filter(user=world.investigator).exists()


def test_password_guessing_ends_on_a_clear_lockout_page(
    world: World, live_server: Any, browser_page: Any
) -> None:
    page, base = browser_page, live_server.url
    page.goto(f"{base}/login/")
    page.fill("#id_username", "officer")
    page.fill("#id_password", "wrong-password-1")
    page.click("button[type=submit]")
    assert "did not match" in page.inner_text(".msg.error")
    screenshot(page, "16-login-failed")
    for _ in range(4):
        page.fill("#id_username", "officer")
        page.fill("#id_password", "wrong-password-1")
        with page.expect_navigation() as nav:
            page.click("button[type=submit]")
    assert nav.value is not None and nav.value.status == 429
    assert page.locator("h1").inner_text() == "Too many failed logins"
    screenshot(page, "17-locked-out")


def test_an_investigator_presses_this_sounds_privileged_stop(
    world: World, live_server: Any, browser_page: Any
) -> None:
    page, base = browser_page, live_server.url
    browser_login(page, base, "investigator")
    open_by_address(page, f"{base}/recordings/{world.granted.pk}/")
    page.click("#play")
    page.wait_for_selector("audio#player")
    page.click("#stop")  # the confirmation box is required: the browser refuses to send
    assert page.locator("#stop-result").count() == 0
    page.check("#stop-confirm")
    page.click("#stop")
    page.wait_for_selector("#stop-result")
    screenshot(page, "18-recording-stopped")
    text = page.locator("#stop-result").inner_text()
    assert "Stopped." in text and "officer" in text
    assert page.locator("audio#player").count() == 0
    world.granted.refresh_from_db()
    assert world.granted.state == "quarantined"
    assert AuditEvent.objects.filter(action="recording.stop_pressed", actor=world.investigator).exists()


def test_the_player_says_why_a_recording_cannot_be_played(
    world: World, live_server: Any, browser_page: Any, store_recording: Any
) -> None:
    """Issue 15, demo trap 2: audio the browser cannot decode shows a clear error, not 0:00."""
    from tests.factories import CallFactory

    broken = store_recording(CallFactory(inmate=world.granted_inmate), b"not audio at all" * 64)
    page, base = browser_page, live_server.url
    browser_login(page, base, "investigator")
    open_by_address(page, f"{base}/recordings/{broken.pk}/")
    page.click("#play")
    page.wait_for_selector("#player-error:not([hidden])", timeout=10_000)
    text = page.locator("#player-error").inner_text()
    assert "could not be decoded" in text or "not in a format this browser can decode" in text
    screenshot(page, "06-player-error")
