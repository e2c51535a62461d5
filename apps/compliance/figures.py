"""The figures of one facility's compliance report (issue 11, section 8), computed in one place.

Every figure is an aggregate query (COUNT / SUM ... GROUP BY in the database), never a loop
over calls or recordings in Python: a facility's half-year holds millions of calls. The few
rows read into Python are alarms, exposure reports and assurance runs, a handful per period.

The period is [period_start 00:00, period_end + 1 day 00:00) in the facility's timezone.
Synthetic calls (the nightly assurance run, ``Call.synthetic``) are left out of every figure:
their call setups, their refused uploads, anything attached to them.

Where each figure comes from (one home each, nothing restated):
- registered numbers: the registry's own "covers" rule (``REGISTRATION_COVERS_SQL``) at the end
  of the period, global registrations and this facility's, by ``category``; plus those verified
  during the period. It reads the registry as it stands when the report is made (right after the
  period, on the schedule): a registration revoked later counts as revoked.
- calls exempted at setup: ``Call.decision = exempt``, grouped by ``Call.reason`` as stored, so
  a new reason (a privileged station, an inmate-level setting) appears without code here.
- refusals at the gate: the gate's audit events (``recording.upload_refused``), by stage.
- quarantines: holds opened on this facility's recordings (``QuarantineHold``), by kind.
- late registrations: registrations whose verification quarantined earlier recordings here
  (holds of kind ``privileged`` naming the registration).
- exposure incidents: exposure reports made by a verification that touch this facility, with the
  plays of this facility's recordings they list (who listened, how long).
- assurance failures: nightly runs finished in the period (platform-wide, a run covers every
  facility) and the failures they found in this facility (their alarms name the facilities).
- list alarms: unexplained drops that concern this facility (a global registration, or one of
  its own) and drift alarms of its switches.
- stop-button uses: ``StopPress`` rows on this facility's recordings.
"""

from __future__ import annotations

import json
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, Case, Count, Exists, OuterRef, Q, QuerySet, Sum, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncMonth

from apps.audit.models import AuditEvent
from apps.calls.models import Call, Decision
from apps.facilities.models import Facility
from apps.recordings.models import HoldKind, QuarantineHold, StopPress
from apps.registry.alarms import list_alarms_between
from apps.registry.models import (
    AssuranceRun,
    AssuranceStatus,
    ExemptNumber,
    ExposureReport,
    ExposureTrigger,
    ListAlarmKind,
)
from apps.registry.privilege import REGISTRATION_COVERS_SQL

FIGURES_VERSION = 1
REFUSED_ACTION = "recording.upload_refused"

# Registrations in force at the end of the period that reach this facility, per category and
# scope: the registry's one rule, nothing restated (apps/registry/privilege.py).
_REGISTERED_SQL = (
    "SELECT e.category, e.facility_id IS NULL, COUNT(*) FROM registry_exemptnumber e WHERE "  # noqa: S608 - constant SQL, no input
    + REGISTRATION_COVERS_SQL.format(at="%(at)s")
    + " AND (e.facility_id IS NULL OR e.facility_id = %(facility)s) GROUP BY 1, 2 ORDER BY 1, 2"
)


@dataclass(frozen=True)
class Period:
    facility: Facility
    start_date: date
    end_date: date  # inclusive

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.facility.timezone)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.start_date, time.min, tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        """The first instant after the period (exclusive)."""
        return datetime.combine(self.end_date + timedelta(days=1), time.min, tzinfo=self.tz)

    def months(self) -> list[str]:
        """ "YYYY-MM" of every month the period touches, in order."""
        months, cursor = [], self.start_date.replace(day=1)
        while cursor <= self.end_date:
            months.append(f"{cursor:%Y-%m}")
            cursor = (cursor + timedelta(days=32)).replace(day=1)
        return months


