"""Password sign-in (the ModelBackend), telling an attorney whose e-mail is unconfirmed so.

An account signed up but never confirmed is inactive, so Django's ModelBackend answers "wrong
password" and django-axes counts a failure: an attorney who signs in before opening the link
is told the wrong thing and drifts toward a lockout. Here the right password for such an
account raises ``EmailUnconfirmedError`` instead. It is a ``ValidationError``: it leaves
``django.contrib.auth.authenticate`` without the ``user_login_failed`` signal (axes counts
nothing) and every ``AuthenticationForm`` shows it as the form's error. A wrong password is
the usual failure, counted as always; axes' lockout backend still runs first, so a locked-out
pair learns nothing. The password is hashed once either way (ModelBackend's own path).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest

UNCONFIRMED_MESSAGE = (
    "Your e-mail address is not confirmed yet. Open the link we sent you when you signed up "
    "(it works for {hours} hours), then sign in. This did not count as a failed sign-in."
)


class EmailUnconfirmedError(ValidationError):
    pass


class PasswordBackend(ModelBackend):
    """ModelBackend.authenticate with one more answer; everything else (get_user, permissions,
    refusing inactive users' sessions) is ModelBackend's."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            User().set_password(password)  # as ModelBackend: an unknown name costs a hash too
            return None
        if not user.check_password(password):
            return None
        if self.user_can_authenticate(user):
            return user
        attorney = getattr(user, "attorney", None)
        if attorney is not None and attorney.email_verified_at is None:
            raise EmailUnconfirmedError(
                UNCONFIRMED_MESSAGE.format(hours=settings.ATTORNEY_SIGNUP_EXPIRY_HOURS),
                code="email_unconfirmed",
            )
        return None  # inactive for another reason (suspended, disabled): the usual failure
