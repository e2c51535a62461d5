"""Session authentication and login throttling pieces that need no domain app.

Token authentication (which joins the switch account and facility and records rejections in
the audit trail) lives in ``apps/facilities/authentication.py``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

from apps.common.origin import is_same_origin


class CrossSiteSessionError(PermissionDenied):
    default_code = "cross_site"
    default_detail = "Use the portal's own pages, or an API token, to read the API with a session."


class SameOriginSessionAuthentication(SessionAuthentication):
    """The portal's session, accepted only from the portal's own pages.

    A browser sends the session cookie on a link followed from another site or a mail client,
    so without this a link could make a colleague's browser read records (or canaries) as
    them. Token clients are unaffected: a token is never sent by a link.
    """

    def authenticate(self, request: Request) -> tuple[User, None] | None:
        result = super().authenticate(request)
        if result is not None and not is_same_origin(request._request):
            raise CrossSiteSessionError()
        return result


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """django-axes' AXES_USERNAME_CALLABLE: the username tried, cut to the longest a username
    can be. Axes stores it in a 255-character column; a 5,000-character guess was a 500 on
    PostgreSQL (found by the form fuzzer), and no real username is longer than 150."""
    raw = (credentials or {}).get("username")
    if raw is None:
        raw = request.POST.get("username", "") if request is not None else ""
    return str(raw)[:150]
