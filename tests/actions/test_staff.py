"""The cross-domain acts of taking access away (apps.actions.staff), called directly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.actions.staff import grant_revoke, staff_assign, staff_remove
from apps.audit.models import AuditEvent
from apps.facilities.models import Facility
from apps.inmates.models import Inmate, InmateUserObjectPermission
from apps.inmates.services import inmate_grant_create
from tests.conftest import actor, grant_facility
from tests.factories import InmateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staffed(facility: Facility) -> tuple[User, User, Inmate]:
    admin = actor("act-admin", "facility_admin").user
    grant_facility(admin, facility, "view_facility", "manage_facility", "view_facility_calls")
    investigator = actor("act-investigator", "investigator").user
    grant_facility(investigator, facility, "view_facility", "view_facility_calls")
    inmate = InmateFactory(facility=facility)
    inmate_grant_create(
        granted_by=admin,
        investigator=investigator,
        inmate=inmate,
        case_reference="ACT-1",
        expires_at=timezone.now() + timedelta(days=1),
    )
    return admin, investigator, inmate


def _grants_of(user: User) -> int:
    return InmateUserObjectPermission.objects.filter(user=user).count()


def test_removing_a_member_revokes_their_grants_at_the_facility(
    facility: Facility, staffed: tuple[User, User, Inmate]
) -> None:
    admin, investigator, _ = staffed
    taken = staff_remove(removed_by=admin, user=investigator, facility=facility)
    assert taken.grants_revoked == 1
    assert taken.change.removed == ["view_facility", "view_facility_calls"]
    assert _grants_of(investigator) == 0
    assert AuditEvent.objects.filter(action="grant.revoked", actor=admin).count() == 1
    assert AuditEvent.objects.filter(action="staff.removed", actor=admin).count() == 1


def test_demoting_a_member_out_of_call_access_revokes_their_grants(
    facility: Facility, staffed: tuple[User, User, Inmate]
) -> None:
    admin, investigator, _ = staffed
    taken = staff_assign(assigned_by=admin, user=investigator, facility=facility, role="auditor")
    assert taken.change.removed == ["view_facility_calls"]
    assert taken.grants_revoked == 1
    assert _grants_of(investigator) == 0


def test_a_role_change_that_keeps_call_access_keeps_the_grants(
    facility: Facility, staffed: tuple[User, User, Inmate]
) -> None:
    admin, investigator, _ = staffed
    taken = staff_assign(assigned_by=admin, user=investigator, facility=facility, role="privilege_officer")
    assert taken.grants_revoked == 0
    assert _grants_of(investigator) == 1


def test_revoking_a_grant_deletes_it_and_audits_it(
    facility: Facility, staffed: tuple[User, User, Inmate]
) -> None:
    admin, investigator, _ = staffed
    grant = InmateUserObjectPermission.objects.get(user=investigator)
    assert grant_revoke(grant=grant, revoked_by=admin) == 0  # no ready package to shred
    assert _grants_of(investigator) == 0
    assert AuditEvent.objects.filter(action="grant.revoked", actor=admin).exists()
