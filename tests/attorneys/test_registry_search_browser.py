"""Registry search and a number's history in headless Chromium, at a laptop's width (1366 px)
and a phone's (390 px): the pages fit without sideways scrolling and the flow works by clicks.
Screenshots go to SHOTS_DIR (default test-artifacts/screenshots/)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from apps.actions.registry import exempt_number_verify
from apps.registry.models import ExemptNumber, ExemptStatus
from apps.registry.services import exempt_number_register, exempt_number_reject
from tests.actors import registry_clerk
from tests.factories import AttorneyFactory, FacilityFactory
from tests.portal.conftest import PASSWORD, SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("SHOTS_DIR", str(SCREENSHOTS)))


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _fits(page: Any) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


@pytest.mark.parametrize("width", [1366, 390])
def test_a_clerk_searches_the_registry_and_opens_a_number_s_history(
    browser_page: Any, live_server: Any, width: int
) -> None:
    clerk = registry_clerk(f"clerk-{width}").user
    home = FacilityFactory(code="home", name="Home County Jail")
    ann = AttorneyFactory(full_name="Ann Law", bar_state="NY", bar_number="1234567", firm="Law & Co")
    bob = AttorneyFactory(full_name="Bob Counsel", bar_state="NY", bar_number="7654321")
    office = exempt_number_register(attorney=ann, number="(212) 555-0101", label="office", actor=ann.user)
    exempt_number_verify(exempt_number_id=office.pk, clerk=clerk)
    exempt_number_register(
        attorney=ann,
        number="+44 7700 900123",
        category="consular_officer",
        credential="CA-55120",
        credential_issuer="Consulate General of the United Kingdom in New York",
        facility=home,
        actor=ann.user,
    )
    tried = exempt_number_register(attorney=bob, number="212.555.0101", actor=bob.user)
    exempt_number_reject(exempt_number_id=tried.pk, clerk=clerk, reason="the line is Ann Law's office")
    for n in range(30):  # enough for a second page
        ExemptNumber.objects.create(attorney=bob, number=f"+1718555{n:04d}", status=ExemptStatus.REJECTED)

    page, base = browser_page, live_server.url
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{base}/attorney/login/")
    page.fill("#id_username", clerk.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.click("text=Registry search")
    page.wait_for_selector("text=33 registrations")
    _fits(page)
    _shot(page, f"registry-search-all-{width}")
    page.click("a[rel=next]")
    page.wait_for_selector("text=page 2 of 2")

    page.fill("#id_number", "1 (212) 555-0101")
    page.click("button:text('Search')")
    page.wait_for_selector("text=2 registrations")
    _fits(page)
    _shot(page, f"registry-search-{width}")
    page.click(f"#row-{office.pk} a.num")
    page.wait_for_selector("h1:has-text('History of')")
    assert page.locator("article.card").count() == 2
    assert "Rejected · registration" in page.locator(".timeline").inner_text()
    _fits(page)
    _shot(page, f"registry-history-{width}")

    page.goto(f"{base}/attorney/clerk/registrations/?category=consular_officer")
    page.wait_for_selector("text=1 registration")
    _fits(page)
    _shot(page, f"registry-search-consular-{width}")

    # The queue shows the pending consular registration's category, credential and what is missing.
    page.click("text=Verification queue")
    page.wait_for_selector("text=Consular accreditation id")
    assert "cannot be verified yet" in page.locator("article.card").first.inner_text()
    _fits(page)
    _shot(page, f"clerk-queue-categories-{width}")
