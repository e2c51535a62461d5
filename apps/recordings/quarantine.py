"""Why a recording is quarantined, and when it may leave quarantine: the one home of that rule.

Each reason is a QuarantineHold row. Reasons accumulate: a pending inmate claim, a verified
number and an attorney's flag can all hold one recording, and deciding one of them never
decides the others. A recording is released only when no hold is open, and never while its
number is privileged; the database refuses a ``stored`` recording with an open hold, so code
that forgets this rule fails instead of leaking (migration 0008).

Who lifts which hold: a claim hold, the registry clerk's decision on that claim; a privileged,
flag or stop-button hold, only the two-officer privilege review (apps.recordings.review). Purging closes
every hold and is reached only through that review: no single person shreds evidence.

Every function here runs inside the deciding transaction and under the number's lock.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from typing import Protocol

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from apps.audit.services import record_event
from apps.calls.models import Call
from apps.facilities.models import Facility
from apps.facilities.stations import lock_station, station_is_live
from apps.recordings.errors import ReleaseRefusedError
from apps.recordings.models import HoldKind, QuarantineHold, Recording, RecordingState
from apps.registry.privilege import is_privileged, lock_number

# The holds the two-officer review decides (a claim hold belongs to the clerk's claim decision).
REVIEWED_KINDS = (HoldKind.PRIVILEGED, HoldKind.FLAG, HoldKind.STOP_BUTTON)


def open_holds(recording: Recording) -> QuerySet[QuarantineHold]:
    return QuarantineHold.objects.filter(recording=recording, closed_at__isnull=True)


def hold_add(
    *,
    recording: Recording,
    kind: str,
    reason: str,
    actor: User | None,
    claim_id: int | None = None,
    flag_id: int | None = None,
    exempt_number_id: int | None = None,
) -> bool:
    """Add a reason to hold ``recording`` (quarantining it if it was playable).

    Returns True if the recording gained a hold it did not have; an identical open hold is not
    stacked. A purged recording needs no hold. Call with the recording's row locked.
    """
    if recording.state == RecordingState.PURGED:
        return False
    same = open_holds(recording).filter(kind=kind)
    if kind == HoldKind.CLAIM:
        same = same.filter(claim_id=claim_id)
    elif kind == HoldKind.FLAG:
        same = same.filter(flag_id=flag_id)
    if same.exists():
        return False
    now = timezone.now()
    if recording.state == RecordingState.STORED:
        # The state first: the database accepts an open hold only on a quarantined recording.
        recording.state = RecordingState.QUARANTINED
        recording.quarantined_at = now
        recording.save(update_fields=["state", "quarantined_at"])
    QuarantineHold.objects.create(
        recording=recording,
        kind=kind,
        reason=reason[:200],
        claim_id=claim_id,
        flag_id=flag_id,
        exempt_number_id=exempt_number_id,
        opened_by=actor,
        opened_at=now,
    )
    _summarise(recording)
    record_event(
        action="recording.quarantined",
        actor=actor,
        target=recording,
        facility_id=recording.facility_id,
        details={"reason": reason, "kind": kind, "open_holds": open_holds(recording).count()},
    )
    return True


def holds_close(
    *,
    recording: Recording,
    holds: Iterable[QuarantineHold],
    outcome: str,
    actor: User,
    reason: str,
    confirmed_by: User | None = None,
) -> bool:
    """Close the given holds (the decision on their reasons) and release the recording if no
    hold is left. Returns whether it was released.

    If the number is privileged for the call's facility by now, the recording is not released:
    it gets a privileged hold instead and goes to the two-officer review.
    """
    now = timezone.now()
    ids = [h.pk for h in holds if h.closed_at is None]
    QuarantineHold.objects.filter(pk__in=ids).update(closed_at=now, closed_by=actor, outcome=outcome)
    if recording.state != RecordingState.QUARANTINED or open_holds(recording).exists():
        _summarise(recording)
        return False
    call = recording.call
    if _call_privileged_now(call, now):
        hold_add(
            recording=recording,
            kind=HoldKind.PRIVILEGED,
            reason=f"{reason}; number or station now privileged",
            actor=actor,
            exempt_number_id=call.exempt_number_id,
        )
        return False
    _release(recording=recording, actor=actor, reason=reason, confirmed_by=confirmed_by)
    return True


def holds_refuse_release(recording: Recording) -> None:
    """The two-officer review may not release while the number is privileged (I1), nor while
    the call's station is a live privileged station."""
    if _call_privileged_now(recording.call, timezone.now()):
        raise ReleaseRefusedError()


