"""A login with a username longer than any column is a failed login, not a 500 (found by the
attorney-form fuzzer on PostgreSQL: django-axes stored the guess in a 255-character column)."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/login/", "/attorney/login/"])
def test_a_five_thousand_character_username_is_a_failed_login(path: str) -> None:
    client = Client(raise_request_exception=False)
    for _ in range(2):  # the second attempt updates the lockout row the first created
        response = client.post(path, {"username": "0" * 5000, "password": "0"})
        assert response.status_code == 200, response.status_code
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 2
