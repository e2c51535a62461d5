"""Which list each switch holds, and the drift alarm (issue 11, section 2: "drift is visible").

A switch tells us two things: each fetch (we record the version we served) and, after it has
installed a list, ``POST /api/v1/switch/decision-list/held/ {version}`` (the version it says it
decides with). Drift is judged on the reported version only: a fetch proves delivery, not that
the list reached the switch's decision table intact, and the 2015 failure was exactly an
installed list that had silently shrunk. (Call setup is the natural carrier of the version, the
DESIGN's ``list_version``; until it sends one, the report endpoint is the channel.)

A switch is stale from the moment its facility's list first changed after the version it holds
(``first_change_after``); never having reported counts as holding nothing, from the switch
account's creation. Stale for longer than DECISION_LIST_MAX_STALENESS raises one ``ListAlarm``
of kind ``switch_drift`` (apps/registry/alarms.py's mechanism: the dashboards' banner via
``open_list_alarms``, a ``registry.switch_drift`` audit event and an e-mail to compliance). The
episode's alarm is kept on the switch's ``SwitchListHolding`` so later runs do not raise it
again; it ends when the switch reports a current version, and a later fall-behind is a new
episode with its own alarm.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from apps.audit.services import record_event
from apps.facilities.models import SwitchAccount
from apps.registry.decision_list import (
    ListRequest,
    UnknownVersionError,
    decision_list_body,
    decision_list_publish,
    first_change_after,
)
from apps.registry.models import DecisionListVersion, ListAlarm, ListAlarmKind, SwitchListHolding


def _holding(switch: SwitchAccount) -> SwitchListHolding:
    """The switch's row, locked for this transaction (created on first use)."""
    SwitchListHolding.objects.get_or_create(switch=switch)
    return SwitchListHolding.objects.select_for_update().get(switch=switch)


def decision_list_fetch(
    *, switch: SwitchAccount, request: ListRequest, now: datetime | None = None
) -> dict[str, Any]:
    """A switch fetches its facility's list (full or delta); the fetch is recorded and audited."""
    now = now or timezone.now()
    with transaction.atomic():
        body = decision_list_body(facility=switch.facility, request=request, now=now)
        holding = _holding(switch)
        holding.fetched_version, holding.fetched_at = body["version"], now
        holding.save(update_fields=["fetched_version", "fetched_at"])
        record_event(
            action="registry.decision_list_fetched",
            actor=switch.user,
            facility_id=switch.facility_id,
            details={key: body[key] for key in ("kind", "version", "since", "key_version", "count")},
        )
    return body


def stale_since(*, switch: SwitchAccount, held: int | None) -> datetime | None:
    """Since when the switch's list has missed a change of its facility's list (None: current)."""
    first = first_change_after(held=held or 0, facility_id=switch.facility_id)
    if first is None:
        return None
    changed_at = DecisionListVersion.objects.values_list("created_at", flat=True).get(number=first)
    # Holding nothing, a switch is behind from the moment it exists, not before.
    return max(changed_at, switch.created_at) if held is None else changed_at


@dataclass(frozen=True)
class HeldReport:
    version: int
    current_version: int
    stale_since: datetime | None


def switch_list_held_report(
    *, switch: SwitchAccount, version: int, now: datetime | None = None
) -> HeldReport:
    """The switch says it decides with ``version``. A current version ends its stale episode."""
    now = now or timezone.now()
    with transaction.atomic():
        latest = decision_list_publish(now=now)
        if not DecisionListVersion.objects.filter(number=version).exists():
            raise UnknownVersionError(f"Version {version} was never published (latest: {latest.number}).")
        holding = _holding(switch)
        previous = holding.held_version
        since = stale_since(switch=switch, held=version)
        holding.held_version, holding.held_reported_at = version, now
        if since is None:
            holding.drift_alarm = None
        holding.save(update_fields=["held_version", "held_reported_at", "drift_alarm"])
        if previous != version:  # one event per change of version, not per report
            record_event(
                action="registry.decision_list_held",
                actor=switch.user,
                facility_id=switch.facility_id,
                details={"version": version, "previous": previous, "current_version": latest.number},
            )
    return HeldReport(version=version, current_version=latest.number, stale_since=since)


def switch_drift_check(*, now: datetime | None = None) -> list[ListAlarm]:
    """Beat: raise the drift alarm for each active switch stale past DECISION_LIST_MAX_STALENESS
    and not yet alarmed in this episode. Returns the alarms raised by this run."""
    now = now or timezone.now()
    latest = decision_list_publish(now=now)
    allowed = timedelta(seconds=settings.DECISION_LIST_MAX_STALENESS)
    raised = []
    switches = SwitchAccount.objects.filter(user__is_active=True).select_related("facility", "user")
    for switch in switches.order_by("pk"):
        with transaction.atomic():
            holding = _holding(switch)
            since = stale_since(switch=switch, held=holding.held_version)
            if since is None or holding.drift_alarm_id is not None or now - since <= allowed:
                continue
            alarm = ListAlarm.objects.create(
                kind=ListAlarmKind.SWITCH_DRIFT,
                detected_at=now,
                switch=switch,
                held_version=holding.held_version,
                current_version=latest.number,
                stale_since=since,
                facility_ids=[switch.facility_id],
            )
            holding.drift_alarm = alarm
            holding.save(update_fields=["drift_alarm"])
            record_event(
                action="registry.switch_drift",
                target=alarm,
                facility_id=switch.facility_id,
                details={
                    "switch": switch.user.username,
                    "held_version": holding.held_version,
                    "current_version": latest.number,
                    "stale_since": since.isoformat(),
                    "stale_seconds": int((now - since).total_seconds()),
                    "max_staleness_seconds": settings.DECISION_LIST_MAX_STALENESS,
                },
            )
            transaction.on_commit(functools.partial(_notify_compliance, alarm, switch))
            raised.append(alarm)
    return raised


def _notify_compliance(alarm: ListAlarm, switch: SwitchAccount) -> None:
    held = f"version {alarm.held_version}" if alarm.held_version else "no list at all"
    send_mail(
        subject=(
            f"[callplatform] switch {switch.user.username} at {switch.facility.code}: decision list stale"
        ),
        message=(
            f"The switch {switch.user.username} of {switch.facility.code} reports {held}; the current "
            f"decision list is version {alarm.current_version}. Its copy has missed a change since "
            f"{alarm.stale_since:%Y-%m-%d %H:%M} UTC, longer than DECISION_LIST_MAX_STALENESS "
            f"({settings.DECISION_LIST_MAX_STALENESS} s) allows (list alarm {alarm.pk}).\n"
            "If the switch loses the API, it decides with that stale copy (the storage gate still "
            "refuses privileged audio). Have the vendor check its list updates; acknowledge the "
            "alarm once it is resolved."
        ),
        from_email=None,
        recipient_list=settings.COMPLIANCE_EMAILS,
        fail_silently=True,
    )
