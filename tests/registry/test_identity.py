"""Bar-number disputes, identity changes and sign-up expiry (apps.registry.identity, profiles)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from apps.accounts.tokens import attorney_verify_token, staff_reset_token
from apps.registry.identity import (
    AlreadyDecidedError,
    attorney_profile_update,
    bar_dispute_decide,
    identity_change_decide,
)
from apps.registry.models import Attorney, BarDispute, ExemptNumber
from apps.registry.profiles import attorney_signups_expire, attorney_verify_email
from tests.actors import actor
from tests.factories import AttorneyFactory, UserFactory

pytestmark = pytest.mark.django_db


def _claimant(bar: str = "7300000") -> Attorney:
    """An account verified while someone else held ``bar``: it asks for it, in dispute."""
    user = UserFactory(is_active=False, email="claimant@example.org")
    attorney = Attorney.objects.create(
        user=user, full_name="Claimant", requested_bar_state="NY", requested_bar_number=bar
    )
    return attorney_verify_email(attorney=attorney)


def test_leaving_the_number_with_its_holder_clears_the_claimants_request(
    clerk: User, django_capture_on_commit_callbacks: Any
) -> None:
    holder = AttorneyFactory(bar_state="NY", bar_number="7300000")
    claimant = _claimant()
    dispute = BarDispute.objects.get(claimant=claimant)
    with django_capture_on_commit_callbacks(execute=True):
        bar_dispute_decide(
            dispute_id=dispute.pk, clerk=clerk, award_to="holder", reason="holder is on the roll"
        )
    claimant.refresh_from_db()
    holder.refresh_from_db()
    assert (holder.bar_number, claimant.bar_number, claimant.shown_bar) == ("7300000", "", "")
    assert any("did not confirm" in m.body for m in mail.outbox)
    with pytest.raises(AlreadyDecidedError):
        bar_dispute_decide(dispute_id=dispute.pk, clerk=clerk, award_to="claimant", reason="again")


def test_awarding_to_the_claimant_reports_the_holders_verified_numbers(clerk: User) -> None:
    holder = AttorneyFactory(bar_state="NY", bar_number="7300000")
    ExemptNumber.objects.create(
        attorney=holder,
        number="+12125550111",
        status="verified",
        verified_by=clerk,
        effective_from="2024-01-01T00:00Z",
    )
    dispute = BarDispute.objects.get(claimant=_claimant())
    decided = bar_dispute_decide(dispute_id=dispute.pk, clerk=clerk, award_to="claimant", reason="bar card")
    assert decided.holder_verified_numbers == 1  # type: ignore[attr-defined]


def test_a_rejected_identity_change_changes_nothing(attorney: Attorney, clerk: User) -> None:
    name = attorney.full_name
    attorney_profile_update(
        attorney=attorney,
        actor=attorney.user,
        full_name="New Name",
        bar_state="NY",
        bar_number="7400000",
        base_url="/",
    )
    change = attorney.identity_changes.get()
    identity_change_decide(change_id=change.pk, clerk=clerk, approve=False, reason="no proof")
    attorney.refresh_from_db()
    change.refresh_from_db()
    assert (attorney.full_name, change.status, change.decided_reason) == (name, "rejected", "no proof")


def test_a_second_request_replaces_the_pending_one(attorney: Attorney) -> None:
    for name in ("First Try", "Second Try"):
        attorney_profile_update(
            attorney=attorney,
            actor=attorney.user,
            full_name=name,
            bar_state=attorney.bar_state,
            bar_number=attorney.bar_number,
            base_url="/",
        )
    assert list(attorney.identity_changes.values_list("full_name", flat=True)) == ["Second Try"]


def test_a_verification_link_works_once_and_never_reactivates_a_suspended_attorney() -> None:
    user = UserFactory(is_active=False)
    attorney = Attorney.objects.create(
        user=user, full_name="A", requested_bar_state="NY", requested_bar_number="7500000"
    )
    token = attorney_verify_token.make_token(user)
    attorney_verify_email(attorney=attorney)
    user.refresh_from_db()
    assert user.is_active and not attorney_verify_token.check_token(user, token)
    User.objects.filter(pk=user.pk).update(is_active=False)  # suspended
    attorney_verify_email(attorney=attorney)
    user.refresh_from_db()
    assert not user.is_active


def test_expiry_spares_accounts_that_hold_registrations() -> None:
    imported = AttorneyFactory(user=UserFactory(is_active=False), email_verified_at=None)
    ExemptNumber.objects.create(attorney=imported, number="+12125550112")
    assert attorney_signups_expire(now=imported.created_at + timedelta(days=365)) == 0


def test_a_staff_reset_link_dies_when_the_account_is_suspended() -> None:
    from apps.access.suspensions import user_suspend

    staff = actor("desk", "registry_clerk").user
    token = staff_reset_token.make_token(staff)
    uid = urlsafe_base64_encode(force_bytes(staff.pk))
    user_suspend(user=staff, rule="canary", details={})
    page = Client().get(f"/password-reset/{uid}/{token}/", follow=True).content.decode()
    assert "not valid any more" in page
