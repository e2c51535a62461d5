"""Privilege review: what happens to a quarantined recording after the quarantine.

Two exits, both final: *release* (state back to "stored", with a reason) or *purge*
(crypto-shred the wrapped key, delete the object and every version from storage, keep a
tombstone). A privilege officer proposes one; it takes effect only when a *different* officer
confirms it (a ReviewDecision row; the database refuses proposer == confirmer). Claim
decisions (apps.registry.services) use the same two primitives directly, because the clerk's
decision on the claim is the review.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.audit.services import record_event
from apps.calls.models import Call
from apps.common.errors import ConflictError, DomainError
from apps.recordings.models import Recording, RecordingState, ReviewAction, ReviewDecision, Tombstone
from apps.recordings.storage import get_storage
from apps.registry.models import CLAIM_QUARANTINE_PREFIX, PrivilegeFlag
from apps.registry.privilege import is_privileged, lock_number

REVIEW_PERMISSION = "recordings.review_quarantine"
FLAG_QUARANTINE_PREFIX = "privilege flag #"


class NotQuarantinedError(ConflictError):
    reason = "not_quarantined"
    default_message = "Only a quarantined recording can be released or purged."


class DecisionAlreadyOpenError(ConflictError):
    reason = "decision_open"
    default_message = "A decision on this recording already waits for confirmation."


class SameOfficerError(DomainError):
    status_code = 403
    reason = "second_officer_required"
    default_message = "A different privilege officer must confirm this decision."


class NotAPrivilegeOfficerError(DomainError):
    status_code = 403
    reason = "not_privilege_officer"
    default_message = "Only privilege officers may review quarantined recordings."


class ReleaseRefusedError(ConflictError):
    reason = "privileged_number"
    default_message = "The call is to a verified attorney number: its recording can only be purged."


def review_queue(user: User) -> QuerySet[Recording]:
    """Quarantined recordings the officer may see, minus those waiting on an inmate claim
    (the clerk's claim decision settles those)."""
    return (
        Recording.objects.restrict(user, "view")
        .filter(state=RecordingState.QUARANTINED)
        .exclude(quarantine_reason__startswith=CLAIM_QUARANTINE_PREFIX)
        .select_related("call", "inmate", "facility")
    )


def recording_purge(
    *, recording: Recording, actor: User, reason: str, confirmed_by: User | None = None
) -> None:
    """Destroy a quarantined recording for good. Call inside the deciding transaction.

    The wrapped key is destroyed and a tombstone written in the transaction; the object (every
    version) is deleted from storage before commit, so a storage failure rolls the purge back
    and it can simply be retried. If the commit itself failed after the delete, the object is
    gone while the row is still quarantined: unreadable, which is the safe side.
    """
    if recording.state != RecordingState.QUARANTINED:
        raise NotQuarantinedError()
    recording.state = RecordingState.PURGED
    recording.wrapped_key = None
    recording.purged_at = timezone.now()
    recording.save(update_fields=["state", "wrapped_key", "purged_at"])
    Tombstone.objects.create(
        recording=recording,
        sha256=recording.sha256,
        size_bytes=recording.size_bytes,
        purged_by=actor,
        confirmed_by=confirmed_by,
        purged_at=recording.purged_at,
        reason=reason,
    )
    record_event(
        action="recording.purged",
        actor=actor,
        target=recording,
        facility_id=recording.facility_id,
        details={"reason": reason, "sha256": recording.sha256, "confirmed_by": _name(confirmed_by)},
    )
    get_storage().delete(recording.storage_key)


def recording_release(
    *, recording: Recording, actor: User, reason: str, confirmed_by: User | None = None
) -> None:
    """Make a quarantined recording playable again (under the number's lock, so a verification
    cannot race it). Refused while the number is privileged for the call's facility."""
    if recording.state != RecordingState.QUARANTINED:
        raise NotQuarantinedError()
    call = recording.call
    lock_number(call.dialed_number)
    if is_privileged(call.dialed_number, timezone.now(), facility_id=call.facility_id).privileged:
        raise ReleaseRefusedError()
    recording.state = RecordingState.STORED
    recording.quarantined_at = None
    recording.quarantine_reason = ""
    recording.save(update_fields=["state", "quarantined_at", "quarantine_reason"])
    Call.objects.filter(pk=call.pk, decision="record").update(privileged=False, exempt_number=None)
    record_event(
        action="recording.released",
        actor=actor,
        target=recording,
        facility_id=recording.facility_id,
        details={"reason": reason, "confirmed_by": _name(confirmed_by)},
    )


def _name(user: User | None) -> str | None:
    return user.get_username() if user is not None else None


def _require_officer(user: User) -> None:
    if not (user.is_active and user.has_perm(REVIEW_PERMISSION)):
        raise NotAPrivilegeOfficerError()


def review_propose(*, recording: Recording, officer: User, action: str, reason: str) -> ReviewDecision:
    """First officer: propose release or purge. Nothing changes until another officer confirms."""
    _require_officer(officer)
    if action not in ReviewAction.values:
        raise DomainError(f"action must be one of {ReviewAction.values}")
    if not reason.strip():
        raise DomainError("A reason is required.")
    try:
        with transaction.atomic():
            locked = Recording.objects.select_for_update().get(pk=recording.pk)
            if locked.state != RecordingState.QUARANTINED:
                raise NotQuarantinedError()
            decision = ReviewDecision.objects.create(
                recording=locked, action=action, reason=reason.strip(), proposed_by=officer
            )
            record_event(
                action="recording.review_proposed",
                actor=officer,
                target=locked,
                facility_id=locked.facility_id,
                details={"action": action, "reason": decision.reason, "decision_id": decision.pk},
            )
    except IntegrityError as exc:
        raise DecisionAlreadyOpenError() from exc
    return decision


def review_confirm(*, decision_id: int, officer: User) -> ReviewDecision:
    """Second officer: confirm a proposal, which then takes effect in the same transaction."""
    _require_officer(officer)
    with transaction.atomic():
        decision = ReviewDecision.objects.select_for_update().get(pk=decision_id)
        if decision.confirmed_by_id is not None:
            raise ConflictError("This decision was already confirmed.")
        if decision.proposed_by_id == officer.pk:
            raise SameOfficerError()
        recording = Recording.objects.select_for_update().select_related("call").get(pk=decision.recording_id)
        decision.confirmed_by = officer
        decision.confirmed_at = timezone.now()
        decision.save(update_fields=["confirmed_by", "confirmed_at"])
        if decision.action == ReviewAction.PURGE:
            recording_purge(
                recording=recording, actor=decision.proposed_by, reason=decision.reason, confirmed_by=officer
            )
        else:
            recording_release(
                recording=recording, actor=decision.proposed_by, reason=decision.reason, confirmed_by=officer
            )
    return decision


def review_withdraw(*, decision_id: int, officer: User) -> None:
    """An open proposal can be withdrawn by any officer (e.g. to propose the other exit)."""
    _require_officer(officer)
    with transaction.atomic():
        decision = ReviewDecision.objects.select_for_update().get(pk=decision_id, confirmed_by__isnull=True)
        record_event(
            action="recording.review_withdrawn",
            actor=officer,
            target=decision.recording,
            facility_id=decision.recording.facility_id,
            details={"decision_id": decision.pk, "action": decision.action},
        )
        decision.delete()


def privilege_flag_quarantine(*, flag: PrivilegeFlag, actor: User) -> int:
    """Quarantine at once every stored recording matching an attorney's flag; return how many.

    Matches the facility, the inmate's booking number, the number and the call's local date
    (in the facility's time zone, which is what the attorney knows).
    """
    tz = zoneinfo.ZoneInfo(flag.facility.timezone)
    start = dt.datetime.combine(flag.call_date, dt.time.min, tzinfo=tz)
    end = start + dt.timedelta(days=1)
    now = timezone.now()
    reason = f"{FLAG_QUARANTINE_PREFIX}{flag.pk}"
    count = 0
    lock_number(flag.number)
    recordings = Recording.objects.select_for_update().filter(
        facility_id=flag.facility_id,
        inmate__booking_number=flag.booking_number,
        call__dialed_number=flag.number,
        call__started_at__gte=start,
        call__started_at__lt=end,
        state=RecordingState.STORED,
    )
    for recording in recordings:
        recording.state = RecordingState.QUARANTINED
        recording.quarantined_at = now
        recording.quarantine_reason = reason
        recording.save(update_fields=["state", "quarantined_at", "quarantine_reason"])
        record_event(
            action="recording.quarantined",
            actor=actor,
            target=recording,
            facility_id=recording.facility_id,
            details={"reason": reason},
        )
        count += 1
    return count
