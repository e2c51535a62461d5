"""One-time link tokens, one generator per purpose.

Django's default generator serves every purpose with one key, so a password-reset link also
worked as a sign-up verification link (which signs the user in). Each purpose here has its own
``key_salt``: a token made for one purpose never checks for another. Each also has its own
lifetime, and the sign-up and e-mail-change tokens hash the state their use changes, so a used
link stops working.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.http import base36_to_int


class PurposeTokenGenerator(PasswordResetTokenGenerator):
    """A generator bound to one purpose (``key_salt``) with its own lifetime (read from
    settings at each check, so a changed setting applies to links already sent)."""

    def __init__(self, purpose: str, lifetime: Callable[[], timedelta]) -> None:
        super().__init__()
        self.key_salt = f"callplatform.accounts.{purpose}"
        self.lifetime = lifetime

    def check_token(self, user: Any, token: str | None) -> bool:
        if not super().check_token(user, token):
            return False
        assert token is not None  # noqa: S101 - checked by super()
        issued = base36_to_int(token.split("-")[0])
        return self._num_seconds(self._now()) - issued <= self.lifetime().total_seconds()


class _AttorneyStateTokenGenerator(PurposeTokenGenerator):
    """Also hashes whether the sign-up is verified: verifying it kills the link."""

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        verified = getattr(getattr(user, "attorney", None), "email_verified_at", None)
        state = verified.replace(microsecond=0, tzinfo=None) if verified else ""
        return f"{super()._make_hash_value(user, timestamp)}|{state}"


def _reset_lifetime() -> timedelta:
    return timedelta(minutes=settings.ACCOUNT_RESET_LINK_MINUTES)


# A sign-up link lives as long as the unverified account (which then expires).
class _EmailChangeTokenGenerator(PurposeTokenGenerator):
    """Bound to the address asked for (a newer request or the confirmation kills the link) and
    to the password, but not to the last sign-in: the attorney is signed in when asking."""

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        pending = getattr(getattr(user, "attorney", None), "pending_contact_email", "")
        return f"{user.pk}|{user.password}|{timestamp}|{pending}"


attorney_verify_token = _AttorneyStateTokenGenerator(
    "attorney-verify", lambda: timedelta(hours=settings.ATTORNEY_SIGNUP_EXPIRY_HOURS)
)
attorney_reset_token = PurposeTokenGenerator("attorney-reset", _reset_lifetime)
staff_reset_token = PurposeTokenGenerator("staff-reset", _reset_lifetime)
email_change_token = _EmailChangeTokenGenerator(
    "email-change", lambda: timedelta(hours=settings.EMAIL_CHANGE_LINK_HOURS)
)
