"""Sign-in and the django-axes lockout page of the facility portal."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy

from apps.access.selectors import open_suspension, suspension_contacts
from apps.audit.services import record_event


class PasswordChangeView(auth_views.PasswordChangeView):
    """Staff change their own password (knowing the current one); audited. The session stays
    signed in (Django keeps the session hash current); other sessions of the user end."""

    template_name = "portal/password_change.html"
    success_url = reverse_lazy("portal:dashboard")

    def form_valid(self, form: Any) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)
            record_event(action="password.changed", actor=form.user, target=form.user)
        messages.success(self.request, "Your password is changed.")
        return response


class SuspensionAwareLoginForm(AuthenticationForm):
    """Sign-in that tells a suspended person so (with whom to ask) instead of "wrong password",
    but only once the password is proven: the form says nothing about anyone else's account."""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            self._explain_suspension()
            raise

    def _explain_suspension(self) -> None:
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not username or not password:
            return
        user = User.objects.filter(username=username, is_active=False).first()
        if user is None:
            # Hash once anyway: a wrong password costs the same for every username, so the
            # time of the answer does not tell who is suspended.
            make_password(password)
            return
        if not user.check_password(password):
            return
        suspension = open_suspension(user)
        if suspension is None:
            return
        contacts = suspension_contacts(user)
        ask = ", ".join(contacts) if contacts else ", ".join(settings.COMPLIANCE_EMAILS)
        raise ValidationError(
            f"Your account is suspended since {suspension.created_at:%Y-%m-%d %H:%M} UTC "
            f"(an automatic check of unusual access). Ask an administrator of your facility to "
            f"review it: {ask}.",
            code="suspended",
        )


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    redirect_authenticated_user = True
    authentication_form = SuspensionAwareLoginForm


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes lockout answer (AXES_LOCKOUT_CALLABLE): a clear page with HTTP 429."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "portal/locked_out.html", {"minutes": minutes}, status=429)
