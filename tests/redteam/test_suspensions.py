"""Red team (2026-11-27): a facility administrator lifting a suspension that reopens access
beyond the facilities they run. ``suspensions_liftable_by`` promised "only of people on no
other facility's staff", but looked only at *direct* facility grants."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from guardian.shortcuts import assign_perm

from apps.access.models import Suspension
from apps.access.selectors import suspensions_liftable_by
from apps.access.suspensions import LiftNotAllowedError, suspension_lift, user_suspend
from apps.common.querysets import Action
from apps.facilities.models import Facility, facility_ids
from tests.actors import INVESTIGATOR, Cast, staff_member

pytestmark = pytest.mark.django_db


def _suspend(user: User) -> Suspension:
    suspension = user_suspend(user=user, rule="canary", details={})
    assert suspension is not None
    return suspension


def test_staff_of_another_facility_through_a_group_is_not_this_administrators_to_lift(cast: Cast) -> None:
    """ATTACK (high): the suspended investigator works at home (direct grant) and at the other
    facility through a group's object permission. Home's administrator lifted the suspension
    and so reopened access to a facility they do not run."""
    roaming = staff_member("roaming", INVESTIGATOR, cast.facility).user
    team = Group.objects.create(name="other-facility-investigators")
    assign_perm("facilities.view_facility", team, cast.other_facility)
    assign_perm("facilities.view_facility_calls", team, cast.other_facility)
    roaming.groups.add(team)
    suspension = _suspend(roaming)
    # What the lift would reopen: the other facility's calls.
    User.objects.filter(pk=roaming.pk).update(is_active=True)
    assert cast.other_facility.pk in facility_ids(User.objects.get(pk=roaming.pk), Action.VIEW_CALLS)
    User.objects.filter(pk=roaming.pk).update(is_active=False)

    assert not suspensions_liftable_by(cast.admin.user).filter(pk=suspension.pk).exists()
    with pytest.raises(LiftNotAllowedError):
        suspension_lift(suspension=suspension, lifted_by=cast.admin.user, reason="looks fine")
    assert not User.objects.get(pk=roaming.pk).is_active


@pytest.mark.parametrize("global_perm", ["access.lift_suspension", "audit.view_auditevent"])
def test_someone_with_a_global_permission_is_not_a_facility_administrators_to_lift(
    cast: Cast, global_perm: str
) -> None:
    """ATTACK (medium): a compliance officer (global lift permission, or the whole audit trail)
    who is also on home's staff gets suspended; home's administrator could lift it and reopen a
    power that reaches every facility. Only compliance (the global lift permission) may."""
    officer = staff_member("compliance-too", INVESTIGATOR, cast.facility).user
    assign_perm(global_perm, officer)
    suspension = _suspend(officer)
    assert not suspensions_liftable_by(cast.admin.user).filter(pk=suspension.pk).exists()


def test_a_superuser_is_not_a_facility_administrators_to_lift(cast: Cast) -> None:
    """ATTACK (medium): a superuser on home's staff, suspended; home's admin could lift it."""
    root = staff_member("root-on-staff", INVESTIGATOR, cast.facility).user
    User.objects.filter(pk=root.pk).update(is_superuser=True)
    suspension = _suspend(root)
    assert not suspensions_liftable_by(cast.admin.user).filter(pk=suspension.pk).exists()


def test_the_ordinary_case_still_lifts(cast: Cast) -> None:
    """Control: the demo's case (an investigator of home only) stays liftable by home's admin."""
    suspension = _suspend(cast.investigator.user)
    assert suspensions_liftable_by(cast.admin.user).filter(pk=suspension.pk).exists()
    assert Facility.objects.count() == 2


def test_opening_a_suspension_is_audited(cast: Cast) -> None:
    """ATTACK (low, I3): the lift page shows whom, why and since when; opening it (GET) left no
    event, only the list and the lift itself did."""
    from apps.audit.models import AuditEvent
    from tests.portal.conftest import logged_in

    suspension = _suspend(cast.investigator.user)
    assert logged_in(cast.admin.user).get(f"/staff/suspensions/{suspension.pk}/lift/").status_code == 200
    viewed = AuditEvent.objects.get(action="suspension.viewed", actor=cast.admin.user)
    assert viewed.details["suspension_id"] == suspension.pk
