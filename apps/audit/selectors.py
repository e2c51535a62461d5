"""Reads of the trail. The callers (API, export job) audit each read themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from django.core.cache import cache
from django.db import connection
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


# The distinct actions of the trail, for the auditors' "Action" list. A plain DISTINCT would
# read the whole (large) table on every page view; this walks the action index instead, one
# probe per distinct action (a "loose index scan": a few dozen probes, whatever the row count),
# and the list is cached for a few minutes. Works on PostgreSQL and SQLite alike.
KNOWN_ACTIONS_SQL = """
WITH RECURSIVE walk(action) AS (
    SELECT MIN(action) FROM audit_auditevent
    UNION ALL
    SELECT (SELECT MIN(e.action) FROM audit_auditevent e WHERE e.action > walk.action)
    FROM walk WHERE walk.action IS NOT NULL
)
SELECT action FROM walk WHERE action IS NOT NULL LIMIT %s
"""
KNOWN_ACTIONS_MAX = 500  # bounds the walk even if a bug ever wrote unbounded action names
KNOWN_ACTIONS_CACHE_KEY = "audit:known-actions"
KNOWN_ACTIONS_CACHE_SECONDS = 300


def known_actions(*, fresh: bool = False) -> list[str]:
    """Every action name the trail holds, sorted (cached; ``fresh`` re-reads the index)."""
    if not fresh:
        cached = cache.get(KNOWN_ACTIONS_CACHE_KEY)
        if cached is not None:
            return list(cached)
    with connection.cursor() as cursor:
        cursor.execute(KNOWN_ACTIONS_SQL, [KNOWN_ACTIONS_MAX])
        actions = [row[0] for row in cursor.fetchall()]
    cache.set(KNOWN_ACTIONS_CACHE_KEY, actions, KNOWN_ACTIONS_CACHE_SECONDS)
    return actions
