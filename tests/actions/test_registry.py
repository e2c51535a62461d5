"""Registry decisions that quarantine recordings (apps/actions/registry.py): one act, one transaction."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.actions import registry as actions
from apps.audit.models import AuditEvent
from apps.recordings.models import Recording, RecordingState
from apps.registry.errors import IllegalTransitionError
from apps.registry.models import ExemptNumber, ExemptStatus, ExposureReport
from apps.registry.services import exempt_number_register
from tests.factories import AttorneyFactory, CallFactory, ExemptNumberFactory

pytestmark = pytest.mark.django_db
NUMBER = "+12125550188"


def _stored_recording(number: str) -> Recording:
    """A stored recording of a call to ``number`` (made before the number is privileged)."""
    call = CallFactory(dialed_number=number)
    return Recording.objects.create(
        call=call,
        facility=call.facility,
        inmate=call.inmate,
        storage_backend="local",
        storage_key=f"ab/{call.pk:032d}",
        size_bytes=1,
        sha256="0" * 64,
        content_type="audio/wav",
        encryption="x",
        wrapped_key=b"k",
    )


def _pending(number: str) -> ExemptNumber:
    attorney = AttorneyFactory()
    return exempt_number_register(attorney=attorney, number=number, actor=attorney.user)


def test_verifying_a_number_quarantines_its_earlier_recordings_in_the_same_act(clerk: User) -> None:
    recording = _stored_recording(NUMBER)
    pending = _pending(NUMBER)

    exempt, quarantined = actions.exempt_number_verify(exempt_number_id=pending.pk, clerk=clerk)

    assert (exempt.status, quarantined) == (ExemptStatus.VERIFIED, 1)
    recording.refresh_from_db()
    assert recording.state == RecordingState.QUARANTINED
    recording.call.refresh_from_db()
    assert (recording.call.privileged, recording.call.exempt_number_id) == (True, exempt.pk)
    verified = AuditEvent.objects.get(action="exempt_number.verified", target_id=str(exempt.pk))
    assert verified.details["quarantined"] == 1 and verified.actor == clerk


def test_a_verification_whose_quarantine_fails_leaves_the_registration_pending(
    clerk: User, monkeypatch: Any
) -> None:
    recording = _stored_recording(NUMBER)
    pending = _pending(NUMBER)

    def broken(**kwargs: Any) -> int:
        raise RuntimeError("quarantine failed")

    monkeypatch.setattr(actions, "recordings_quarantine_for_number", broken)
    with pytest.raises(RuntimeError):
        actions.exempt_number_verify(exempt_number_id=pending.pk, clerk=clerk)

    assert ExemptNumber.objects.get(pk=pending.pk).status == ExemptStatus.PENDING
    assert Recording.objects.get(pk=recording.pk).state == RecordingState.STORED
    assert not ExposureReport.objects.exists()
    assert not AuditEvent.objects.filter(action="exempt_number.verified").exists()


def test_verifying_twice_is_refused(clerk: User) -> None:
    pending = _pending(NUMBER)
    actions.exempt_number_verify(exempt_number_id=pending.pk, clerk=clerk)
    with pytest.raises(IllegalTransitionError):
        actions.exempt_number_verify(exempt_number_id=pending.pk, clerk=clerk)


def test_a_renewal_after_a_lapse_quarantines_what_was_recorded_since_the_old_end(clerk: User) -> None:
    now = timezone.now()
    old_end = now - timedelta(days=1)
    before = _stored_recording(NUMBER)
    Recording.objects.filter(pk=before.pk).update(created_at=old_end - timedelta(days=1))
    during = _stored_recording(NUMBER)
    exempt = ExemptNumberFactory(
        number=NUMBER,
        status=ExemptStatus.VERIFIED,
        verified_by=clerk,
        effective_from=now - timedelta(days=100),
        effective_until=old_end,
        renewal_requested_at=now - timedelta(days=2),
    )

    renewed = actions.exempt_number_renewal_approve(exempt_number_id=exempt.pk, clerk=clerk)

    assert renewed.effective_until is not None and renewed.effective_until > now
    assert renewed.renewal_requested_at is None
    assert Recording.objects.get(pk=during.pk).state == RecordingState.QUARANTINED
    assert Recording.objects.get(pk=before.pk).state == RecordingState.STORED  # decided before the lapse
    event = AuditEvent.objects.get(action="exempt_number.renewed", target_id=str(exempt.pk))
    assert event.details["quarantined"] == 1
    # The quarantine came with its exposure report, covering every call to the number.
    report = ExposureReport.objects.get(registration=exempt)
    assert report.trigger == "verification" and report.generated_by == clerk
    assert json.loads(report.body)["summary"]["recorded"] == 2


def test_a_renewal_in_time_quarantines_nothing(clerk: User) -> None:
    now = timezone.now()
    recording = _stored_recording(NUMBER)
    exempt = ExemptNumberFactory(
        number=NUMBER,
        status=ExemptStatus.VERIFIED,
        verified_by=clerk,
        effective_from=now - timedelta(days=100),
        effective_until=now + timedelta(days=10),
        renewal_requested_at=now - timedelta(days=2),
    )

    actions.exempt_number_renewal_approve(exempt_number_id=exempt.pk, clerk=clerk)

    assert Recording.objects.get(pk=recording.pk).state == RecordingState.STORED
    event = AuditEvent.objects.get(action="exempt_number.renewed", target_id=str(exempt.pk))
    assert event.details["quarantined"] == 0
