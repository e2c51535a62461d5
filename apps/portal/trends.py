"""The dashboard's 30-day trends (issue 15, item 14): one series per figure, each counted by
one grouped query over what the user may see, and never a count from a facility outside it.

- calls and exemptions: the user's restricted calls (``Call.objects.restrict``), which leave
  out synthetic calls (the nightly assurance run) by construction;
- gate refusals: the storage gate's ``recording.upload_refused`` events whose call is one of
  those calls (so the assurance run's refusals, on synthetic calls, never count);
- playbacks: the links issued in the facilities the user manages (an administrator watches
  their staff), or the user's own otherwise;
- alarms: the do-not-record list's alarms, for administrators (who see their banners), global
  ones and those touching one of their facilities.

Days are calendar days in the zone of the user's facilities when they share one (else UTC),
so a bar is the day a person at the facility would name.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from django.contrib.auth.models import User
from django.db.models import CharField, Count, QuerySet
from django.db.models.functions import Cast, TruncDate
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.calls.models import Call, Decision
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.registry.guard_models import ListAlarm

DAYS = 30


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    url: str
    days: list[tuple[date, int]]  # oldest first, every day present (0 where none)

    @property
    def total(self) -> int:
        return sum(n for _, n in self.days)

    @property
    def today(self) -> int:
        return self.days[-1][1] if self.days else 0


@dataclass(frozen=True)
class Trends:
    zone: str
    first: date
    last: date
    series: list[Series]


def _zone(facilities: Iterable[Facility]) -> tzinfo:
    zones = {f.timezone for f in facilities}
    return zoneinfo.ZoneInfo(zones.pop()) if len(zones) == 1 else zoneinfo.ZoneInfo("UTC")


def _grouped(queryset: QuerySet[Any], field: str, zone: tzinfo) -> QuerySet[Any]:
    """The one grouped query of a series: (local day, rows)."""
    return (
        queryset.annotate(day=TruncDate(field, tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )


def series_querysets(user: User, *, start: datetime, zone: tzinfo) -> dict[str, QuerySet[Any]]:
    """Each series' grouped query since ``start``, scoped to ``user`` (EXPLAINed in tests)."""
    calls = Call.objects.restrict(user, Action.VIEW)
    recent = calls.filter(started_at__gte=start)
    call_keys = calls.annotate(key=Cast("pk", CharField())).values("key")
    managed = Facility.objects.restrict(user, Action.MANAGE).values("pk")
    seen = Facility.objects.restrict(user, Action.VIEW_CALLS).values("pk")
    playbacks = AuditEvent.objects.filter(action="recording.playback_link_issued", created_at__gte=start)
    if Facility.objects.restrict(user, Action.MANAGE).exists():
        playbacks = playbacks.filter(facility_id__in=managed)
    else:
        playbacks = playbacks.filter(actor=user)
    refusals = AuditEvent.objects.filter(
        action="recording.upload_refused",
        created_at__gte=start,
        facility_id__in=seen,
        target_type="calls.call",
        target_id__in=call_keys,  # a call the user sees: never a synthetic one
    )
    return {
        "calls": _grouped(recent, "started_at", zone),
        "exemptions": _grouped(recent.filter(decision=Decision.EXEMPT), "started_at", zone),
        "refusals": _grouped(refusals, "created_at", zone),
        "playbacks": _grouped(playbacks, "created_at", zone),
    }


def _alarms_per_day(user: User, *, start: datetime, zone: tzinfo) -> dict[date, int] | None:
    """None for users who do not see the list's alarms. Grouped by day and by the facilities
    an alarm names (a JSON list no portable lookup can test), then kept where in scope."""
    managed = set(Facility.objects.restrict(user, Action.MANAGE).values_list("pk", flat=True))
    if not managed:
        return None
    rows = (
        ListAlarm.objects.filter(detected_at__gte=start)
        .annotate(day=TruncDate("detected_at", tzinfo=zone))
        .order_by()
        .values("day", "facility_ids")
        .annotate(n=Count("pk"))
    )
    counts: dict[date, int] = defaultdict(int)
    for row in rows:
        named = set(row["facility_ids"] or [])
        if not named or named & managed:
            counts[row["day"]] += row["n"]
    return counts


def dashboard_trends(user: User, *, now: datetime | None = None, days: int = DAYS) -> Trends | None:
    """The last ``days`` days (today included) of each series the user may see; None for a
    user who sees no facility's calls (nothing to chart)."""
    if not Facility.objects.restrict(user, Action.VIEW_CALLS).exists():
        return None
    zone = _zone(Facility.objects.restrict(user, Action.VIEW_CALLS))
    local_now = (now or timezone.now()).astimezone(zone)
    first = local_now.date() - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    calls_url = f"{reverse('portal:call-list')}?date_from={first.isoformat()}"
    manages = Facility.objects.restrict(user, Action.MANAGE).exists()
    labels = {
        "calls": ("Calls", calls_url),
        "exemptions": ("Exempted", calls_url),
        "refusals": ("Refused at the gate", calls_url),
        "playbacks": ("Playbacks by staff" if manages else "Your playbacks", _playback_list(user)),
    }
    counted: dict[str, dict[date, int]] = {
        key: dict(qs) for key, qs in series_querysets(user, start=start, zone=zone).items()
    }
    alarms = _alarms_per_day(user, start=start, zone=zone)
    if alarms is not None:
        counted["alarms"] = alarms
        labels["alarms"] = ("List alarms", f"{reverse('portal:dashboard')}#alarms")
    calendar = [first + timedelta(days=i) for i in range(days)]
    series = [
        Series(key, labels[key][0], labels[key][1], [(d, counted[key].get(d, 0)) for d in calendar])
        for key in counted
    ]
    return Trends(zone=str(zone), first=first, last=calendar[-1], series=series)


def _playback_list(user: User) -> str:
    """The trail's playback events for those who read the trail; the calls (where recordings
    are played from) for everyone else."""
    if user.has_perm("audit.view_auditevent"):
        return f"{reverse('portal:compliance')}?action=recording.playback_link_issued"
    return reverse("portal:call-list")
