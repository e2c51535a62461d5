"""Audit events as the compliance page shows them: each target is a link to its portal page
when one exists and the auditor may open it (checked with the same scoped querysets those
pages fetch through), and plain text otherwise, so a link never promises, or reveals, more
than the page behind it would show the auditor."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.urls import reverse

from apps.access.models import Canary
from apps.access.selectors import exports_visible_to
from apps.audit.models import AuditEvent
from apps.common.querysets import Action
from apps.inmates.selectors import inmates_visible_to
from apps.recordings.selectors import recordings_for

# target_type -> (the scoped queryset the target's page fetches through, its URL name, kwarg).
_Scope = Callable[[User], QuerySet]
TARGET_PAGES: dict[str, tuple[_Scope, str, str]] = {
    "inmates.inmate": (inmates_visible_to, "portal:inmate-detail", "inmate_id"),
    "recordings.recording": (
        lambda user: recordings_for(user, Action.VIEW),
        "portal:recording-detail",
        "recording_id",
    ),
    "access.exportrequest": (exports_visible_to, "portal:export-detail", "export_id"),
}


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    target: str  # "type:id", or "" when the event names no target
    target_url: str | None  # only where the auditor may open the target's page
    details_json: str  # pretty-printed, for the expandable details


def event_rows(user: User, events: Iterable[AuditEvent]) -> list[EventRow]:
    """One scoped query per target type on the page (not one per row)."""
    events = list(events)
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.target_type in TARGET_PAGES and event.target_id.isdigit() and len(event.target_id) < 19:
            wanted[event.target_type].add(int(event.target_id))
    openable: dict[str, set[int]] = {}
    for target_type, ids in wanted.items():
        scope = TARGET_PAGES[target_type][0]
        openable[target_type] = set(scope(user).filter(pk__in=ids).values_list("pk", flat=True))
        # Opening a planted canary suspends whoever opens it: the trail never links to one.
        planted = Canary.objects.filter(target_type=target_type, target_id__in=[str(i) for i in ids])
        openable[target_type] -= {int(pk) for pk in planted.values_list("target_id", flat=True)}
    return [_row(event, openable) for event in events]


def _row(event: AuditEvent, openable: dict[str, set[int]]) -> EventRow:
    target = f"{event.target_type}:{event.target_id}" if event.target_id else event.target_type
    url = None
    if event.target_id.isdigit() and int(event.target_id) in openable.get(event.target_type, set()):
        _, name, kwarg = TARGET_PAGES[event.target_type]
        url = reverse(name, kwargs={kwarg: int(event.target_id)})
    details = json.dumps(event.details, indent=2, sort_keys=True, ensure_ascii=False) if event.details else ""
    return EventRow(event=event, target=target, target_url=url, details_json=details)
