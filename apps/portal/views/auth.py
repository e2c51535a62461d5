"""Sign-in and the django-axes lockout page of the facility portal."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy

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


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    redirect_authenticated_user = True


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes lockout answer (AXES_LOCKOUT_CALLABLE): a clear page with HTTP 429."""
    from django.conf import settings

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "portal/locked_out.html", {"minutes": minutes}, status=429)
