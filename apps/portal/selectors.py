"""Reads that exist only for a portal page (the dashboard's figures). Reads shared with the API
live in the selectors of the app that owns the rows."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from apps.access.models import ExportRequest
from apps.calls.models import Call, Decision
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.recordings.models import Recording, RecordingState


@dataclass(frozen=True)
class FacilityStats:
    """Today's figures of one facility; None where the user may not see its calls."""

    facility: Facility
    calls_today: int | None
    recorded: int | None
    exempted: int | None
    quarantined: int | None


def facility_day_stats(user: User, facilities: Iterable[Facility]) -> list[FacilityStats]:
    """Figures since local midnight (the facility's own timezone) for each of ``facilities``,
    counted only over the calls and recordings ``user`` may see."""
    calls = Call.objects.restrict(user, Action.VIEW)
    quarantined = Recording.objects.restrict(user, Action.VIEW).filter(state=RecordingState.QUARANTINED)
    sees_calls = set(Facility.objects.restrict(user, Action.VIEW_CALLS).values_list("pk", flat=True))
    stats = []
    for facility in facilities:
        if facility.pk not in sees_calls:
            stats.append(FacilityStats(facility, None, None, None, None))
            continue
        local_now = timezone.now().astimezone(zoneinfo.ZoneInfo(facility.timezone))
        midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
        today = calls.filter(facility=facility, started_at__gte=midnight).aggregate(
            total=Count("id"),
            recorded=Count("id", filter=Q(recording__isnull=False)),
            exempted=Count("id", filter=Q(decision=Decision.EXEMPT)),
        )
        stats.append(
            FacilityStats(
                facility,
                today["total"],
                today["recorded"],
                today["exempted"],
                quarantined.filter(call__facility=facility).count(),
            )
        )
    return stats


def _with_call(recordings: QuerySet[Recording]) -> QuerySet[Recording]:
    return recordings.select_related("call__facility", "call__inmate", "call__exempt_number__attorney")


def playable_recordings(user: User) -> QuerySet[Recording]:
    """What the user may put in an export: what they may play (the service checks it again)."""
    return _with_call(Recording.objects.restrict(user, Action.PLAY)).order_by("call__started_at", "pk")


def playable_ids(user: User, ids: Iterable[int]) -> set[int]:
    """Which of ``ids`` the user may play: the call list ticks only those."""
    return set(
        Recording.objects.restrict(user, Action.PLAY).filter(pk__in=list(ids)).values_list("pk", flat=True)
    )


def export_recordings_seen_by(user: User, export: ExportRequest) -> QuerySet[Recording]:
    """The export's recordings the user may see (an approver of one facility never sees the
    items of another facility in a mixed request; the page counts them instead)."""
    ids = [item.recording_id for item in export.items.all()]
    return (
        _with_call(Recording.objects.restrict(user, Action.VIEW))
        .filter(pk__in=ids)
        .order_by("call__started_at", "pk")
    )


def role_groups_of(user_ids: Iterable[int]) -> dict[int, set[str]]:
    """Each user's role groups (apps.accounts.roles), to name a member's role where the facility
    permissions alone fit two roles (investigators and privilege officers hold the same)."""
    groups: dict[int, set[str]] = {}
    rows = User.groups.through.objects.filter(user_id__in=list(user_ids)).values_list(
        "user_id", "group__name"
    )
    for user_id, name in rows:
        groups.setdefault(user_id, set()).add(name)
    return groups
