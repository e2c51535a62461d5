"""What every portal page shares: the login-and-errors wrapper, the logged-in user, one page of
a list. Not a views module, so every view module (apps.portal.views.*) may import it
(import-linter: views are entry points, not libraries)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render

from apps.access.errors import QuotaExceededError
from apps.common.errors import NotFoundError

PAGE_SIZE = 25
ViewFunc = Callable[..., HttpResponseBase]


def portal_page(view: ViewFunc) -> ViewFunc:
    """Login required; a NotFoundError (missing *or* forbidden, already audited by
    get_in_scope_or_404) becomes the same 404 page for both; an exhausted quota a 429 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except NotFoundError:
            return render(request, "portal/not_found.html", status=404)
        except QuotaExceededError as exc:  # already audited by metered()
            return render(request, "portal/quota_exceeded.html", {"message": exc.message}, status=429)

    return login_required(wrapper)


def portal_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 - guaranteed by login_required
    return user


def page_of(request: HttpRequest, queryset: QuerySet[Any], per_page: int = PAGE_SIZE) -> Page[Any]:
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def confirmed(request: HttpRequest) -> bool:
    """A consequential act runs only on a POST that says ``confirm=1``: the one its
    confirmation page sends. Any other request renders that page instead."""
    return request.method == "POST" and request.POST.get("confirm") == "1"


def confirmation(
    request: HttpRequest,
    *,
    title: str,
    consequences: list[str],
    button: str,
    cancel_url: str,
    carry: dict[str, str] | None = None,
    facts: list[tuple[str, str]] | None = None,
) -> HttpResponseBase:
    """The step before an act: what it touches (``facts``), what will happen, in words, and one
    button that posts the act (``confirm=1`` and the hidden fields in ``carry``) to this URL."""
    return render(
        request,
        "portal/confirm.html",
        {
            "title": title,
            "consequences": consequences,
            "button": button,
            "cancel_url": cancel_url,
            "carry": sorted((carry or {}).items()),
            "facts": facts or [],
        },
    )