def compliance_figures(period: Period) -> dict[str, Any]:
    """Every figure of the report for ``period``: a JSON-ready dict (what the manifest signs)."""
    facility = period.facility
    return {
        "version": FIGURES_VERSION,
        "facility": {
            "id": facility.pk,
            "code": facility.code,
            "name": facility.name,
            "timezone": facility.timezone,
        },
        "period": {"from": period.start_date.isoformat(), "to": period.end_date.isoformat()},
        "registered_numbers": _registered(period),
        "calls": _calls(period),
        "gate_refusals": _refusals(period),
        "quarantines": _quarantines(period),
        "late_registrations": _late_registrations(period),
        "exposure_incidents": _exposure(period),
        "assurance": _assurance(period),
        "list_alarms": _list_alarms(period),
        "stop_button": _stop_button(period),
        "monthly": _monthly(period),
    }


def _real_calls(period: Period) -> QuerySet[Call]:
    return Call.objects.filter(
        facility=period.facility, synthetic=False, started_at__gte=period.start, started_at__lt=period.end
    )


def _registered(period: Period) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            _REGISTERED_SQL,
            {"at": connection.ops.adapt_datetimefield_value(period.end), "facility": period.facility.pk},
        )
        rows = cursor.fetchall()
    at_end: dict[str, dict[str, int]] = {"global": {}, "facility": {}}
    for category, is_global, count in rows:
        at_end["global" if is_global else "facility"][category] = count
    verified = (
        ExemptNumber.objects.filter(verified_at__gte=period.start, verified_at__lt=period.end)
        .filter(Q(facility__isnull=True) | Q(facility=period.facility))
        .values("category")
        .annotate(n=Count("id"))
        .order_by("category")
    )
    return {
        "in_force_at_end": {
            "global": dict(sorted(at_end["global"].items())),
            "facility": dict(sorted(at_end["facility"].items())),
            "total": sum(count for _c, _g, count in rows),
        },
        "verified_during_period": {row["category"]: row["n"] for row in verified},
    }


def _calls(period: Period) -> dict[str, Any]:
    """One pass over the facility's calls of the period: counts per (decision, reason)."""
    groups = _real_calls(period).values("decision", "reason").annotate(n=Count("id")).order_by()
    total, by_reason = 0, dict[str, int]()
    for row in groups:
        total += row["n"]
        if row["decision"] == Decision.EXEMPT:
            by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + row["n"]
    return {
        "total": total,
        "exempted_at_setup": sum(by_reason.values()),
        "exempted_by_reason": dict(sorted(by_reason.items())),
    }


def _refusal_events(period: Period) -> QuerySet[AuditEvent]:
    """The gate's refusals in the period, less those of synthetic calls. The call is found by
    primary key per event (the target id, cast only when it is all digits, so no other target
    can break the cast), so the cost follows the refusals of the period, not the facility's
    synthetic calls of all time."""
    call_id = Case(
        When(
            target_type="calls.call",
            target_id__regex=r"^[0-9]{1,18}$",
            then=Cast("target_id", BigIntegerField()),
        ),
        default=None,
    )
    synthetic = Call.objects.filter(pk=OuterRef("call_id"), synthetic=True)
    return (
        AuditEvent.objects.filter(
            action=REFUSED_ACTION,
            facility_id=period.facility.pk,
            created_at__gte=period.start,
            created_at__lt=period.end,
        )
        .annotate(call_id=call_id)
        .filter(~Exists(synthetic))
    )


def _refusals(period: Period) -> dict[str, Any]:
    by_stage = (
        _refusal_events(period)
        .annotate(stage=KeyTextTransform("stage", "details"))
        .values("stage")
        .annotate(n=Count("id"))
        .order_by("stage")
    )
    stages = {str(row["stage"] or "unknown"): row["n"] for row in by_stage}
    return {"total": sum(stages.values()), "by_stage": stages}


def _holds(period: Period) -> QuerySet[QuarantineHold]:
    return QuarantineHold.objects.filter(
        recording__facility=period.facility,
        recording__call__synthetic=False,
        opened_at__gte=period.start,
        opened_at__lt=period.end,
    )


