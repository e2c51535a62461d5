"""Registry lifecycle beyond register/verify: e-mails, expiry, renewal, evidence, bar numbers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.actions.registry import exempt_number_renewal_approve, exempt_number_verify
from apps.common.errors import DomainError
from apps.registry.errors import IllegalTransitionError
from apps.registry.evidence import EvidenceRejectedError, evidence_read, evidence_upload
from apps.registry.models import Attorney, ExemptNumber, ExemptStatus
from apps.registry.privilege import is_privileged
from apps.registry.profiles import validate_bar
from apps.registry.services import (
    exempt_number_register,
    exempt_number_reject,
    exempt_number_renew,
    exempt_number_renewal_decline,
    exempt_number_revoke,
    exempt_numbers_expire,
    exempt_numbers_send_reminders,
)
from apps.registry.tasks import expiry_reminders

pytestmark = pytest.mark.django_db
NUMBER = "+12125550123"


@pytest.fixture
def pending(attorney: Attorney) -> ExemptNumber:
    attorney.contact_email = "counsel@example.org"
    attorney.save()
    return exempt_number_register(attorney=attorney, number=NUMBER, label="office", actor=attorney.user)


def test_verification_mails_the_attorney_and_sets_the_configured_window(
    pending: ExemptNumber, clerk: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.REGISTRY_VERIFICATION_DAYS = 30
    with django_capture_on_commit_callbacks(execute=True):
        exempt, _ = exempt_number_verify(exempt_number_id=pending.pk, clerk=clerk)
    assert exempt.effective_until and exempt.effective_from
    assert exempt.effective_until - exempt.effective_from == timedelta(days=30)
    assert [m.to for m in mail.outbox] == [["counsel@example.org"]]
    assert "verified" in mail.outbox[0].subject


def test_no_expiry_when_the_period_is_zero(pending: ExemptNumber, clerk: User, settings: Any) -> None:
    settings.REGISTRY_VERIFICATION_DAYS = 0
    exempt, _ = exempt_number_verify(exempt_number_id=pending.pk, clerk=clerk)
    assert exempt.effective_until is None


def test_rejection_needs_a_reason_and_mails_it(
    pending: ExemptNumber, clerk: User, django_capture_on_commit_callbacks: Any
) -> None:
    with pytest.raises(DomainError):
        exempt_number_reject(exempt_number_id=pending.pk, clerk=clerk, reason="  ")
    with django_capture_on_commit_callbacks(execute=True):
        exempt_number_reject(exempt_number_id=pending.pk, clerk=clerk, reason="letterhead unreadable")
    assert "letterhead unreadable" in mail.outbox[0].body


def test_no_mail_is_sent_for_a_decision_that_rolls_back(pending: ExemptNumber, clerk: User) -> None:
    exempt_number_reject(exempt_number_id=pending.pk, clerk=clerk, reason="x")
    assert mail.outbox == []  # the test transaction never commits


@pytest.mark.parametrize("status", ["verified", "rejected", "revoked"])
def test_illegal_transitions_are_refused(pending: ExemptNumber, clerk: User, status: str) -> None:
    if status == "verified":
        exempt_number_verify(exempt_number_id=pending.pk, clerk=clerk)
    elif status == "rejected":
        exempt_number_reject(exempt_number_id=pending.pk, clerk=clerk, reason="no")
    else:
        exempt_number_revoke(exempt_number_id=pending.pk, actor=clerk)
    with pytest.raises(IllegalTransitionError):
        exempt_number_verify(exempt_number_id=pending.pk, clerk=clerk)
    with pytest.raises(IllegalTransitionError):
        exempt_number_reject(exempt_number_id=pending.pk, clerk=clerk, reason="again")
    if status != "verified":
        with pytest.raises(IllegalTransitionError):
            exempt_number_revoke(exempt_number_id=pending.pk, actor=clerk)


def test_a_pending_registration_cannot_be_renewed(pending: ExemptNumber) -> None:
    with pytest.raises(IllegalTransitionError):
        exempt_number_renew(exempt_number_id=pending.pk, actor=pending.attorney.user)


def test_renewing_a_verified_number_asks_a_clerk_for_a_new_window(
    pending: ExemptNumber, clerk: User, settings: Any
) -> None:
    settings.REGISTRY_VERIFICATION_DAYS = 50
    exempt, _ = exempt_number_verify(exempt_number_id=pending.pk, clerk=clerk)
    old_end = exempt.effective_until
    requested = exempt_number_renew(exempt_number_id=exempt.pk, actor=exempt.attorney.user)
    assert requested.pk == exempt.pk and requested.renewal_requested_at
    with pytest.raises(IllegalTransitionError):
        exempt_number_renew(exempt_number_id=exempt.pk, actor=exempt.attorney.user)
    renewed = exempt_number_renewal_approve(exempt_number_id=exempt.pk, clerk=clerk)
    assert renewed.effective_until == old_end + timedelta(days=50)  # type: ignore[operator]
    assert renewed.renewal_requested_at is None
    with pytest.raises(IllegalTransitionError):
        exempt_number_renewal_approve(exempt_number_id=exempt.pk, clerk=clerk)


def test_an_expired_number_is_marked_and_renewal_starts_a_new_registration(
    pending: ExemptNumber, clerk: User
) -> None:
    past = timezone.now() - timedelta(days=1)
    exempt, _ = exempt_number_verify(exempt_number_id=pending.pk, clerk=clerk)
    ExemptNumber.objects.filter(pk=exempt.pk).update(
        effective_from=past - timedelta(days=50),
        effective_until=past,
        reminder_sent_at=past - timedelta(days=30),
    )
    assert not is_privileged(NUMBER, timezone.now()).privileged
    assert exempt_numbers_expire() == 1
    exempt.refresh_from_db()
    assert exempt.status == ExemptStatus.EXPIRED
    fresh = exempt_number_renew(exempt_number_id=exempt.pk, actor=exempt.attorney.user)
    assert fresh.pk != exempt.pk and fresh.status == ExemptStatus.PENDING and fresh.label == "office"
    with pytest.raises(IllegalTransitionError):
        exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)


def test_reminders_go_out_once_before_expiry(
    pending: ExemptNumber, clerk: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.REGISTRY_REMINDER_DAYS = 30
    exempt, _ = exempt_number_verify(exempt_number_id=pending.pk, clerk=clerk)
    ExemptNumber.objects.filter(pk=exempt.pk).update(effective_until=timezone.now() + timedelta(days=20))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert expiry_reminders() == {"reminded": 1, "expired": 0}
        assert exempt_numbers_send_reminders() == 0
    assert len(mail.outbox) == 1 and "expires" in mail.outbox[0].subject


def test_evidence_is_checked_by_content_and_stored_encrypted(
    pending: ExemptNumber, settings: Any, tmp_path: Any
) -> None:
    settings.EVIDENCE_DIR = tmp_path / "evidence"
    pdf = b"%PDF-1.4\n" + b"letterhead " * 100
    evidence = evidence_upload(
        exempt_number=pending, data=pdf, filename="../../etc/x.pdf", actor=pending.attorney.user
    )
    assert evidence.content_type == "application/pdf" and evidence.original_name == "x.pdf"
    on_disk = (tmp_path / "evidence" / evidence.storage_key).read_bytes()
    assert b"letterhead" not in on_disk
    assert evidence_read(evidence=evidence, actor=pending.attorney.user) == pdf
    with pytest.raises(EvidenceRejectedError):
        evidence_upload(
            exempt_number=pending, data=b"<html>x</html>", filename="x.pdf", actor=pending.attorney.user
        )
    settings.EVIDENCE_MAX_BYTES = 10
    with pytest.raises(EvidenceRejectedError):
        evidence_upload(exempt_number=pending, data=pdf, filename="x.pdf", actor=pending.attorney.user)


@pytest.mark.parametrize(
    ("state", "number", "ok"),
    [
        ("ny", "4012345", True),
        ("NY", "12345", False),
        ("CA", "123456", True),
        ("CA", "1234567", False),
        ("WY", "7-1234", True),
        ("WY", "<script>", False),
        ("ZZ", "1", False),
    ],
)
def test_bar_numbers_are_validated_per_state(state: str, number: str, ok: bool) -> None:
    if ok:
        assert validate_bar(state, number)[0] == state.upper()
    else:
        with pytest.raises(ValidationError):
            validate_bar(state, number)


def _lapsed(exempt: ExemptNumber, now: Any) -> None:
    ExemptNumber.objects.filter(pk=exempt.pk).update(
        effective_from=now - timedelta(days=60),
        effective_until=now - timedelta(days=2),
        reminder_sent_at=now - timedelta(days=40),
    )


def test_a_renewal_granted_after_a_lapse_quarantines_only_what_the_lapse_recorded(
    pending: ExemptNumber, clerk: User, store_recording: Any
) -> None:
    from apps.recordings.models import HoldOutcome, QuarantineHold, Recording, RecordingState
    from tests.factories import CallFactory

    now = timezone.now()
    before = store_recording(CallFactory(dialed_number=NUMBER))
    exempt, quarantined = exempt_number_verify(exempt_number_id=pending.pk, clerk=clerk)
    assert quarantined == 1
    # Privilege officers then released it (apps.recordings.review): a renewal must not undo that.
    QuarantineHold.objects.filter(recording=before, closed_at__isnull=True).update(
        closed_at=now, outcome=HoldOutcome.RELEASED
    )
    Recording.objects.filter(pk=before.pk).update(
        state=RecordingState.STORED, created_at=now - timedelta(days=90)
    )
    _lapsed(exempt, now)
    during = store_recording(CallFactory(dialed_number=NUMBER))  # recorded during the lapse
    # Data from before issue 9: the renewal was requested on the lapsed registration itself.
    ExemptNumber.objects.filter(pk=exempt.pk).update(renewal_requested_at=now)
    exempt_number_renewal_approve(exempt_number_id=exempt.pk, clerk=clerk)
    states = dict(Recording.objects.values_list("pk", "state"))
    assert states == {before.pk: RecordingState.STORED, during.pk: RecordingState.QUARANTINED}
    assert is_privileged(NUMBER, timezone.now()).privileged


def test_a_declined_renewal_gives_the_attorney_notice_before_the_number_lapses(
    pending: ExemptNumber, clerk: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    now = timezone.now()
    exempt, _ = exempt_number_verify(exempt_number_id=pending.pk, clerk=clerk)
    exempt_number_renew(exempt_number_id=exempt.pk, actor=exempt.attorney.user)
    ExemptNumber.objects.filter(pk=exempt.pk).update(
        effective_from=now - timedelta(days=60), effective_until=now - timedelta(days=1)
    )
    assert is_privileged(NUMBER, now).privileged  # a pending renewal keeps it exempt
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        declined = exempt_number_renewal_decline(exempt_number_id=exempt.pk, clerk=clerk, reason="bar lapsed")
    assert declined.effective_until is not None and declined.reminder_sent_at is not None
    notice_end = declined.reminder_sent_at + timedelta(days=settings.REGISTRY_REMINDER_DAYS)
    assert declined.effective_until == notice_end
    assert "bar lapsed" in mail.outbox[0].body and notice_end.date().isoformat() in mail.outbox[0].body
    assert is_privileged(NUMBER, notice_end - timedelta(seconds=1)).privileged
    assert not is_privileged(NUMBER, notice_end).privileged
    with pytest.raises(IllegalTransitionError):  # no endless request/decline loop
        exempt_number_renew(exempt_number_id=exempt.pk, actor=exempt.attorney.user)
    with pytest.raises(DomainError):
        exempt_number_renewal_decline(exempt_number_id=exempt.pk, clerk=clerk, reason=" ")


@pytest.mark.parametrize("end", ["none", "future", "past"])
@pytest.mark.parametrize("renewal", [False, True])
@pytest.mark.parametrize("reminded", [False, True])
def test_the_lapse_query_is_the_exact_complement_of_the_privilege_rule(
    pending: ExemptNumber, clerk: User, end: str, renewal: bool, reminded: bool
) -> None:
    from apps.registry.privilege import registration_lapsed

    now = timezone.now()
    exempt, _ = exempt_number_verify(exempt_number_id=pending.pk, clerk=clerk)
    ExemptNumber.objects.filter(pk=exempt.pk).update(
        effective_from=now - timedelta(days=100),
        effective_until={"none": None, "future": now + timedelta(days=1), "past": now - timedelta(days=1)}[
            end
        ],
        renewal_requested_at=now - timedelta(days=3) if renewal else None,
        reminder_sent_at=now - timedelta(days=40) if reminded else None,
    )
    lapsed = ExemptNumber.objects.filter(registration_lapsed(now), pk=exempt.pk).exists()
    assert lapsed is not is_privileged(NUMBER, now).privileged
    assert lapsed is (end == "past" and reminded and not renewal)
