"""Audit of page reads: one event per page read, naming its filter and how many rows it showed
(never one event per row: the trail must stay readable, and a page is the unit of access)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from apps.audit.references import masked_search_filters
from apps.audit.services import record_event


def page_read_record(
    *,
    actor: User | AnonymousUser,
    action: str,
    rows: int,
    filters: Mapping[str, Any] | None = None,
    page: int | None = None,
) -> None:
    """Record that ``actor`` read a page of ``rows`` rows (a read has no transaction of its own:
    the event commits before the page is sent)."""
    # A searched number (and an inmate searched with it) is kept only as a keyed reference.
    details: dict[str, Any] = {"rows": rows, "filters": masked_search_filters(dict(filters or {}))}
    if page is not None:
        details["page"] = page
    with transaction.atomic():
        record_event(action=action, actor=actor, details=details)