def _quarantines(period: Period) -> dict[str, Any]:
    by_kind = _holds(period).values("kind").annotate(n=Count("id")).order_by("kind")
    totals = _holds(period).aggregate(holds=Count("id"), recordings=Count("recording", distinct=True))
    return {
        "holds": totals["holds"],
        "recordings": totals["recordings"],
        "by_kind": {row["kind"]: row["n"] for row in by_kind},
    }


def _late_registrations(period: Period) -> dict[str, Any]:
    late = _holds(period).filter(kind=HoldKind.PRIVILEGED, exempt_number__isnull=False)
    totals = late.aggregate(
        registrations=Count("exempt_number", distinct=True), recordings=Count("recording", distinct=True)
    )
    return {"registrations": totals["registrations"], "recordings_quarantined": totals["recordings"]}


def _exposure(period: Period) -> dict[str, Any]:
    """Reports are few (one per late registration), so their bodies are read here; each counts
    only the plays of this facility's recordings."""
    reports = ExposureReport.objects.filter(
        trigger=ExposureTrigger.VERIFICATION,
        generated_at__gte=period.start,
        generated_at__lt=period.end,
        facilities__facility=period.facility,
    ).only("body")
    incidents = with_plays = plays = 0
    listeners: set[int] = set()
    seconds = 0.0
    for report in reports:
        body = json.loads(report.body)
        ours = {
            r["recording_id"] for r in body["recordings"]["rows"] if r["facility_id"] == period.facility.pk
        }
        played = [p for p in body["playbacks"] if p["recording_id"] in ours]
        incidents += 1
        with_plays += bool(played)
        plays += len(played)
        for row in body["listening"]:
            if row["recording_id"] in ours:
                listeners.add(row["user_id"])
                seconds += row.get("seconds_heard") or 0.0
    return {
        "incidents": incidents,
        "incidents_with_plays": with_plays,
        "plays": plays,
        "listeners": len(listeners),
        "seconds_heard": round(seconds, 1),
    }


def _assurance(period: Period) -> dict[str, Any]:
    """Only the number of runs is platform-wide (the nightly schedule); failures are counted in
    this facility only: the report's readers audit this facility, not the others."""
    runs = AssuranceRun.objects.filter(finished_at__gte=period.start, finished_at__lt=period.end)
    here = failed_here = 0
    for details in runs.filter(status=AssuranceStatus.FAILED).values_list("failure_details", flat=True):
        mine = sum(1 for row in details or [] if row.get("facility_id") == period.facility.pk)
        here += mine
        failed_here += 1 if mine else 0
    return {"runs": runs.count(), "failed_runs": failed_here, "failures": here, "failures_in_facility": here}


def _list_alarms(period: Period) -> dict[str, Any]:
    """Alarms are few; which facility one concerns is in its JSON list (``facility_ids``), which
    SQLite cannot search, so it is read here. An unexplained drop with no facility listed lost
    global registrations: it concerns every facility."""
    alarms = list_alarms_between(period.start, period.end).values_list(
        "kind", "facility_ids", "switch__facility_id"
    )
    drops = drift = 0
    for kind, facility_ids, switch_facility in alarms:
        if kind == ListAlarmKind.UNEXPLAINED_DROP and (
            not facility_ids or period.facility.pk in facility_ids
        ):
            drops += 1
        elif kind == ListAlarmKind.SWITCH_DRIFT and switch_facility == period.facility.pk:
            drift += 1
    return {"unexplained_drops": drops, "switch_drift": drift}


def _stop_button(period: Period) -> dict[str, Any]:
    presses = StopPress.objects.filter(
        recording__facility=period.facility,
        recording__call__synthetic=False,
        pressed_at__gte=period.start,
        pressed_at__lt=period.end,
    )
    totals = presses.aggregate(
        presses=Count("id"),
        recordings=Count("recording", distinct=True),
        seconds_heard=Coalesce(Sum("seconds_heard"), 0.0),
    )
    totals["seconds_heard"] = round(float(totals["seconds_heard"]), 1)
    return totals


