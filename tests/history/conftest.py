"""The history tests' registry: numbers verified, revoked and claimed today."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from apps.registry.claims import claim_report
from apps.registry.models import Attorney
from apps.registry.revocations import exempt_number_revoke
from tests.actors import Cast
from tests.factories import InmateFactory
from tests.history.test_import_history import ATTORNEY, CLAIMED, HOME_ONLY, REVOKED, _verified


@pytest.fixture
def registry(cast: Cast, attorney: Attorney, clerk: User, switch: object) -> None:
    _verified(attorney, clerk, ATTORNEY)
    _verified(attorney, clerk, HOME_ONLY, cast.facility)
    revoked = _verified(attorney, clerk, REVOKED)
    exempt_number_revoke(exempt_number_id=revoked.pk, actor=attorney.user)
    InmateFactory(facility=cast.facility, booking_number="B-CLAIM")
    claim_report(facility=cast.facility, booking_number="B-CLAIM", number=CLAIMED, actor=cast.admin.user)
