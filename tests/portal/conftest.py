"""Portal fixtures: one small world of actors and recordings, and a real headless browser.

Browser tests drive Debian's chromium (infra/browser.sh installs it) through Playwright
against pytest-django's live_server. Without /usr/bin/chromium they skip, unless
REQUIRE_SERVICES=1 (`make test`), where a missing browser is a failure.
"""

from __future__ import annotations

import io
import math
import os
import struct
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client
from django.utils import timezone

from apps.facilities.models import Facility
from apps.inmates.models import Inmate, InmateUserObjectPermission
from apps.recordings.models import Recording
from tests.actors import PASSWORD, Cast, cast_grant
from tests.conftest import REQUIRE_SERVICES
from tests.factories import CallFactory, InmateFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def wav_audio(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A real, playable WAV (a 440 Hz tone), so the browser's player can decode it."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
            for i in range(int(rate * seconds))
        )
        out.writeframes(frames)
    return buf.getvalue()


@dataclass
class World:
    facility: Facility
    other_facility: Facility
    admin: User
    investigator: User
    officer: User
    auditor: User
    granted_inmate: Inmate
    ungranted_inmate: Inmate
    foreign_inmate: Inmate
    granted: Recording
    ungranted: Recording
    foreign: Recording
    privileged: Recording
    grant: InmateUserObjectPermission


@pytest.fixture
def world(cast: Cast, store_recording: Any) -> World:
    """The standard cast (tests/actors.py) with inmates and recordings around its grant."""
    facility, other = cast.facility, cast.other_facility
    admin, investigator = cast.admin.user, cast.investigator.user
    officer, auditor = cast.officer.user, cast.auditor.user
    granted_inmate = InmateFactory(
        facility=facility, booking_number="G1", first_name="Gary", last_name="Grant"
    )
    ungranted_inmate = InmateFactory(facility=facility, booking_number="U1", last_name="Ungranted")
    foreign_inmate = InmateFactory(facility=other, booking_number="F1", last_name="Foreign")
    granted = store_recording(
        CallFactory(inmate=granted_inmate, dialed_number="+17185550111", duration_seconds=61), wav_audio()
    )
    ungranted = store_recording(CallFactory(inmate=ungranted_inmate, dialed_number="+17185550122"))
    foreign = store_recording(CallFactory(inmate=foreign_inmate))
    privileged_call = CallFactory(inmate=granted_inmate, dialed_number="+12125550199", duration_seconds=30)
    privileged = store_recording(privileged_call)
    # Made privileged after storage (a late registration): the recording is quarantined.
    Recording.objects.filter(pk=privileged.pk).update(state="quarantined", quarantined_at=timezone.now())
    type(privileged_call).objects.filter(pk=privileged_call.pk).update(privileged=True)
    privileged.refresh_from_db()
    grant = cast_grant(cast, granted_inmate, case_reference="CASE-1", days=7)
    return World(
        facility,
        other,
        admin,
        investigator,
        officer,
        auditor,
        granted_inmate,
        ungranted_inmate,
        foreign_inmate,
        granted,
        ungranted,
        foreign,
        privileged,
        grant,
    )


def logged_in(user: User) -> Client:
    """A browser session navigating within the portal (its requests say Sec-Fetch-Site:
    same-origin, as a browser's do; record pages reached from elsewhere ask first)."""
    client = Client(headers={"Sec-Fetch-Site": "same-origin"})
    client.force_login(user)
    return client


# --- the browser -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _browser_marker(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("browser") and not os.path.exists(CHROMIUM):
        if REQUIRE_SERVICES:
            pytest.fail(f"{CHROMIUM} is required under REQUIRE_SERVICES=1 (run infra/browser.sh)")
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (run infra/browser.sh)")


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh browser page. Playwright's sync API runs an event loop in this thread, which
    makes Django refuse ORM calls from the test body; they are safe here (one thread each)."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()
            # ORM calls made while Playwright's loop runs get their own connection (asgiref
            # keys it by context); close it here or PostgreSQL cannot drop the test database.
            connections.close_all()


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def browser_login(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
