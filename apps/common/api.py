"""The one place where errors become HTTP answers: ``{"reason": ..., "detail": ...}``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import set_rollback

from apps.common.errors import DomainError
from apps.common.middleware import NUL_REFUSED

_REASONS: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "malformed_request",
    exceptions.Throttled: "throttled",
    exceptions.NotAcceptable: "not_acceptable",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DataError) and "NUL" in str(exc):
        # A NUL in a body value that reached PostgreSQL (a lookup field, say): bad input, not
        # a server error (found by fuzzing). The query string is refused before any view runs.
        set_rollback()
        return Response(NUL_REFUSED, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        return Response(
            {"reason": "invalid", "detail": "; ".join(exc.messages), "errors": exc.messages},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.ValidationError):
        return Response(
            {"reason": "invalid", "detail": "The request is invalid.", "errors": exc.detail},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.APIException):
        reason = _REASONS.get(type(exc), exc.default_code)
        headers = {}
        if isinstance(exc, exceptions.Throttled) and getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
        return Response(
            {"reason": reason, "detail": str(exc.detail)}, status=exc.status_code, headers=headers
        )
    return None


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def validated(serializer_class: type[Serializer[Any]], request: Request) -> dict[str, Any]:
    """Validate request.data with an input serializer; errors become a 400 with a reason."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def user_of(request: Request) -> User:
    """The authenticated user of a request that passed an IsAuthenticated-style permission."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise exceptions.NotAuthenticated()
    return user


def validated_query(serializer_class: type[Serializer[Any]], request: Request) -> dict[str, Any]:
    """Validate query parameters the same way; unknown values get a 400, not a guess."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
