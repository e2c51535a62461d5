"""Registry decisions that make a number privileged, and so quarantine its recordings.

A number becoming an attorney line changes two domains at once: the registration (registry)
and every earlier recording of the number (recordings), which must be held for the
two-officer privilege review before the decision commits (I1: there is no moment in which the
number is verified and an earlier recording of it is still playable). Both happen here in one
transaction, under the registration's row lock and the number's lock that the registry half
takes first (the same lock the storage gate takes, so no upload slips between them).

When the decision quarantined earlier recordings, the exposure report (apps/actions/
exposure.py) is built, signed and kept in the *same* transaction, still under the number's
lock, rather than later by a Celery task after commit: a verification that quarantined
recordings then never commits without its report (a task lost between commit and broker would
leave one missing, with nothing to notice it), and no call or playback can slip in between the
quarantine and the report, so the report states exactly what the quarantine closed. The cost is
a longer verification, in proportion to the calls of one number. Only the attorney's e-mail
waits for the commit.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from apps.actions.exposure import Subject, exposure_report_generate
from apps.recordings.services import recordings_quarantine_for_number
from apps.registry.models import ExemptNumber, ExposureTrigger
from apps.registry.services import (
    exempt_number_mark_verified,
    exempt_number_renewal_extend,
    exempt_number_renewed_record,
    exempt_number_verified_record,
)


def exempt_number_verify(
    *, exempt_number_id: int, clerk: User, effective_until: datetime | None = None
) -> tuple[ExemptNumber, int]:
    """Verify a pending registration and quarantine earlier recordings of the number.

    Returns (registration, number of recordings quarantined). Events: the quarantine's own,
    then ``exempt_number.verified`` naming how many were quarantined.
    """
    with transaction.atomic():
        exempt = exempt_number_mark_verified(
            exempt_number_id=exempt_number_id, clerk=clerk, effective_until=effective_until
        )
        quarantined = recordings_quarantine_for_number(
            number=exempt.number,
            facility_id=exempt.facility_id,
            reason=f"number verified as attorney line (registration {exempt.pk})",
            actor=clerk,
            exempt_number_id=exempt.pk,
        )
        exempt_number_verified_record(exempt=exempt, clerk=clerk, quarantined=quarantined)
        _exposure_report(exempt=exempt, clerk=clerk, quarantined=quarantined)
    return exempt, quarantined


def exempt_number_renewal_approve(
    *, exempt_number_id: int, clerk: User, effective_until: datetime | None = None
) -> ExemptNumber:
    """Grant a requested renewal; if the old window had lapsed, quarantine what was recorded
    since its end (without reopening what a privilege officer decided before it), as a first
    verification quarantines what came before it."""
    with transaction.atomic():
        exempt, lapsed_at = exempt_number_renewal_extend(
            exempt_number_id=exempt_number_id, clerk=clerk, effective_until=effective_until
        )
        quarantined = 0
        if lapsed_at is not None:
            quarantined = recordings_quarantine_for_number(
                number=exempt.number,
                facility_id=exempt.facility_id,
                reason=f"number renewed as attorney line (registration {exempt.pk})",
                actor=clerk,
                exempt_number_id=exempt.pk,
                since=lapsed_at,
            )
        exempt_number_renewed_record(exempt=exempt, clerk=clerk, quarantined=quarantined)
        _exposure_report(exempt=exempt, clerk=clerk, quarantined=quarantined)
    return exempt


def _exposure_report(*, exempt: ExemptNumber, clerk: User, quarantined: int) -> None:
    """The exposure report of a decision that quarantined recordings (in its transaction)."""
    if quarantined:
        exposure_report_generate(
            subject=Subject(number=exempt.number, registration=exempt),
            trigger=ExposureTrigger.VERIFICATION,
            actor=clerk,
            notify_attorney=True,
        )
