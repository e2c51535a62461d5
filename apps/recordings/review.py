"""Privilege review: what happens to a quarantined recording after the quarantine.

Two exits, both final: *release* (state back to "stored", with a reason) or *purge*
(crypto-shred the wrapped key, delete the object and every version from storage, keep a
tombstone). A privilege officer proposes one; it takes effect only when a *different* officer
confirms it (a ReviewDecision row; the database refuses proposer == confirmer, and a tombstone
without a second person). This review is the only way to purge, on every path: a verified
inmate claim or registration sends its recordings here (apps.recordings.quarantine).
Officers also decide attorneys' flag requests (apps.registry.flags) from the same queue.
"""

from __future__ import annotations

from django.contrib.auth.models import Permission, User
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.audit.services import record_event
from apps.common.errors import ConflictError, DomainError
from apps.common.querysets import Action
from apps.recordings.errors import ReleaseRefusedError as ReleaseRefusedError  # re-exported
from apps.recordings.models import (
    HoldOutcome,
    QuarantineHold,
    Recording,
    RecordingState,
    ReviewAction,
    ReviewDecision,
    Tombstone,
)
from apps.recordings.quarantine import (
    REVIEWED_KINDS,
    holds_close,
    holds_refuse_release,
    open_holds,
    review_holds,
)
from apps.recordings.storage import get_storage
from apps.registry.privilege import lock_number

REVIEW_PERMISSION = "recordings.review_quarantine"


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


def review_queue(user: User) -> QuerySet[Recording]:
    """Quarantined recordings the officer may see that wait for this review: held by a verified
    number or a flag (or quarantined before reasons were recorded). A recording held only by a
    pending inmate claim waits for the clerk's claim decision instead."""
    held = QuarantineHold.objects.filter(recording=OuterRef("pk"), closed_at__isnull=True)
    return (
        Recording.objects.restrict(user, Action.VIEW)
        .filter(state=RecordingState.QUARANTINED)
        .filter(Exists(held.filter(kind__in=REVIEWED_KINDS)) | ~Exists(held))
        .select_related("call", "inmate", "facility")
    )


def review_officers(recording: Recording) -> list[User]:
    """The privilege officers whose review queue shows ``recording`` (active, holding the review
    permission through a role or directly, and able to see the recording's facility)."""
    app_label, codename = REVIEW_PERMISSION.split(".")
    perm = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    holders = (
        User.objects.filter(is_active=True)
        .filter(Q(groups__permissions=perm) | Q(user_permissions=perm) | Q(is_superuser=True))
        .distinct()
        .order_by("pk")
    )
    return [
        officer
        for officer in holders
        if officer.has_perm(REVIEW_PERMISSION)
        and Recording.objects.restrict(officer, Action.VIEW).filter(pk=recording.pk).exists()
    ]


def recording_purge(*, recording: Recording, actor: User, reason: str, confirmed_by: User) -> None:
    """Destroy a quarantined recording for good, as decided by ``actor`` and ``confirmed_by``
    (two different people: the database refuses a tombstone without the second). Call inside
    the deciding transaction.

    Every open hold is closed, the wrapped key is destroyed and a tombstone written in the
    transaction; the object (every version) is deleted from storage before commit, so a storage
    failure rolls the purge back and it can simply be retried. If the commit itself failed after
    the delete, the object is gone while the row is still quarantined: unreadable, the safe side.
    """
    if recording.state != RecordingState.QUARANTINED:
        raise NotQuarantinedError()
    if confirmed_by.pk == actor.pk:
        raise SameOfficerError()
    now = timezone.now()
    open_holds(recording).update(closed_at=now, closed_by=confirmed_by, outcome=HoldOutcome.PURGED)
    recording.state = RecordingState.PURGED
    recording.wrapped_key = None
    recording.purged_at = now
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


def recording_release(*, recording: Recording, actor: User, reason: str, confirmed_by: User) -> bool:
    """Decide the reasons this review owns (verified number, attorney flags) as "release".

    The recording becomes playable only if no other reason still holds it (a pending inmate
    claim keeps it until the clerk decides). Refused while the number is privileged for the
    call's facility. Returns whether the recording was released.
    """
    if recording.state != RecordingState.QUARANTINED:
        raise NotQuarantinedError()
    holds_refuse_release(recording)
    return holds_close(
        recording=recording,
        holds=list(review_holds(recording)),
        outcome=HoldOutcome.RELEASED,
        actor=actor,
        reason=reason,
        confirmed_by=confirmed_by,
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
        # The number's lock before the recording's row, in the order verification takes them.
        lock_number(Recording.objects.select_related("call").get(pk=decision.recording_id).call.dialed_number)
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
