"""End to end in headless Chromium: an attorney signs up, registers two numbers, a clerk
approves one and rejects the other, the attorney sees both outcomes. Screenshots of every page
go to test-artifacts/screenshots/attorney-*.png."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail

from apps.registry.models import ExemptNumber
from tests.actors import actor
from tests.portal.conftest import PASSWORD, screenshot

# The sign-up e-mail goes out from a Celery task: run it in-process (no worker in this test).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_eager"),
]
ATTORNEY_PASSWORD = "a-long-attorney-password"


def _login(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/attorney/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def _logout(page: Any) -> None:
    page.click("text=Log out")


def test_sign_up_register_two_numbers_and_see_the_clerks_decisions(
    browser_page: Any, live_server: Any
) -> None:
    page, base = browser_page, live_server.url
    page.goto(f"{base}/attorney/login/")
    screenshot(page, "attorney-login")
    page.click("text=Create an account")
    page.fill("#id_full_name", "Ada Counsel")
    page.fill("#id_email", "ada@example.org")
    page.fill("#id_username", "ada")
    page.fill("#id_password", ATTORNEY_PASSWORD)
    page.select_option("#id_bar_state", "NY")
    page.fill("#id_bar_number", "1234567")
    page.fill("#id_firm", "Counsel & Partners LLP")
    screenshot(page, "attorney-signup")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Check your e-mail")
    link = re.search(r"https?://[^/\s]+(/attorney/verify/\S+)", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    page.goto(f"{base}{link.group(1)}")
    page.wait_for_selector("text=Your e-mail is confirmed")

    for number, label in (("(212) 555-0101", "office"), ("917.555.0102", "mobile")):
        page.fill("#id_number", number)
        page.fill("#id_label", label)
        page.click("form button:has-text('Register')")
        page.wait_for_selector("text=waits for verification")
    assert page.locator(".numbers li").count() == 2
    screenshot(page, "attorney-numbers-pending")
    _logout(page)

    clerk = actor("clerk", "registry_clerk").user
    _login(page, base, clerk.username, PASSWORD)
    page.wait_for_url(f"{base}/attorney/clerk/")
    screenshot(page, "attorney-clerk-queue")
    office = ExemptNumber.objects.get(number="+12125550101")
    mobile = ExemptNumber.objects.get(number="+19175550102")
    page.click(f"#reg-{office.pk} button:has-text('Approve')")
    page.wait_for_selector("text=earlier recordings are quarantined")  # the confirmation says so
    screenshot(page, "attorney-clerk-approve-confirm")
    page.click("main button:has-text('Approve')")
    page.wait_for_selector("text=existing recording(s) quarantined")
    page.fill(f"#reason-{mobile.pk}", "The bar card shows a different number.")
    page.click(f"#reg-{mobile.pk} button:has-text('Reject')")
    page.wait_for_selector("text=go on being recorded")
    page.click("main button:has-text('Reject')")
    page.wait_for_selector("text=rejected; the attorney is notified")
    screenshot(page, "attorney-clerk-decided")
    _logout(page)

    _login(page, base, "ada", ATTORNEY_PASSWORD)
    page.wait_for_url(f"{base}/attorney/")
    assert page.locator(".s-verified .num").inner_text() == "(212) 555-0101"  # as the region writes it
    assert page.locator(".s-rejected .num").inner_text() == "(917) 555-0102"
    assert "The bar card shows a different number." in page.locator(".s-rejected .reason").inner_text()
    screenshot(page, "attorney-numbers-decided")
    page.click("text=(917) 555-0102")
    page.wait_for_selector("h2:has-text('History')")
    screenshot(page, "attorney-number-detail")
    subjects = sorted(m.subject for m in mail.outbox)
    assert "Your number +12125550101 is verified" in subjects
    assert "Your number +19175550102 was not verified" in subjects

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/attorney/")
    screenshot(page, "attorney-numbers-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
