"""Unexplained drops of the verified list raise an alarm (issue 11, section 1).

A number may leave the list only through an act the trail records one registration at a time:
a revocation, an expiry or a rejection (``EXPLAINING_ACTIONS``). Comparing a snapshot with the
one before it, every number that left must have such an event for the registration that covered
it, written between the two snapshots (and, where the event names its number, naming the same
keyed reference). Anything else (rows deleted or rewritten behind the services' back, an import
or an upgrade that shrank the list) raises one ``ListAlarm`` per comparison: the row the
dashboards show until someone acknowledges it, a ``registry.list_drop_unexplained`` event, and
an e-mail to COMPLIANCE_EMAILS.

The nightly assurance run (issue 11, section 3; apps/actions/assurance.py) raises its failures
through the same mechanism: ``assurance_alarm_raise`` makes an ``assurance_failure`` ListAlarm
naming the run, writes ``registry.assurance_failure_alarm`` and mails compliance.

Where dashboards read it: ``open_list_alarms()``. The compliance report (section 8) reads
``list_alarms_between(start, end)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.services import record_event
from apps.common.errors import ConflictError, DomainError
from apps.registry.models import AssuranceRun, ExemptNumber, ListAlarm, ListAlarmKind, ListSnapshot

EXPIRED = "exempt_number.expired"
EXPLAINING_ACTIONS = ("exempt_number.revoked", EXPIRED, "exempt_number.rejected")
# The audited acts that set a registration's end (each records ``effective_until``), and among
# them the ones that give the attorney notice (only then may the registration lapse).
NOTICE_ACTIONS = ("exempt_number.reminder_sent", "exempt_number.renewal_declined")
WINDOW_ACTIONS = (
    "exempt_number.verified",
    "exempt_number.renewed",
    "exempt_number.imported",
    *NOTICE_ACTIONS,
)
REGISTRATION_TARGET = ExemptNumber._meta.label_lower
# The alarm's event names at most this many references (the alarm row holds them all).
EVENT_REFS_MAX = 500
_CHUNK = 500  # ids per IN (...) (SQLite's parameter limit)


def list_drops_check(*, previous: ListSnapshot, current: ListSnapshot) -> ListAlarm | None:
    """Compare two snapshots; raise (and return) the alarm if a drop is unexplained. Runs in the
    caller's transaction (the one that took ``current``).

    A number drops if it left the list, or (both snapshots recording scopes) if its scope
    narrowed: from every facility to one, or from one facility to another. The facilities it
    no longer covers record its calls again, which is a drop for them.
    """
    before = {ref: (reg, facility) for ref, reg, facility in _entries(previous)}
    now = {ref: facility for ref, _, facility in _entries(current)}
    scoped = previous.entries_version >= 2 and current.entries_version >= 2
    dropped: dict[str, int] = {}
    narrowed_to: dict[str, int] = {}
    for ref, (registration, facility) in before.items():
        if ref not in now:
            dropped[ref] = registration
            continue
        after = now[ref]
        # NULL is every facility: scoped where it was global, or moved to another facility.
        if scoped and after is not None and after != facility:
            dropped[ref] = registration
            narrowed_to[ref] = after
    if not dropped:
        return None
    explained = _explained(dropped, since=previous.taken_at, until=current.taken_at)
    unexplained = [
        {
            "number_ref": ref,
            "registration_id": registration,
            **({"narrowed_to_facility_id": narrowed_to[ref]} if ref in narrowed_to else {}),
        }
        for ref, registration in sorted(dropped.items())
        if ref not in explained
    ]
    if not unexplained:
        return None
    facility_ids = sorted(
        ExemptNumber.objects.filter(
            pk__in=[u["registration_id"] for u in unexplained], facility__isnull=False
        )
        .values_list("facility_id", flat=True)
        .distinct()
    )
    alarm = ListAlarm.objects.create(
        kind=ListAlarmKind.UNEXPLAINED_DROP,
        detected_at=current.taken_at,
        snapshot=current,
        previous_snapshot=previous,
        previous_count=previous.count,
        current_count=current.count,
        dropped_count=len(dropped),
        unexplained_count=len(unexplained),
        unexplained=unexplained,
        facility_ids=facility_ids,
    )
    record_event(
        action="registry.list_drop_unexplained",
        target=alarm,
        details={
            "previous_day": previous.day.isoformat(),
            "day": current.day.isoformat(),
            "previous_count": previous.count,
            "current_count": current.count,
            "dropped": len(dropped),
            "unexplained": len(unexplained),
            "unexplained_refs": [u["number_ref"] for u in unexplained[:EVENT_REFS_MAX]],
        },
    )
    transaction.on_commit(lambda: _notify_compliance(alarm, previous=previous, current=current))
    return alarm


def _entries(snapshot: ListSnapshot) -> list[tuple[str, int, int | None]]:
    """(reference, registration, facility or None = every facility) of each entry."""
    return list(snapshot.entries.values_list("number_ref", "registration_id", "facility_id"))


def _explained(dropped: dict[str, int], *, since: datetime, until: datetime) -> set[str]:
    """The references among ``dropped`` whose registration has an explaining event in
    (since, until]. An expiry explains only a lapse at an end the services set (``_audited_lapse``)."""
    by_registration: dict[str, list[str]] = {}
    for ref, registration in dropped.items():
        by_registration.setdefault(str(registration), []).append(ref)
    ids = list(by_registration)
    explained: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        events = list(
            AuditEvent.objects.filter(
                target_type=REGISTRATION_TARGET,
                target_id__in=ids[start : start + _CHUNK],
                action__in=EXPLAINING_ACTIONS,
                created_at__gt=since,
                created_at__lte=until,
            ).values_list("id", "target_id", "action", "created_at", "details")
        )
        windows = _window_events([e[1] for e in events if e[2] == EXPIRED])
        for event_id, target_id, action, created_at, details in events:
            if action == EXPIRED and not _audited_lapse(
                windows.get(target_id, []), (created_at, event_id), details or {}
            ):
                continue
            named = (details or {}).get("number_ref")
            explained.update(ref for ref in by_registration[target_id] if named in (None, ref))
    return explained


def _window_events(
    target_ids: list[str],
) -> dict[str, list[tuple[tuple[datetime, int], str, dict[str, Any]]]]:
    """Per registration, its window-setting events in order: ((created_at, id), action, details)."""
    out: dict[str, list[tuple[tuple[datetime, int], str, dict[str, Any]]]] = {}
    if not target_ids:
        return out
    events = (
        AuditEvent.objects.filter(
            target_type=REGISTRATION_TARGET, target_id__in=set(target_ids), action__in=WINDOW_ACTIONS
        )
        .order_by("created_at", "id")
        .values_list("target_id", "created_at", "id", "action", "details")
    )
    for target_id, created_at, event_id, action, details in events:
        out.setdefault(target_id, []).append(((created_at, event_id), action, details or {}))
    return out


def _audited_lapse(
    windows: list[tuple[tuple[datetime, int], str, dict[str, Any]]],
    expired_at: tuple[datetime, int],
    expired: dict[str, Any],
) -> bool:
    """Did the registration lapse at an end an audited act set?

    The expiry job writes its own audited ``exempt_number.expired`` for whatever the row says,
    so a window shortened (and marked reminded) by a raw UPDATE would be "explained" by it.
    A registration lapses only after notice (``registration_lapsed``): after a verification, a
    renewal or an import, the last act that set its end must be a reminder or a declined
    renewal, and the end it recorded must be the one the expiry lapsed at.
    """
    before = [(action, details) for at, action, details in windows if at < expired_at]
    if not before:
        return False
    action, details = before[-1]
    return action in NOTICE_ACTIONS and _same_instant(
        details.get("effective_until"), expired.get("effective_until")
    )


def _same_instant(a: object, b: object) -> bool:
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    try:
        return datetime.fromisoformat(a) == datetime.fromisoformat(b)
    except ValueError:
        return False


def _notify_compliance(alarm: ListAlarm, *, previous: ListSnapshot, current: ListSnapshot) -> None:
    """Counts and references only: the mail names no number."""
    if alarm.previous_snapshot is None or alarm.snapshot is None:  # the database refuses this
        raise ValueError(f"list alarm {alarm.pk} names no snapshots")
    send_mail(
        subject=(
            f"[callplatform] do-not-record list: {alarm.unexplained_count} number(s) left without explanation"
        ),
        message=(
            f"The verified list went from {alarm.previous_count} to {alarm.current_count} numbers "
            f"between the snapshots of {previous.day} and {current.day}.\n"
            f"{alarm.dropped_count} number(s) left it; {alarm.unexplained_count} of them without an "
            f"audited revocation, expiry or rejection (list alarm {alarm.pk}).\n"
            "Calls to those numbers may be recorded now. A registry clerk sees which numbers they "
            "are on the clerk dashboard; acknowledge the alarm once it is resolved."
        ),
        from_email=None,
        recipient_list=settings.COMPLIANCE_EMAILS,
        fail_silently=True,
    )


def assurance_alarm_raise(run: AssuranceRun) -> ListAlarm:
    """One alarm for a run that found failures (in the caller's transaction): the banner row,
    a ``registry.assurance_failure_alarm`` event and, on commit, an e-mail to compliance."""
    details = run.failure_details
    alarm = ListAlarm.objects.create(
        kind=ListAlarmKind.ASSURANCE_FAILURE,
        detected_at=run.finished_at or timezone.now(),
        assurance_run=run,
        previous_count=run.numbers_checked,
        current_count=run.numbers_checked,
        dropped_count=0,
        unexplained_count=run.failures,
        unexplained=details,
        facility_ids=sorted({d["facility_id"] for d in details if d.get("facility_id") is not None}),
    )
    record_event(
        action="registry.assurance_failure_alarm",
        target=alarm,
        details={
            "assurance_run_id": run.pk,
            "numbers_checked": run.numbers_checked,
            "failures": run.failures,
            "failure_refs": [d["number_ref"] for d in details[:EVENT_REFS_MAX]],
        },
    )
    transaction.on_commit(lambda: _notify_assurance_failure(alarm, run))
    return alarm


def _notify_assurance_failure(alarm: ListAlarm, run: AssuranceRun) -> None:
    """Counts and references only: the mail names no number."""
    send_mail(
        subject=f"[callplatform] assurance run: {run.failures} verified number(s) not protected",
        message=(
            f"The assurance run {run.pk} of {run.started_at:%Y-%m-%d %H:%M} UTC checked "
            f"{run.numbers_checked} verified number(s) through call setup and the storage gate; "
            f"{run.failures} of them failed (list alarm {alarm.pk}).\n"
            "Calls to those numbers may be recorded now. A registry clerk sees which numbers they "
            "are on the clerk dashboard; acknowledge the alarm once it is resolved."
        ),
        from_email=None,
        recipient_list=settings.COMPLIANCE_EMAILS,
        fail_silently=True,
    )


def list_alarm_acknowledge(*, alarm_id: int, user: User, note: str) -> ListAlarm:
    """A person says the alarm is handled (with what was done); it leaves the banners. The
    alarm itself stays, unchanged, for the compliance report."""
    note = note.strip()
    if not note:
        raise DomainError("Say what was done about the alarm.")
    with transaction.atomic():
        alarm = ListAlarm.objects.select_for_update().get(pk=alarm_id)
        if alarm.acknowledged_at is not None:
            raise ConflictError("The alarm is already acknowledged.")
        alarm.acknowledged_by = user
        alarm.acknowledged_at = timezone.now()
        alarm.acknowledgement = note
        alarm.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement"])
        record_event(
            action="registry.list_alarm_acknowledged", actor=user, target=alarm, details={"note": note}
        )
    return alarm


def open_list_alarms() -> QuerySet[ListAlarm]:
    """Alarms nobody has acknowledged yet, newest first: the banner on the clerk and admin
    dashboards. It holds counts and references, never clear numbers."""
    return ListAlarm.objects.filter(acknowledged_at__isnull=True).select_related(
        "snapshot", "previous_snapshot", "assurance_run", "switch__facility", "switch__user"
    )


def alarm_headline(alarm: ListAlarm) -> str:
    """One line for a banner: what happened, in counts and days (never a number)."""
    if alarm.kind == ListAlarmKind.UNEXPLAINED_DROP and alarm.snapshot and alarm.previous_snapshot:
        return (
            f"{alarm.unexplained_count} number(s) left the do-not-record list between "
            f"{alarm.previous_snapshot.day.isoformat()} and {alarm.snapshot.day.isoformat()} without an "
            "audited revocation, expiry or rejection. Calls to them may be recorded now."
        )
    if alarm.kind == ListAlarmKind.ASSURANCE_FAILURE and alarm.assurance_run:
        run = alarm.assurance_run
        return (
            f"The assurance run of {run.started_at:%Y-%m-%d} checked {run.numbers_checked} number(s): "
            f"{run.failures} would have been recorded or stored. Treat them as unprotected until fixed."
        )
    if alarm.kind == ListAlarmKind.SWITCH_DRIFT and alarm.stale_since and alarm.switch:
        return (
            f"The switch of {alarm.switch.facility.name} ({alarm.switch.user.username}) still holds "
            f"decision list version {alarm.held_version} (current {alarm.current_version}) since "
            f"{alarm.stale_since:%Y-%m-%d %H:%M} UTC: it may record calls to numbers added since."
        )
    return f"{alarm.get_kind_display()} (alarm {alarm.pk})."


def open_alarm_banners(limit: int = 10) -> list[tuple[ListAlarm, str]]:
    """The open alarms a dashboard shows, each with its headline."""
    return [(alarm, alarm_headline(alarm)) for alarm in open_list_alarms().order_by("-detected_at")[:limit]]


def list_alarms_between(start: datetime, end: datetime) -> QuerySet[ListAlarm]:
    """Alarms detected in [start, end): the "list drops" of the compliance report."""
    return ListAlarm.objects.filter(detected_at__gte=start, detected_at__lt=end).order_by("detected_at")
