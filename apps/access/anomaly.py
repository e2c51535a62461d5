"""Anomaly analysis of the audit trail (I4): rules with thresholds from settings, plus canaries.

Reads the events committed since the last run (the outbox rows are the source of truth; the
hash chain seals the same rows), under a lock so one analyser runs at a time, and suspends the
actor of any hit. Idempotent: the cursor moves only when the batch's work has committed.

A rule's window starts, for each user, no earlier than the lift of their latest suspension: the
acts before it were judged already (by the analysis and by the administrator who lifted it), so
counting them again would bring the suspension back on the user's next ordinary act.
"""

from __future__ import annotations

import functools
import operator
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from apps.access.models import AnalysisCursor, Canary, Suspension
from apps.access.suspensions import user_suspend
from apps.audit.models import AuditEvent
from apps.calls.reads import SERVED_KEYS
from apps.recordings.models import Recording

BATCH = 2000

# rule -> audit actions it counts
COUNTED_ACTIONS = {
    "denied_probes": ["access.denied"],
    "playback_burst": ["recording.playback_link_issued"],
    "export_burst": ["export.requested"],
    "quota_hammering": ["quota.exceeded"],
    # An attorney flagging in bulk hides evidence or probes who called whom; refusals count.
    "flag_burst": ["privilege_flag.submitted", "privilege_flag.rate_limited"],
    # A switch (or whoever holds its token) filing claims in bulk quarantines audio at will.
    "claim_burst": ["inmate_claim.reported", "inmate_claim.rate_limited"],
}
# Acts that pull protected data out, for the rules that judge volume against a norm.
BULK_ACTIONS = ["recording.playback_link_issued", "calls.downloaded", "export.requested"]
SYSTEM_ACTIONS = {"user.suspended", "user.suspension_lifted"}
# The switch writing a canary into existence is not an access to it.
CANARY_IGNORED_ACTIONS = {"call.setup", "call.end", "recording.stored"}


@dataclass(frozen=True)
class Hit:
    user_id: int
    rule: str
    details: dict[str, Any]


def analyse_new_events() -> list[Hit]:
    hits: list[Hit] = []
    while True:
        with transaction.atomic():
            cursor, _ = AnalysisCursor.objects.select_for_update().get_or_create(pk=1)
            events: list[dict[str, Any]] = [
                dict(row)
                for row in AuditEvent.objects.filter(id__gt=cursor.last_event_id, actor__isnull=False)
                .exclude(action__in=SYSTEM_ACTIONS)
                .order_by("id")
                .values("id", "actor_id", "action", "target_type", "target_id")[:BATCH]
            ]
            if not events:
                return hits
            actor_ids = {e["actor_id"] for e in events}
            batch_hits = _canary_hits(events) + _canary_row_hits(events) + _threshold_hits(actor_ids)
            batch_hits += _detail_walk_hits(actor_ids, timezone.now())
            for hit in _first_per_user(batch_hits):
                user = User.objects.get(pk=hit.user_id)
                if user.is_active and user_suspend(user=user, rule=hit.rule, details=hit.details):
                    hits.append(hit)
            cursor.last_event_id = events[-1]["id"]
            cursor.save(update_fields=["last_event_id"])


def _first_per_user(hits: list[Hit]) -> list[Hit]:
    seen: dict[int, Hit] = {}
    for hit in hits:
        seen.setdefault(hit.user_id, hit)
    return list(seen.values())


def _canary_hits(events: list[dict[str, Any]]) -> list[Hit]:
    events = [e for e in events if e["action"] not in CANARY_IGNORED_ACTIONS]
    targets = {(e["target_type"], e["target_id"]) for e in events if e["target_id"]}
    if not targets:
        return []
    query = Q()
    for target_type, target_id in targets:
        query |= Q(target_type=target_type, target_id=target_id)
    planted = set(Canary.objects.filter(query).values_list("target_type", "target_id"))
    return [
        Hit(
            e["actor_id"],
            "canary",
            {"event_id": e["id"], "action": e["action"], "target": f"{e['target_type']}:{e['target_id']}"},
        )
        for e in events
        if (e["target_type"], e["target_id"]) in planted
    ]


