"""Reads of the trail. The callers (API, export job) audit each read themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from django.db.models import QuerySet

from apps.audit.models import AuditEvent


class EventFilters(TypedDict, total=False):
    since: datetime
    until: datetime
    facility_id: int
    actor: str
    action: str


def events_filtered(filters: EventFilters | dict[str, Any]) -> QuerySet[AuditEvent]:
    """Events matching an auditor's filters: created_at in [since, until), facility, actor
    (username at the time of the act), action (exact, or a prefix when it ends with '.')."""
    queryset = AuditEvent.objects.all()
    if filters.get("since") is not None:
        queryset = queryset.filter(created_at__gte=filters["since"])
    if filters.get("until") is not None:
        queryset = queryset.filter(created_at__lt=filters["until"])
    if filters.get("facility_id") is not None:
        queryset = queryset.filter(facility_id=filters["facility_id"])
    if filters.get("actor"):
        queryset = queryset.filter(actor_label=filters["actor"])
    action = filters.get("action")
    if action:
        queryset = (
            queryset.filter(action__startswith=action)
            if action.endswith(".")
            else queryset.filter(action=action)
        )
    return queryset
