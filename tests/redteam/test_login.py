"""Red team (2026-11-27): the login page must not tell who is suspended to someone without the
password, not even by how long it takes."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import User
from django.test import Client

from apps.access.suspensions import user_suspend
from tests.actors import Cast

pytestmark = pytest.mark.django_db

HASHINGS: list[str] = []


class CountingHasher(MD5PasswordHasher):
    """The test hasher, counting its work (``verify`` encodes too): with a real, slow hasher
    that work is the response time."""

    def encode(self, password: str, salt: str) -> str:
        HASHINGS.append("encode")
        return super().encode(password, salt)


def _work(username: str) -> int:
    HASHINGS.clear()
    Client().post("/login/", {"username": username, "password": "a-wrong-password"})
    return len(HASHINGS)


def test_a_wrong_password_costs_the_same_for_suspended_active_and_unknown_accounts(
    cast: Cast, settings: Any
) -> None:
    """ATTACK (low, I2 by timing): with a wrong password, the suspension check hashed the
    password a second time for an inactive account only, so the response of a suspended (or
    disabled) username took twice the hashing time of an active or unknown one: an anonymous
    prober could list who is suspended."""
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    user_suspend(user=cast.investigator.user, rule="canary", details={})
    assert not User.objects.get(pk=cast.investigator.user.pk).is_active
    active, unknown, suspended = _work(cast.admin.user.username), _work("nobody-here"), _work("investigator")
    assert active == unknown == suspended