def _latest_lifts(actor_ids: set[int]) -> dict[int, datetime]:
    rows = (
        Suspension.objects.filter(user_id__in=actor_ids, lifted_at__isnull=False)
        .values("user_id")
        .annotate(last=Max("lifted_at"))
    )
    return {row["user_id"]: row["last"] for row in rows}


def _start(actor_id: int, since: datetime, lifts: dict[int, datetime]) -> datetime:
    """Where ``actor_id``'s window begins: ``since``, or their latest lift if that is later."""
    lifted = lifts.get(actor_id)
    return lifted if lifted is not None and lifted > since else since


def _in_windows(actor_ids: set[int], since: datetime, lifts: dict[int, datetime]) -> Q:
    """The events of ``actor_ids`` in their windows (one Q; lifted users are few)."""
    plain = {a for a in actor_ids if _start(a, since, lifts) == since}
    query = Q(actor_id__in=plain, created_at__gte=since)
    for actor_id in sorted(actor_ids - plain):
        query |= Q(actor_id=actor_id, created_at__gte=lifts[actor_id])
    return query


def _threshold_hits(actor_ids: set[int]) -> list[Hit]:
    rules = settings.ANOMALY_RULES
    now = timezone.now()
    lifts = _latest_lifts(actor_ids)
    hits = []
    for rule, actions in COUNTED_ACTIONS.items():
        if rule not in rules:  # a deployment (or a test) that configures fewer rules
            continue
        window, threshold = rules[rule]["window"], rules[rule]["threshold"]
        counts = (
            AuditEvent.objects.filter(_in_windows(actor_ids, now - timedelta(seconds=window), lifts))
            .filter(action__in=actions)
            .values("actor_id")
            .annotate(n=Count("id"))
            .filter(n__gte=threshold)
        )
        hits += [
            Hit(row["actor_id"], rule, {"count": row["n"], "window_seconds": window, "threshold": threshold})
            for row in counts
        ]
    hits += _baseline_hits(actor_ids, now, lifts) + _off_hours_hits(actor_ids, now, lifts)
    window, threshold = rules["distinct_inmates"]["window"], rules["distinct_inmates"]["threshold"]
    for actor_id in actor_ids:
        played = AuditEvent.objects.filter(
            actor_id=actor_id,
            action="recording.playback_link_issued",
            created_at__gte=_start(actor_id, now - timedelta(seconds=window), lifts),
        ).values_list("target_id", flat=True)
        distinct = (
            Recording.objects.filter(pk__in=[int(t) for t in played if t.isdigit()])
            .values("inmate_id")
            .distinct()
            .count()
        )
        if distinct >= threshold:
            hits.append(Hit(actor_id, "distinct_inmates", {"inmates": distinct, "window_seconds": window}))
    return hits


def _baseline_hits(actor_ids: set[int], now: datetime, lifts: dict[int, datetime]) -> list[Hit]:
    """Playback far above the user's own norm: links issued in the last hour against the mean
    of the user's *active* hours in the preceding ``history_days`` (nights and days off would
    dilute a plain mean). Hit when the last hour reaches ``factor`` x that mean and at least
    ``min_count``. A user with no history yet is left to the absolute rules."""
    rule = settings.ANOMALY_RULES["baseline_burst"]
    hour_ago = now - timedelta(hours=1)
    history_start = hour_ago - timedelta(days=rule["history_days"])
    hits = []
    for actor_id in actor_ids:
        playback = AuditEvent.objects.filter(actor_id=actor_id, action="recording.playback_link_issued")
        recent = playback.filter(created_at__gte=_start(actor_id, hour_ago, lifts)).count()
        if recent < rule["min_count"]:
            continue
        per_hour = (
            playback.filter(created_at__gte=history_start, created_at__lt=hour_ago)
            .annotate(hour=TruncHour("created_at"))
            .values("hour")
            .annotate(n=Count("id"))
            .values_list("n", flat=True)
        )
        counts = list(per_hour)
        if not counts:  # no history yet: playback_burst's absolute threshold covers new users
            continue
        baseline = sum(counts) / len(counts)
        if recent >= rule["factor"] * baseline:
            details = {"last_hour": recent, "baseline_per_active_hour": round(baseline, 2)}
            hits.append(Hit(actor_id, "baseline_burst", {**details, "factor": rule["factor"]}))
    return hits


