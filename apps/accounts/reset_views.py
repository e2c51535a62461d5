"""The password-reset pages both portals mount, each for its own audience (``attorney`` at
/attorney/password-reset/, ``staff`` at /password-reset/) with its own templates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import User
from django.db import transaction
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.generic import FormView

from apps.accounts.emails import AUDIENCES
from apps.accounts.password_reset import password_reset_request
from apps.accounts.throttle import TooManyRequestsError
from apps.audit.services import record_event


class ResetRequestForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))


if TYPE_CHECKING:
    _FormView = FormView[ResetRequestForm]
else:  # Django's generic views are not subscriptable at run time
    _FormView = FormView


def rate_limited(request: HttpRequest, template: str, exc: TooManyRequestsError) -> HttpResponse:
    """HTTP 429 with the stable reason, for every account form that sends e-mail."""
    return render(request, template, {"reason": exc.reason, "message": exc.message}, status=429)


def user_from_uid(uidb64: str, accounts: Any) -> User | None:
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (ValueError, OverflowError):
        return None
    user: User | None = accounts.filter(pk=pk).first()
    return user


class ResetRequestView(_FormView):
    form_class = ResetRequestForm
    audience = ""
    success_url_name = ""
    rate_limited_template = ""

    def form_valid(self, form: ResetRequestForm) -> HttpResponse:
        try:
            password_reset_request(
                audience=self.audience,
                email=form.cleaned_data["email"],
                base_url=self.request.build_absolute_uri("/"),
            )
        except TooManyRequestsError as exc:
            return rate_limited(self.request, self.rate_limited_template, exc)
        return redirect(self.success_url_name)


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's confirm page, restricted to the audience's accounts and its own token kind, and
    audited. A link for an account that left the audience (suspended, deactivated) is dead."""

    audience = ""

    def dispatch(self, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.token_generator = AUDIENCES[self.audience].token
        return super().dispatch(*args, **kwargs)

    def get_user(self, uidb64: str) -> User | None:
        return user_from_uid(uidb64, AUDIENCES[self.audience].accounts())

    def form_valid(self, form: Form) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)
            user = form.user  # type: ignore[attr-defined]
            record_event(
                action="password_reset.completed",
                actor=user,
                target=user,
                details={"audience": self.audience},
            )
        return response
