"""Attorneys flag a past call as privileged; matching recordings are quarantined at once."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import User
from django.db import transaction

from apps.audit.references import protect, protect_number
from apps.audit.services import record_event
from apps.common.errors import DomainError
from apps.common.phone import normalize_phone_number
from apps.facilities.models import Facility
from apps.recordings.review import privilege_flag_quarantine
from apps.registry.models import Attorney, ExemptNumber, ExemptStatus, PrivilegeFlag


class NotYourNumberError(DomainError):
    reason = "not_your_number"
    default_message = "You can flag calls only to a number you have registered (pending or verified)."


def privilege_flag_submit(
    *, attorney: Attorney, facility: Facility, booking_number: str, number: str, call_date: date, actor: User
) -> PrivilegeFlag:
    """Quarantine the flagged call's recordings now; officers decide later.

    Only the attorney's own live numbers can be flagged: otherwise anyone who signs up could
    make any investigator's recordings inaccessible.
    """
    e164 = normalize_phone_number(number, facility.phone_region)
    if not ExemptNumber.objects.filter(
        attorney=attorney, number=e164, status__in=[ExemptStatus.PENDING, ExemptStatus.VERIFIED]
    ).exists():
        raise NotYourNumberError()
    with transaction.atomic():
        flag = PrivilegeFlag.objects.create(
            attorney=attorney,
            facility=facility,
            booking_number=booking_number.strip(),
            number=e164,
            call_date=call_date,
        )
        flag.matched_recordings = privilege_flag_quarantine(flag=flag, actor=actor)
        flag.save(update_fields=["matched_recordings"])
        record_event(
            action="privilege_flag.submitted",
            actor=actor,
            target=flag,
            facility_id=facility.pk,
            details={
                # The flagged call (facility, inmate, day) names an inmate-attorney link: keyed only.
                "number_ref": protect_number(e164),
                "call_ref": protect("flagged_call", f"{facility.code}|{flag.booking_number}|{call_date}"),
                "quarantined": flag.matched_recordings,
            },
        )
    return flag