def _monthly(period: Period) -> dict[str, Any]:
    """Per month (facility time): exempted calls and gate refusals, for the charts."""
    months = period.months()
    exempted = {month: 0 for month in months}
    refused = {month: 0 for month in months}
    calls = (
        _real_calls(period)
        .filter(decision=Decision.EXEMPT)
        .annotate(month=TruncMonth("started_at", tzinfo=period.tz))
        .values("month")
        .annotate(n=Count("id"))
    )
    for row in calls:
        exempted[f"{row['month']:%Y-%m}"] = row["n"]
    events = (
        _refusal_events(period)
        .annotate(month=TruncMonth("created_at", tzinfo=period.tz))
        .values("month")
        .annotate(n=Count("id"))
    )
    for row in events:
        refused[f"{row['month']:%Y-%m}"] = row["n"]
    return {
        "months": months,
        "exempted_calls": [exempted[m] for m in months],
        "gate_refusals": [refused[m] for m in months],
    }


def figure_rows(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The figures as (section, item, value) rows, in reading order: the CSV and the PDF table
    both print exactly these, so they cannot say different things. Keys are sorted here, not
    taken in dict order: the figures come back from JSONB and from the sorted manifest in other
    orders, and must give the same rows."""
    rows: list[tuple[str, str, str]] = []

    def add(section: str, item: str, value: object) -> None:
        rows.append((section, item, str(value)))

    registered = figures["registered_numbers"]
    for scope in ("global", "facility"):
        for category, count in sorted(registered["in_force_at_end"][scope].items()):
            add("Registered numbers in force at period end", f"{scope}: {category}", count)
    add("Registered numbers in force at period end", "total", registered["in_force_at_end"]["total"])
    for category, count in sorted(registered["verified_during_period"].items()):
        add("Registrations verified during the period", category, count)
    calls = figures["calls"]
    add("Calls", "placed (excluding synthetic)", calls["total"])
    add("Calls", "exempted at setup", calls["exempted_at_setup"])
    for reason, count in sorted(calls["exempted_by_reason"].items()):
        add("Calls exempted at setup, by reason", reason, count)
    add("Refusals at the gate", "total", figures["gate_refusals"]["total"])
    for stage, count in sorted(figures["gate_refusals"]["by_stage"].items()):
        add("Refusals at the gate", f"stage: {stage}", count)
    quarantines = figures["quarantines"]
    add("Quarantines", "holds opened", quarantines["holds"])
    add("Quarantines", "recordings held", quarantines["recordings"])
    for kind, count in sorted(quarantines["by_kind"].items()):
        add("Quarantines", f"kind: {kind}", count)
    late = figures["late_registrations"]
    add("Late registrations", "registrations that quarantined earlier recordings", late["registrations"])
    add("Late registrations", "recordings quarantined", late["recordings_quarantined"])
    for key, label in (
        ("incidents", "incidents (exposure reports)"),
        ("incidents_with_plays", "incidents with plays"),
        ("plays", "plays"),
        ("listeners", "distinct listeners"),
        ("seconds_heard", "seconds heard (estimate)"),
    ):
        add("Exposure incidents", label, figures["exposure_incidents"][key])
    assurance = figures["assurance"]
    add("Assurance runs", "runs (platform-wide)", assurance["runs"])
    add("Assurance runs", "runs that failed in this facility", assurance["failed_runs"])
    add("Assurance runs", "failures in this facility", assurance["failures_in_facility"])
    add("List alarms", "unexplained list drops", figures["list_alarms"]["unexplained_drops"])
    add("List alarms", "switch drift alarms", figures["list_alarms"]["switch_drift"])
    stop = figures["stop_button"]
    add("Stop button", "presses", stop["presses"])
    add("Stop button", "recordings stopped", stop["recordings"])
    add("Stop button", "seconds heard before the press", stop["seconds_heard"])
    return rows
