from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.actions.registry import exempt_number_verify
from apps.audit.models import AuditEvent
from apps.facilities.models import Facility
from apps.registry.errors import (
    AlreadyRegisteredError,
    IllegalTransitionError,
    NumberHeldByAnotherAttorneyError,
)
from apps.registry.models import Attorney, ExemptNumber, ExemptStatus
from apps.registry.privilege import is_privileged
from apps.registry.services import (
    exempt_number_register,
    exempt_number_reject,
    exempt_number_revoke,
    exempt_numbers_send_reminders,
)
from tests.factories import AttorneyFactory, ExemptNumberFactory, UserFactory

pytestmark = pytest.mark.django_db


def _register(attorney: Attorney, number: str = "(212) 555-0101", **kw: object) -> ExemptNumber:
    return exempt_number_register(attorney=attorney, number=number, actor=attorney.user, **kw)  # type: ignore[arg-type]


def test_registration_is_pending_global_and_stored_in_e164(attorney: Attorney) -> None:
    exempt = _register(attorney, "212.555.0101")
    assert (exempt.number, exempt.status, exempt.facility) == ("+12125550101", "pending", None)
    assert not is_privileged("+12125550101", timezone.now()).privileged
    assert AuditEvent.objects.filter(action="exempt_number.registered", target_id=str(exempt.pk)).exists()


def test_verification_takes_effect_for_the_very_next_call(attorney: Attorney, clerk: User) -> None:
    exempt = _register(attorney)
    verified, quarantined = exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    assert verified.status == ExemptStatus.VERIFIED and verified.verified_by == clerk
    assert quarantined == 0
    assert is_privileged("1-212-555-0101", timezone.now()).privileged


def test_a_number_cannot_be_registered_twice_by_the_same_attorney(attorney: Attorney) -> None:
    _register(attorney)
    with pytest.raises(AlreadyRegisteredError):
        _register(attorney, "+1 212 555 0101")


def test_a_number_verified_for_another_attorney_is_a_conflict(attorney: Attorney, clerk: User) -> None:
    first = _register(attorney)
    exempt_number_verify(exempt_number_id=first.pk, clerk=clerk)
    second = _register(AttorneyFactory())
    with pytest.raises(NumberHeldByAnotherAttorneyError):
        exempt_number_verify(exempt_number_id=second.pk, clerk=clerk)
    second.refresh_from_db()
    assert second.status == ExemptStatus.PENDING


def test_the_database_allows_one_verified_row_per_number(clerk: User) -> None:
    now = timezone.now()
    ExemptNumberFactory(number="+12125550199", status="verified", verified_by=clerk, effective_from=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        ExemptNumberFactory(number="+12125550199", status="verified", verified_by=clerk, effective_from=now)


def test_the_database_refuses_a_number_that_is_not_e164() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ExemptNumberFactory(number="212-555-0101")


def test_revocation_ends_the_exemption_immediately(attorney: Attorney, clerk: User) -> None:
    exempt = _register(attorney)
    exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    revoked = exempt_number_revoke(exempt_number_id=exempt.pk, actor=attorney.user)
    assert revoked.status == ExemptStatus.REVOKED
    assert not is_privileged("+12125550101", timezone.now()).privileged
    # And the number can be registered again afterwards.
    assert _register(attorney).status == ExemptStatus.PENDING


def test_expiry_needs_no_job_once_the_attorney_was_reminded(attorney: Attorney, clerk: User) -> None:
    exempt = _register(attorney)
    until = timezone.now() + timedelta(days=60)
    exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk, effective_until=until)
    assert is_privileged("+12125550101", until).privileged  # not reminded: no lapse yet
    assert exempt_numbers_send_reminders(now=until - timedelta(days=30)) == 1
    assert is_privileged("+12125550101", until - timedelta(seconds=1)).privileged
    assert not is_privileged("+12125550101", until).privileged


def test_a_facility_scoped_registration_protects_only_that_facility(
    attorney: Attorney, clerk: User, facility: Facility, other_facility: Facility
) -> None:
    exempt = _register(attorney, facility=facility)
    exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    now = timezone.now()
    assert is_privileged("+12125550101", now, facility_id=facility.pk).privileged
    assert not is_privileged("+12125550101", now, facility_id=other_facility.pk).privileged


@pytest.mark.parametrize("start", ["rejected", "revoked", "verified"])
def test_illegal_transitions_are_refused(attorney: Attorney, clerk: User, start: str) -> None:
    exempt = _register(attorney)
    if start == "rejected":
        exempt_number_reject(exempt_number_id=exempt.pk, clerk=clerk, reason="no bar record")
    elif start == "revoked":
        exempt_number_revoke(exempt_number_id=exempt.pk, actor=attorney.user)
    else:
        exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    with pytest.raises(IllegalTransitionError):
        exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    with pytest.raises(IllegalTransitionError):
        exempt_number_reject(exempt_number_id=exempt.pk, clerk=clerk, reason="x")
    if start != "verified":
        with pytest.raises(IllegalTransitionError):
            exempt_number_revoke(exempt_number_id=exempt.pk, actor=attorney.user)


def test_a_failed_registration_leaves_no_audit_event(attorney: Attorney) -> None:
    _register(attorney)
    before = AuditEvent.objects.count()
    with pytest.raises(AlreadyRegisteredError):
        _register(attorney)
    assert AuditEvent.objects.count() == before


def test_user_factory_is_usable() -> None:
    assert UserFactory().check_password("a-long-test-password")
