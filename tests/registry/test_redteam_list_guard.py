"""Red team: ways the verified list shrinks (or is narrowed) without the list guard noticing,
and a two-clerk revocation batch that grows after the second clerk looked at it.

Each test states the attack as the guard's own contract: the list guard (apps/registry/alarms.py)
promises an alarm for rows "rewritten behind the services' back"; the two-clerk rule promises
that a second person approves what they saw.
"""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.accounts.roles import REGISTRY_CLERK, ensure_role_groups
from apps.actions.registry import exempt_number_verify
from apps.common.errors import DomainError
from apps.facilities.models import Facility
from apps.registry.bulk import bulk_change_approve, pending_bulk_changes
from apps.registry.bulk_api import BulkChangeOutput
from apps.registry.bulk_limits import SecondClerkRequiredError
from apps.registry.models import Attorney, ExemptNumber
from apps.registry.services import exempt_number_register, exempt_number_revoke
from apps.registry.snapshots import registry_snapshot_take
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DAY1 = date(2030, 3, 1)
DAY2 = date(2030, 3, 2)


def verified(attorney: Attorney, clerk: User, number: str) -> ExemptNumber:
    exempt = exempt_number_register(attorney=attorney, number=number, actor=attorney.user)
    return exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)[0]


def test_redteam_scope_narrowed_behind_the_back_raises_an_alarm(
    attorney: Attorney, clerk: User, facility: Facility
) -> None:
    """A global registration rewritten to one facility: the number stays "on the list" (same
    reference, same registration), but every other facility records it again. The snapshot
    keys entries by number only, so no alarm is raised."""
    exempt = verified(attorney, clerk, "+12125550101")
    registry_snapshot_take(day=DAY1)
    ExemptNumber.objects.filter(pk=exempt.pk).update(facility=facility)  # behind the services' back
    assert registry_snapshot_take(day=DAY2).alarm is not None


def test_redteam_window_shortened_behind_the_back_is_not_an_explained_expiry(
    attorney: Attorney, clerk: User
) -> None:
    """A verified window a year long, cut to "now" (and marked reminded) by a raw UPDATE: the
    snapshot first runs the expiry job, whose own audited ``exempt_number.expired`` event then
    "explains" the drop. No service ever set that end or that reminder (no renewal, reminder or
    decline event names it), so it is a rewrite, not a lapse."""
    exempt = verified(attorney, clerk, "+12125550102")
    assert exempt.effective_until is None or exempt.effective_until > timezone.now() + timedelta(days=30)
    registry_snapshot_take(day=DAY1)
    now = timezone.now()
    ExemptNumber.objects.filter(pk=exempt.pk).update(
        effective_until=now, reminder_sent_at=now - timedelta(days=1)
    )
    assert registry_snapshot_take(day=DAY2).alarm is not None


@pytest.fixture
def second_clerk(db: None) -> User:
    user = UserFactory(username="clerk-2")
    user.groups.add(ensure_role_groups()[REGISTRY_CLERK])
    return user


def test_redteam_second_clerk_approves_only_the_revocations_they_saw(
    attorney: Attorney, clerk: User, second_clerk: User, settings: Any
) -> None:
    """Clerk A passes the daily limit; clerk B lists the queue and sees one revocation. Before B
    clicks approve, A queues ten more into the same open batch. B's approval (no body, only the
    batch id) applies all eleven: ten revocations nobody but A ever looked at."""
    settings.REGISTRY_BULK_REVOCATIONS_PER_DAY = 1
    numbers = [verified(attorney, clerk, f"+1212555{n:04d}") for n in range(12)]
    exempt_number_revoke(exempt_number_id=numbers[0].pk, actor=clerk)
    with pytest.raises(SecondClerkRequiredError) as queued:
        exempt_number_revoke(exempt_number_id=numbers[1].pk, actor=clerk)
    batch_id = queued.value.extra["bulk_change_id"]
    seen = BulkChangeOutput(list(pending_bulk_changes()), many=True).data
    assert [c["registration_ids"] for c in seen] == [[numbers[1].pk]]
    for exempt in numbers[2:]:
        with pytest.raises(SecondClerkRequiredError):
            exempt_number_revoke(exempt_number_id=exempt.pk, actor=clerk)
    # Refusing the grown batch (a DomainError) is as good a fix as applying only what B saw.
    with contextlib.suppress(DomainError):
        bulk_change_approve(change_id=batch_id, clerk=second_clerk)
    revoked_unseen = ExemptNumber.objects.filter(pk__in=[e.pk for e in numbers[2:]], status="revoked")
    assert not revoked_unseen.exists()