def _off_hours_hits(actor_ids: set[int], now: datetime, lifts: dict[int, datetime]) -> list[Hit]:
    """Bulk access at night: data-pulling acts within the window that happened in the off hours
    (``ANOMALY_OFF_HOURS``: local start and end hour, time zone), at or over the threshold."""
    rule, hours = settings.ANOMALY_RULES["off_hours_bulk"], settings.ANOMALY_OFF_HOURS
    zone = zoneinfo.ZoneInfo(hours["timezone"])
    hits = []
    since = now - timedelta(seconds=rule["window"])
    for actor_id in actor_ids:
        times = AuditEvent.objects.filter(
            actor_id=actor_id, action__in=BULK_ACTIONS, created_at__gte=_start(actor_id, since, lifts)
        ).values_list("created_at", flat=True)
        local_hours = [t.astimezone(zone).hour for t in times]
        at_night = sum(1 for hour in local_hours if _is_off_hours(hour, hours["start"], hours["end"]))
        if at_night >= rule["threshold"]:
            details = {"count": at_night, "window_seconds": rule["window"], "off_hours": hours}
            hits.append(Hit(actor_id, "off_hours_bulk", details))
    return hits


def _is_off_hours(hour: int, start: int, end: int) -> bool:
    """Off hours run from ``start`` to ``end`` (local), possibly across midnight (20 -> 6)."""
    return start <= hour < end if start < end else hour >= start or hour < end


# Detail reads of call records, for the rule that catches walking them one by one.
DETAIL_READ_ACTIONS = ["call.viewed", "recording.viewed"]


def _canary_row_hits(events: list[dict[str, Any]]) -> list[Hit]:
    """A canary among the rows a page served (``apps.calls.reads``: the event lists the ids it
    served under ``call_ids`` / ``recording_ids``), as if it had been opened on its own."""
    ids = [e["id"] for e in events if e["action"] not in CANARY_IGNORED_ACTIONS]
    if not ids:
        return []
    served: list[tuple[int, int, str, str]] = []
    pages = AuditEvent.objects.filter(id__in=ids).filter(
        functools.reduce(operator.or_, [Q(details__has_key=key) for key in SERVED_KEYS])
    )
    for event_id, actor_id, details in pages.values_list("id", "actor_id", "details"):
        for key, target_type in SERVED_KEYS.items():
            served += [(event_id, actor_id, target_type, str(pk)) for pk in details.get(key) or []]
    if not served:
        return []
    planted = set(
        Canary.objects.filter(
            target_type__in=SERVED_KEYS.values(), target_id__in={target_id for *_, target_id in served}
        ).values_list("target_type", "target_id")
    )
    return [
        Hit(actor_id, "canary", {"event_id": event_id, "target": f"{target_type}:{target_id}", "in": "page"})
        for event_id, actor_id, target_type, target_id in served
        if (target_type, target_id) in planted
    ]


def _detail_walk_hits(actor_ids: set[int], now: datetime) -> list[Hit]:
    """Many *distinct* calls or recordings opened one by one within the window: the walk that
    pages through ``calls/{id}/`` instead of the (metered) list. Re-reading one record is not."""
    rule = settings.ANOMALY_RULES["detail_walk"]
    distinct: dict[int, int] = {}
    per_kind = (
        AuditEvent.objects.filter(
            actor_id__in=actor_ids,
            action__in=DETAIL_READ_ACTIONS,
            created_at__gte=now - timedelta(seconds=rule["window"]),
        )
        .values("actor_id", "target_type")
        .annotate(n=Count("target_id", distinct=True))
    )
    for row in per_kind:  # a call and a recording may share an id: count per kind
        distinct[row["actor_id"]] = distinct.get(row["actor_id"], 0) + row["n"]
    return [
        Hit(actor_id, "detail_walk", {"records": n, "window_seconds": rule["window"]})
        for actor_id, n in distinct.items()
        if n >= rule["threshold"]
    ]
