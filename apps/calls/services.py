"""Call setup and teardown, as driven by a facility's telephone switch."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.services import record_event
from apps.calls.errors import CallConflictError, InvalidCallEndError, UnknownInmateError
from apps.calls.models import Call, Decision
from apps.common.phone import normalize_phone_number
from apps.facilities.models import Facility
from apps.inmates.models import Inmate
from apps.registry.privilege import is_privileged


def call_setup(
    *,
    facility: Facility,
    switch_call_id: str,
    booking_number: str,
    dialed_number: str,
    started_at: datetime,
    actor: User,
) -> tuple[Call, bool]:
    """Decide record/exempt for a new call. Returns (call, created).

    Idempotent on (facility, switch_call_id): a retry with the same payload gets the same
    call back; a different payload under the same id is a conflict, never a silent overwrite.
    The decision is taken against the registry as it is *now*; the storage gate checks again.
    """
    number = normalize_phone_number(dialed_number, facility.phone_region)
    inmate = Inmate.objects.filter(facility=facility, booking_number=booking_number).first()
    if inmate is None:
        raise UnknownInmateError(booking_number=booking_number)
    decision = is_privileged(number, timezone.now(), facility_id=facility.pk)
    try:
        with transaction.atomic():
            call = Call.objects.create(
                facility=facility,
                inmate=inmate,
                switch_call_id=switch_call_id,
                dialed_number=number,
                started_at=started_at,
                decision=Decision.EXEMPT if decision.privileged else Decision.RECORD,
                reason=decision.reason,
                privileged=decision.privileged,
                exempt_number_id=decision.exempt_number_id,
            )
            record_event(
                action="call.setup",
                actor=actor,
                target=call,
                facility_id=facility.pk,
                details={"decision": call.decision, "reason": call.reason},
            )
    except IntegrityError:
        # A retry (or a concurrent duplicate): the insert is tried first because new calls are
        # the common case; only a replay pays for the lookup.
        existing = _existing_call(facility, switch_call_id, booking_number, number)
        if existing is None:
            raise
        return existing, False
    return call, True


def _existing_call(facility: Facility, switch_call_id: str, booking_number: str, number: str) -> Call | None:
    call = (
        Call.objects.select_related("inmate").filter(facility=facility, switch_call_id=switch_call_id).first()
    )
    if call is None:
        return None
    if call.inmate.booking_number != booking_number or call.dialed_number != number:
        raise CallConflictError(switch_call_id=switch_call_id)
    return call


def call_end(*, call: Call, ended_at: datetime, actor: User) -> Call:
    """Record the end of a call. Repeating the same end is harmless; a different one is not."""
    if ended_at < call.started_at:
        raise InvalidCallEndError()
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        if call.ended_at is not None:
            if call.ended_at != ended_at:
                raise CallConflictError("This call has already ended at another time.")
            return call
        call.ended_at = ended_at
        call.duration_seconds = int((ended_at - call.started_at).total_seconds())
        call.save(update_fields=["ended_at", "duration_seconds"])
        record_event(
            action="call.end",
            actor=actor,
            target=call,
            facility_id=call.facility_id,
            details={"duration_seconds": call.duration_seconds},
        )
    return call
