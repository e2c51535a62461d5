"""One page of an API list, and one audit event for it: shared by the API modules that list
protected rows without metering them (metered call rows go through apps.calls.reads)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.reads import page_read_record
from apps.common.api import Pagination, user_of


def audited_page(
    request: Request,
    view: APIView,
    queryset: QuerySet[Any],
    serializer: type[serializers.BaseSerializer[Any]],
    *,
    action: str,
    filters: dict[str, Any] | None = None,
) -> Response:
    """One page, and one audit event for it (its filter and row count)."""
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view) or []
    page_read_record(actor=user_of(request), action=action, rows=len(page), filters=filters)
    return paginator.get_paginated_response(serializer(page, many=True).data)
