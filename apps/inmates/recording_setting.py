"""An inmate's "do not record" setting (issue 11, section 6: the most restrictive rule wins).

Set and cleared by an admin of the inmate's facility, with a written reason, audited in the
same transaction. While it is set, call setup exempts every call of the inmate (reason
``inmate_do_not_record``), the storage gate refuses their audio and the database trigger
(recordings migration 0012) refuses it too.

It looks forward only: setting it quarantines nothing stored before. Unlike a registered
number or station, whose earlier calls were privileged all along (the registration only
catches up with a fact), this setting is a decision taken now (a court order, a protective
order); the calls before it were recorded under the rules that applied then, with the
recording notice played. What it does guarantee is the race rule: the gate takes the same
lock, so audio arriving after the setting commits is refused even for a call set up before.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.audit.services import record_event
from apps.common.errors import DomainError, NotFoundError
from apps.common.locks import advisory_xact_lock
from apps.common.querysets import Action
from apps.inmates.models import Inmate

LOCK_NAMESPACE = "inmate-do-not-record"
MAX_REASON_LENGTH = 500


class DoNotRecordError(DomainError):
    reason = "invalid_do_not_record_change"
    default_message = f"A reason of 1 to {MAX_REASON_LENGTH} characters is required."


def lock_inmate_recordings(inmate_id: int) -> None:
    """Serialise changing the setting with every recording write of the inmate's calls."""
    advisory_xact_lock(LOCK_NAMESPACE, str(inmate_id))


def _clean_reason(reason: str) -> str:
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise DoNotRecordError()
    return reason


def _locked_managed(inmate: Inmate, actor: User) -> Inmate:
    """The inmate, row-locked, if ``actor`` manages its facility; else the same 404 as missing."""
    managed = Inmate.objects.restrict(actor, Action.MANAGE).filter(pk=inmate.pk)
    if not managed.exists():
        raise NotFoundError()
    lock_inmate_recordings(inmate.pk)
    return Inmate.objects.select_for_update().get(pk=inmate.pk)


@transaction.atomic
def inmate_do_not_record_set(*, inmate: Inmate, reason: str, actor: User) -> Inmate:
    """Turn "do not record" on for ``inmate`` (idempotent: already on answers as it is)."""
    reason = _clean_reason(reason)
    inmate = _locked_managed(inmate, actor)
    if inmate.do_not_record_since is not None:
        return inmate
    inmate.do_not_record_since = timezone.now()
    inmate.do_not_record_reason = reason
    inmate.do_not_record_by = actor
    inmate.save(update_fields=["do_not_record_since", "do_not_record_reason", "do_not_record_by"])
    record_event(
        action="inmate.do_not_record_set",
        actor=actor,
        target=inmate,
        facility_id=inmate.facility_id,
        details={"reason": reason},
    )
    return inmate


@transaction.atomic
def inmate_do_not_record_clear(*, inmate: Inmate, reason: str, actor: User) -> Inmate:
    """Turn "do not record" off for ``inmate`` with a written reason (idempotent)."""
    reason = _clean_reason(reason)
    inmate = _locked_managed(inmate, actor)
    if inmate.do_not_record_since is None:
        return inmate
    since = inmate.do_not_record_since
    inmate.do_not_record_since = None
    inmate.do_not_record_reason = ""
    inmate.do_not_record_by = None
    inmate.save(update_fields=["do_not_record_since", "do_not_record_reason", "do_not_record_by"])
    record_event(
        action="inmate.do_not_record_cleared",
        actor=actor,
        target=inmate,
        facility_id=inmate.facility_id,
        details={"reason": reason, "was_set_at": since.isoformat()},
    )
    return inmate
