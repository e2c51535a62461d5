"""Issue 15, demo trap 1 in headless Chromium at 1366 and 390 px: the suspended person is told
so at sign-in; a second administrator finds the suspension from the staff page and lifts it
with a reason; the person signs in again. Screenshots: suspensions-<width>-<step>.png."""

from __future__ import annotations

from typing import Any

import pytest

from apps.access.suspensions import user_suspend
from tests.actors import FACILITY_ADMIN, staff_member
from tests.portal.conftest import World
from tests.portal.test_browser_issue15 import fits, shot, sign_in
from tests.portal.test_browser_issue15 import width as width  # noqa: F401, F811 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_second_administrator_lifts_a_suspension(
    world: World,
    live_server: Any,
    browser_page: Any,
    width: str,  # noqa: F811
) -> None:
    page, base = browser_page, live_server.url
    second = staff_member("admin2", FACILITY_ADMIN, world.facility).user
    assert user_suspend(user=world.admin, rule="canary", details={}) is not None

    sign_in(page, base, world.admin.username)
    assert "Your account is suspended since" in page.locator("[role=alert]").inner_text()
    assert "admin2" in page.locator("[role=alert]").inner_text()
    assert fits(page)
    shot(page, "suspensions", width, "1-told")

    sign_in(page, base, second.username)
    page.goto(f"{base}/staff/")
    page.click("text=Suspended staff")
    assert "Opened a planted canary record" in page.content()
    assert fits(page)
    shot(page, "suspensions", width, "2-list")
    page.click("text=Review and lift")
    page.fill("#id_reason", "Opened the canary while learning the demo")
    assert fits(page)
    shot(page, "suspensions", width, "3-confirm")
    with page.expect_navigation():
        page.click("button:text('Lift the suspension')")
    assert "can sign in again" in page.content()
    shot(page, "suspensions", width, "4-lifted")

    page.context.clear_cookies()
    sign_in(page, base, world.admin.username)
    assert page.url.rstrip("/") == base
