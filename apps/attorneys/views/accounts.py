"""Attorney accounts: sign-in, sign-up, e-mail verification, password reset, profile.

Nothing here answers differently depending on whether a username, an address or a bar number
exists: the outcome is told only to the address's owner, by e-mail (apps.registry.profiles).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy

from apps.accounts.reset_views import ResetConfirmView, ResetRequestView, rate_limited, user_from_uid
from apps.accounts.throttle import TooManyRequestsError
from apps.accounts.tokens import attorney_verify_token, email_change_token
from apps.attorneys import forms
from apps.attorneys.pages import CLERK_PERMISSION, attorney_of, attorney_page, page_user
from apps.recordings.review import REVIEW_PERMISSION
from apps.registry.identity import attorney_profile_update, contact_email_confirm
from apps.registry.profiles import attorney_signup, attorney_verify_email

RATE_LIMITED = "attorneys/rate_limited.html"


class LoginView(auth_views.LoginView):
    """Throttled by django-axes (AxesStandaloneBackend + middleware), like the staff portal."""

    template_name = "attorneys/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        user = self.request.user
        if isinstance(user, User) and not hasattr(user, "attorney"):
            if user.has_perm(CLERK_PERMISSION):
                return reverse("attorneys:clerk-queue")
            if user.has_perm(REVIEW_PERMISSION):
                return reverse("attorneys:review-queue")
        return reverse("attorneys:home")


def signup(request: HttpRequest) -> HttpResponse:
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            attorney_signup(
                username=data["username"],
                email=data["email"],
                password=data["password"],
                full_name=data["full_name"],
                bar_state=data["bar_state"],
                bar_number=data["bar_number"],
                firm=data["firm"],
                base_url=request.build_absolute_uri("/"),
            )
        except TooManyRequestsError as exc:
            return rate_limited(request, RATE_LIMITED, exc)
        return render(request, "attorneys/signup_sent.html", {"email": data["email"]})
    return render(request, "attorneys/signup.html", {"form": form})


def verify_email(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    user = user_from_uid(uidb64, User.objects.filter(attorney__isnull=False))
    if user is None or not attorney_verify_token.check_token(user, token):
        return render(request, "attorneys/verify_failed.html", status=400)
    attorney_verify_email(attorney=user.attorney)
    user.refresh_from_db()
    login(request, user, backend="apps.accounts.backends.PasswordBackend")
    messages.success(request, "Your e-mail is confirmed. Register the numbers you take calls on.")
    return redirect("attorneys:home")


def email_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The link sent to a new contact address. Works without signing in (the token is bound to
    the account and to the address asked for) and signs nobody in."""
    user = user_from_uid(uidb64, User.objects.filter(attorney__isnull=False, is_active=True))
    if user is None or not email_change_token.check_token(user, token):
        return render(request, "attorneys/verify_failed.html", status=400)
    attorney = contact_email_confirm(attorney=user.attorney)
    return render(request, "attorneys/email_confirmed.html", {"email": attorney.contact_email})


class PasswordResetView(ResetRequestView):
    audience = "attorney"
    template_name = "attorneys/password_reset.html"
    success_url_name = "attorneys:password-reset-done"
    rate_limited_template = RATE_LIMITED


class PasswordResetConfirmView(ResetConfirmView):
    audience = "attorney"
    template_name = "attorneys/password_reset_confirm.html"
    success_url = reverse_lazy("attorneys:login")


@attorney_page
def profile(request: HttpRequest) -> HttpResponse:
    attorney = attorney_of(request)
    state, _, number = attorney.shown_bar.partition(" ")
    initial = {
        "full_name": attorney.full_name,
        "bar_state": state,
        "bar_number": number,
        "firm": attorney.firm,
        "contact_email": attorney.contact_email,
        "contact_phone": attorney.contact_phone,
    }
    form = forms.ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = attorney_profile_update(
                attorney=attorney,
                actor=page_user(request),
                base_url=request.build_absolute_uri("/"),
                **form.cleaned_data,
            )
        except TooManyRequestsError as exc:
            return rate_limited(request, RATE_LIMITED, exc)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # The same words whether or not a bar number asked for is someone else's.
            if outcome.saved or not (outcome.identity_requested or outcome.email_confirmation_sent):
                messages.success(request, "Profile saved.")
            if outcome.identity_requested:
                messages.info(request, "Your name and bar number change when a registry clerk approves it.")
            if outcome.email_confirmation_sent:
                messages.info(request, "Open the link we sent to the new address to start using it.")
            return redirect("attorneys:profile")
    pending = attorney.identity_changes.filter(status="pending").first()
    return render(
        request,
        "attorneys/profile.html",
        {"form": form, "pending_change": pending, "pending_email": attorney.pending_contact_email},
    )
