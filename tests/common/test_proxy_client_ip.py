"""Issue 9, Medium 9: behind the documented nginx every client was 127.0.0.1.

nginx (infra/deploy/nginx.conf.example) connects from 127.0.0.1 and appends the address it saw
to X-Forwarded-For; TRUSTED_PROXY_COUNT=1 says so.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.test import Client

from apps.accounts.roles import REGISTRY_CLERK
from apps.audit.models import AuditEvent
from tests.actors import actor
from tests.support.fresh import run_python

PROXY = "127.0.0.1"
ATTACKER = "203.0.113.5"
CLERK_DESK = "198.51.100.7"
PASSWORD = "a-long-test-password"


@pytest.fixture
def behind_nginx(settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 1


def _login(client: Client, password: str, forwarded_for: str) -> Any:
    return client.post(
        "/login/",
        {"username": "clerk", "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_an_attacker_behind_the_proxy_cannot_lock_the_clerk_out(db: None, behind_nginx: None) -> None:
    actor("clerk", REGISTRY_CLERK)
    attacker = Client()
    for _ in range(5):
        _login(attacker, "wrong-password-123", ATTACKER)
    # The attacker is locked out, even with the right password...
    assert _login(attacker, PASSWORD, ATTACKER).status_code == 429
    # ...but the clerk, at her own desk behind the same proxy, is not.
    clerk = Client()
    r = _login(clerk, PASSWORD, CLERK_DESK)
    assert r.status_code == 302
    assert "_auth_user_id" in clerk.session


def test_a_forged_header_does_not_escape_the_lockout(db: None, behind_nginx: None) -> None:
    """The client writes the left of X-Forwarded-For; only nginx's own entry is believed."""
    actor("clerk", REGISTRY_CLERK)
    attacker = Client()
    for n in range(5):
        _login(attacker, "wrong-password-123", f"10.0.0.{n}, {ATTACKER}")
    assert _login(attacker, PASSWORD, f"10.9.9.9, {ATTACKER}").status_code == 429


def test_audit_events_carry_the_client_not_the_proxy(db: None, behind_nginx: None) -> None:
    clerk = actor("clerk", REGISTRY_CLERK)
    Client().post(
        "/login/",
        {"username": "clerk", "password": PASSWORD},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"6.6.6.6, {CLERK_DESK}",
    )
    event = AuditEvent.objects.get(action="auth.login", actor=clerk.user)
    assert event.client_ip == CLERK_DESK


def test_without_a_trusted_proxy_the_header_is_ignored(db: None, settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 0
    clerk = actor("clerk", REGISTRY_CLERK)
    Client().post(
        "/login/",
        {"username": "clerk", "password": PASSWORD},
        REMOTE_ADDR="192.0.2.10",
        HTTP_X_FORWARDED_FOR=CLERK_DESK,
    )
    event = AuditEvent.objects.get(action="auth.login", actor=clerk.user)
    assert event.client_ip == "192.0.2.10"


@pytest.mark.parametrize("header", ["not-an-address", "", " , ", "999.1.1.1", "1.2.3.4, <script>"])
def test_a_malformed_header_falls_back_to_the_peer(db: None, behind_nginx: None, header: str) -> None:
    clerk = actor("clerk", REGISTRY_CLERK)
    r = Client().post(
        "/login/",
        {"username": "clerk", "password": PASSWORD},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=header,
    )
    assert r.status_code == 302
    assert AuditEvent.objects.get(action="auth.login", actor=clerk.user).client_ip == PROXY


def test_a_bad_proxy_count_is_refused_at_start_up(tmp_path: Any) -> None:
    environ = {"PATH": os.environ.get("PATH", ""), "VAR_DIR": str(tmp_path), "TRUSTED_PROXY_COUNT": "-1"}
    result = run_python(["-c", "import callplatform.settings.base"], environ)
    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT" in result.stderr
