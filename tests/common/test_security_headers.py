"""Issue 9, Low: there was no Content-Security-Policy. Every response carries a strict one,
and no page relies on inline script or style (which the policy would block)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from apps.accounts.roles import REGISTRY_CLERK
from tests.actors import actor

ROOT = Path(__file__).resolve().parents[2]
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE)


def _policy(header: str) -> dict[str, str]:
    return {part.split()[0]: part for part in (p.strip() for p in header.split(";")) if part}


@pytest.mark.parametrize(
    "path", ["/login/", "/attorney/login/", "/attorney/signup/", "/api/v1/calls/", "/healthz"]
)
def test_every_response_carries_a_strict_policy(db: None, path: str) -> None:
    response = Client().get(path)
    policy = _policy(response["Content-Security-Policy"])
    assert policy["default-src"] == "default-src 'self'"
    assert policy["script-src"] == "script-src 'self'"
    assert policy["style-src"] == "style-src 'self'"
    assert policy["object-src"] == "object-src 'none'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert "unsafe" not in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_script_or_style(db: None) -> None:
    clerk = actor("clerk", REGISTRY_CLERK)
    client = Client()
    client.force_login(clerk.user)
    pages = [Client().get("/login/"), Client().get("/attorney/signup/"), client.get("/attorney/clerk/")]
    for page in pages:
        assert page.status_code == 200
        assert not INLINE.findall(page.content.decode())


def test_no_template_holds_inline_script_or_style() -> None:
    offenders = {
        str(path.relative_to(ROOT)): INLINE.findall(path.read_text())
        for path in (ROOT / "apps").rglob("templates/**/*.html")
        if INLINE.search(path.read_text())
    }
    assert offenders == {}