def _call_privileged_now(call: Call, now: dt.datetime) -> bool:
    """Would audio of ``call`` be refused now for its number or its station? Under both locks.

    The inmate's "do not record" setting is left out on purpose: it looks forward only (apps.
    inmates.recording_setting), so it never holds audio stored before it, nor blocks its release.
    """
    lock_number(call.dialed_number)
    if call.station:
        lock_station(call.facility_id, call.station)
        if station_is_live(call.facility_id, call.station):
            return True
    return is_privileged(call.dialed_number, now, facility_id=call.facility_id).privileged


def recordings_quarantine_for_station(*, facility_id: int, station_id: str, reason: str, actor: User) -> int:
    """Hold every recording of calls placed from ``station_id`` in its facility for the
    two-officer privilege review, and mark those calls privileged; return how many gained the
    hold. Runs in the registering transaction, under the station's lock (the gate's too), so no
    recording of the station is playable once the registration commits."""
    recordings = Recording.objects.select_for_update().filter(
        call__facility_id=facility_id,
        call__station=station_id,
        state__in=[RecordingState.STORED, RecordingState.QUARANTINED],
    )
    count = 0
    for recording in recordings.select_related("call"):
        count += hold_add(recording=recording, kind=HoldKind.PRIVILEGED, reason=reason, actor=actor)
    Call.objects.filter(facility_id=facility_id, station=station_id, privileged=False).update(privileged=True)
    return count


def _release(*, recording: Recording, actor: User, reason: str, confirmed_by: User | None) -> None:
    recording.state = RecordingState.STORED
    recording.quarantined_at = None
    recording.quarantine_reason = ""
    recording.save(update_fields=["state", "quarantined_at", "quarantine_reason"])
    Call.objects.filter(pk=recording.call_id, decision="record").update(privileged=False, exempt_number=None)
    record_event(
        action="recording.released",
        actor=actor,
        target=recording,
        facility_id=recording.facility_id,
        details={"reason": reason, "confirmed_by": confirmed_by.get_username() if confirmed_by else None},
    )


def _summarise(recording: Recording) -> None:
    """Keep the readable summary in step with the open holds (the holds are the truth)."""
    reasons = list(open_holds(recording).values_list("reason", flat=True))
    summary = "; ".join(reasons)[:200] if reasons else recording.quarantine_reason
    if summary != recording.quarantine_reason:
        recording.quarantine_reason = summary
        recording.save(update_fields=["quarantine_reason"])


class FlaggedCall(Protocol):
    """What a privilege flag says about a call (registry's PrivilegeFlag has these fields);
    recordings reads the facts, not the registry's table."""

    pk: int
    facility_id: int
    booking_number: str
    number: str
    call_date: dt.date

    @property
    def facility(self) -> Facility: ...


def flag_matches(flag: FlaggedCall) -> QuerySet[Recording]:
    """Recordings an attorney's flag is about: the facility, the inmate's booking number, the
    number and the call's local date (in the facility's time zone, which the attorney knows)."""
    tz = zoneinfo.ZoneInfo(flag.facility.timezone)
    start = dt.datetime.combine(flag.call_date, dt.time.min, tzinfo=tz)
    return Recording.objects.filter(
        facility_id=flag.facility_id,
        inmate__booking_number=flag.booking_number,
        call__dialed_number=flag.number,
        call__started_at__gte=start,
        call__started_at__lt=start + dt.timedelta(days=1),
    ).exclude(state=RecordingState.PURGED)


def flag_hold(*, flag: FlaggedCall, actor: User, include_stored: bool) -> int:
    """Hold every recording ``flag`` matches; return how many it matched.

    ``include_stored=False`` (a flag that is only a request) holds just the recordings that are
    already quarantined: that hides nothing from anyone, and it keeps another decision (a
    rejected claim) from releasing a call the attorney says is privileged before the officers
    have decided.
    """
    lock_number(flag.number)
    matched = 0
    for recording in flag_matches(flag).select_for_update().select_related("call"):
        matched += 1
        if recording.state == RecordingState.STORED and not include_stored:
            continue
        hold_add(
            recording=recording,
            kind=HoldKind.FLAG,
            reason=f"privilege flag #{flag.pk}",
            actor=actor,
            flag_id=flag.pk,
        )
    return matched


def claim_holds_close(*, claim_id: int, outcome: str, actor: User, reason: str) -> int:
    """The clerk decided a claim: close its holds; return how many recordings were released."""
    released = 0
    holds = QuarantineHold.objects.filter(claim_id=claim_id, kind=HoldKind.CLAIM, closed_at__isnull=True)
    recording_ids = list(holds.values_list("recording_id", flat=True))
    for recording in (
        Recording.objects.select_for_update().select_related("call").filter(pk__in=recording_ids)
    ):
        mine = list(holds.filter(recording=recording))
        if holds_close(recording=recording, holds=mine, outcome=outcome, actor=actor, reason=reason):
            released += 1
    return released


def review_holds(recording: Recording) -> QuerySet[QuarantineHold]:
    return open_holds(recording).filter(kind__in=REVIEWED_KINDS)
