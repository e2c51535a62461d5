"""Privilege review: attorney flags (at once on a verified number, else once an officer accepts
the request); release or purge needs two officers."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.actions.registry import exempt_number_verify
from apps.audit.models import AuditEvent
from apps.recordings.errors import RecordingIntegrityError
from apps.recordings.models import QuarantineHold, ReviewDecision, Tombstone
from apps.recordings.review import (
    DecisionAlreadyOpenError,
    NotAPrivilegeOfficerError,
    NotQuarantinedError,
    SameOfficerError,
    review_confirm,
    review_propose,
    review_queue,
)
from apps.recordings.services import recording_read
from apps.registry.flags import NotYourNumberError, privilege_flag_accept, privilege_flag_submit
from apps.registry.models import Attorney, FlagStatus
from apps.registry.services import exempt_number_register
from tests.actors import actor, grant_facility
from tests.factories import CallFactory, InmateFactory

pytestmark = pytest.mark.django_db
NUMBER = "+12125550155"


@pytest.fixture
def officers(facility: Any) -> tuple[Any, Any]:
    first = actor("officer-1", "privilege_officer").user
    second = actor("officer-2", "privilege_officer").user
    for officer in (first, second):
        grant_facility(officer, facility, "view_facility", "view_facility_calls")
    return first, second


@pytest.fixture
def flagged(attorney: Attorney, facility: Any, store_recording: Any, officers: Any) -> Any:
    """A flag on a pending number is a request; an officer accepts it."""
    exempt_number_register(attorney=attorney, number=NUMBER, actor=attorney.user)
    inmate = InmateFactory(facility=facility, booking_number="B77")
    recording = store_recording(CallFactory(inmate=inmate, dialed_number=NUMBER))
    other_day = store_recording(
        CallFactory(
            inmate=inmate, dialed_number=NUMBER, started_at=timezone.now() - timezone.timedelta(days=3)
        )
    )
    today = timezone.localtime(recording.call.started_at, timezone=_tz(facility)).date()
    flag = privilege_flag_submit(
        attorney=attorney,
        facility=facility,
        booking_number="B77",
        number="212-555-0155",
        call_date=today,
        actor=attorney.user,
    )
    recording.refresh_from_db()
    assert flag.status == FlagStatus.REQUESTED and recording.state == "stored"
    flag = privilege_flag_accept(flag_id=flag.pk, officer=officers[0])
    recording.refresh_from_db()
    other_day.refresh_from_db()
    return flag, recording, other_day


def _tz(facility: Any) -> Any:
    import zoneinfo

    return zoneinfo.ZoneInfo(facility.timezone)


def test_an_accepted_flag_quarantines_the_matching_call(flagged: Any) -> None:
    flag, recording, other_day = flagged
    assert flag.matched_recordings == 1 and flag.status == FlagStatus.ACCEPTED
    assert recording.state == "quarantined" and recording.quarantine_reason == f"privilege flag #{flag.pk}"
    assert other_day.state == "stored"


def test_a_flag_on_the_attorneys_verified_number_quarantines_at_once(
    attorney: Attorney, facility: Any, other_facility: Any, store_recording: Any, clerk: Any
) -> None:
    # Verified for the other facility only: a call from this one was recorded, and the
    # attorney, vouched for by the registry on this number, flags it.
    exempt = exempt_number_register(
        attorney=attorney, number=NUMBER, facility=other_facility, actor=attorney.user
    )
    exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    recording = store_recording(CallFactory(inmate=InmateFactory(facility=facility), dialed_number=NUMBER))
    flag = privilege_flag_submit(
        attorney=attorney,
        facility=facility,
        booking_number=recording.inmate.booking_number,
        number=NUMBER,
        call_date=timezone.localtime(recording.call.started_at, timezone=_tz(facility)).date(),
        actor=attorney.user,
    )
    recording.refresh_from_db()
    assert flag.status == FlagStatus.APPLIED and recording.state == "quarantined"


def test_flag_holds_add_to_a_claim_hold_instead_of_replacing_it(
    attorney: Attorney, facility: Any, store_recording: Any, officers: Any, switch: Any, clerk: Any
) -> None:
    from apps.registry.claims import claim_reject, claim_report

    inmate = InmateFactory(facility=facility, booking_number="B78")
    claim, _ = claim_report(facility=facility, booking_number="B78", number=NUMBER, actor=switch.user)
    recording = store_recording(CallFactory(inmate=inmate, dialed_number=NUMBER))
    exempt_number_register(attorney=attorney, number=NUMBER, actor=attorney.user)
    flag = privilege_flag_submit(
        attorney=attorney,
        facility=facility,
        booking_number="B78",
        number=NUMBER,
        call_date=timezone.localtime(recording.call.started_at, timezone=_tz(facility)).date(),
        actor=attorney.user,
    )
    # Only a request, but the recording was already quarantined: it is held by the flag too.
    assert {h.kind for h in QuarantineHold.objects.filter(recording=recording, closed_at__isnull=True)} == {
        "claim",
        "flag",
    }
    assert claim_reject(claim_id=claim.pk, clerk=clerk, reason="no").released == 0
    recording.refresh_from_db()
    assert recording.state == "quarantined" and flag.pk


def test_an_attorney_can_flag_only_their_own_numbers(attorney: Attorney, facility: Any) -> None:
    with pytest.raises(NotYourNumberError):
        privilege_flag_submit(
            attorney=attorney,
            facility=facility,
            booking_number="B1",
            number="+12125550100",
            call_date=timezone.now().date(),
            actor=attorney.user,
        )


def test_the_flagged_recording_is_in_the_officers_queue(flagged: Any, officers: Any) -> None:
    _, recording, _ = flagged
    assert list(review_queue(officers[0])) == [recording]


def test_purge_needs_a_second_officer_and_leaves_a_tombstone(flagged: Any, officers: Any) -> None:
    _, recording, _ = flagged
    first, second = officers
    decision = review_propose(recording=recording, officer=first, action="purge", reason="privileged advice")
    recording.refresh_from_db()
    assert recording.state == "quarantined"
    with pytest.raises(SameOfficerError):
        review_confirm(decision_id=decision.pk, officer=first)
    review_confirm(decision_id=decision.pk, officer=second)
    recording.refresh_from_db()
    assert recording.state == "purged" and recording.wrapped_key is None
    tomb = Tombstone.objects.get(recording=recording)
    assert (tomb.purged_by, tomb.confirmed_by, tomb.reason, tomb.sha256) == (
        first,
        second,
        "privileged advice",
        recording.sha256,
    )
    with pytest.raises(RecordingIntegrityError):
        recording_read(recording=recording)
    assert AuditEvent.objects.filter(action="recording.purged", target_id=str(recording.pk)).exists()


def test_release_needs_a_second_officer_and_restores_playback(flagged: Any, officers: Any) -> None:
    _, recording, _ = flagged
    first, second = officers
    decision = review_propose(recording=recording, officer=first, action="release", reason="not legal advice")
    review_confirm(decision_id=decision.pk, officer=second)
    recording.refresh_from_db()
    assert recording.state == "stored"
    assert recording_read(recording=recording)
    with pytest.raises(NotQuarantinedError):
        review_propose(recording=recording, officer=first, action="purge", reason="again")


def test_only_one_open_decision_per_recording(flagged: Any, officers: Any) -> None:
    _, recording, _ = flagged
    review_propose(recording=recording, officer=officers[0], action="release", reason="x")
    with pytest.raises(DecisionAlreadyOpenError):
        review_propose(recording=recording, officer=officers[1], action="purge", reason="y")


def test_the_database_refuses_self_confirmation(flagged: Any, officers: Any) -> None:
    _, recording, _ = flagged
    decision = review_propose(recording=recording, officer=officers[0], action="purge", reason="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewDecision.objects.filter(pk=decision.pk).update(
            confirmed_by=officers[0], confirmed_at=timezone.now()
        )


def test_non_officers_cannot_review(flagged: Any) -> None:
    _, recording, _ = flagged
    investigator = actor("inv", "investigator").user
    with pytest.raises(NotAPrivilegeOfficerError):
        review_propose(recording=recording, officer=investigator, action="release", reason="mine")
