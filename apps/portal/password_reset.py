"""The facility portal's password reset: staff accounts only (active, not suspended, holding a
staff role; never attorneys, switch accounts or superusers). Same machinery and care as the
attorney portal's (apps.accounts.reset_views): audited, rate-limited, links of its own kind."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy

from apps.accounts.reset_views import ResetConfirmView, ResetRequestView


class PasswordResetView(ResetRequestView):
    audience = "staff"
    template_name = "portal/password_reset.html"
    success_url_name = "portal:password-reset-done"
    rate_limited_template = "portal/rate_limited.html"


class PasswordResetConfirmView(ResetConfirmView):
    audience = "staff"
    template_name = "portal/password_reset_confirm.html"
    success_url = reverse_lazy("portal:login")


def reset_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/password_reset_done.html")
