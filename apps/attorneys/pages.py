"""What every attorney-portal page shares: the guards (attorney, registry clerk, privilege
officer), the logged-in user, the one way a refused act is shown. Not a views module, so every
view module may import it (import-linter: views are entry points, not libraries)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.safestring import SafeString

from apps.audit.models import Outcome
from apps.audit.services import record_event
from apps.common.errors import DomainError, NotFoundError
from apps.recordings.review import REVIEW_PERMISSION
from apps.registry.models import Attorney

ViewFunc = Callable[..., HttpResponseBase]
CLERK_PERMISSION = "registry.verify_exemptnumber"


def page_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 - guaranteed by login_required
    return user


def _guarded(test: Callable[[User], bool], *, audited: str | None = None) -> Callable[[ViewFunc], ViewFunc]:
    """Login required; users failing ``test`` and missing/foreign objects get the same 404.
    With ``audited`` (the attempted action), a user refused for their role is recorded as
    ``access.denied`` too, as ``get_in_scope_or_404`` records a refused object."""

    def decorate(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not test(page_user(request)):
                if audited is not None:
                    _role_denied(page_user(request), audited, request.path)
                return render(request, "attorneys/not_found.html", status=404)
            try:
                return view(request, *args, **kwargs)
            except NotFoundError:
                return render(request, "attorneys/not_found.html", status=404)

        return login_required(wrapper, login_url=reverse_lazy("attorneys:login"))

    return decorate


attorney_page = _guarded(lambda u: u.is_active and hasattr(u, "attorney"))
clerk_page = _guarded(lambda u: u.is_active and u.has_perm(CLERK_PERMISSION))


def clerk_read_page(attempted: str) -> Callable[[ViewFunc], ViewFunc]:
    """A registry clerk's read of the whole registry (search, a number's history): anyone else
    gets the 404 and the refusal is recorded as ``access.denied``."""
    return _guarded(lambda u: u.is_active and u.has_perm(CLERK_PERMISSION), audited=attempted)


officer_page = _guarded(lambda u: u.is_active and u.has_perm(REVIEW_PERMISSION))
# Exposure reports: officers only (clerks see numbers, not who listened to what); refusals audited.
exposure_page = _guarded(
    lambda u: u.is_active and u.has_perm(REVIEW_PERMISSION), audited="exposure_report.view"
)


def _role_denied(user: User, attempted: str, path: str) -> None:
    with transaction.atomic():
        record_event(
            action="access.denied",
            actor=user,
            outcome=Outcome.DENIED,
            target_type="page",
            target_id=path[:64],
            details={"attempted": attempted, "reason": "role"},
        )


def attorney_of(request: HttpRequest) -> Attorney:
    return page_user(request).attorney


def fail(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, exc.message)


def confirmed(request: HttpRequest) -> bool:
    """A consequential act runs only on a POST that says ``confirm=1``: the one its
    confirmation page sends. Any other request renders that page (``confirmation``) instead."""
    return request.method == "POST" and request.POST.get("confirm") == "1"


def confirmation(
    request: HttpRequest,
    *,
    title: str | SafeString,
    consequence: str,
    button: str,
    cancel_url: str,
    carry: dict[str, str] | None = None,
    tone: str = "danger",
    area: str = "attorney portal",
) -> HttpResponseBase:
    """The step before an act: what will happen, in words, and one button that posts the act
    (with ``confirm=1`` and the fields typed on the page before, ``carry``) back to this URL.
    ``title`` may hold markup only through format_html (it is rendered as given)."""
    return render(
        request,
        "attorneys/confirm.html",
        {
            "title": title,
            "consequence": consequence,
            "button": button,
            "cancel_url": cancel_url,
            "carry": sorted((carry or {}).items()),
            "tone": tone,
            "area": area,
        },
    )
