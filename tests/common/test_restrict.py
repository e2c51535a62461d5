"""The one restrict(user, action): one vocabulary, fail closed, no superuser back door."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.utils import timezone
from guardian.shortcuts import assign_perm

from apps.calls.models import Call
from apps.common.querysets import Action, UnsupportedAction
from apps.facilities.models import Facility, FacilityUserObjectPermission
from apps.inmates.models import Inmate, InmateUserObjectPermission
from apps.inmates.services import inmate_grant_create
from apps.recordings.models import Recording
from apps.registry.models import PrivilegeFlag
from tests.conftest import grant_facility
from tests.factories import FacilityFactory, InmateFactory, UserFactory

SCOPED_MODELS = [Facility, Inmate, Call, Recording, PrivilegeFlag, FacilityUserObjectPermission]


@pytest.mark.django_db
@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_a_word_outside_the_vocabulary_raises_for_every_model(model: type) -> None:
    user = UserFactory(username="someone")
    with pytest.raises(UnsupportedAction, match="unknown action"):
        model.objects.restrict(user, "view_facility")  # the old per-model codename vocabulary


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "action"),
    [(Call, Action.PLAY), (Inmate, Action.PLAY), (Recording, Action.MANAGE), (PrivilegeFlag, Action.MANAGE)],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_an_action_the_model_lacks_raises_even_for_the_anonymous(model: type, action: Action) -> None:
    with pytest.raises(UnsupportedAction, match=action.value):
        model.objects.restrict(UserFactory(username="someone"), action)
    with pytest.raises(UnsupportedAction, match=action.value):
        model.objects.restrict(AnonymousUser(), action)


@pytest.mark.django_db
def test_anonymous_inactive_and_ungranted_superusers_see_nothing() -> None:
    facility = FacilityFactory()
    InmateFactory(facility=facility)
    admin = UserFactory(username="admin")
    grant_facility(admin, facility, "view_facility", "manage_facility")
    assert Inmate.objects.restrict(admin, Action.VIEW).count() == 1  # control: the grant works

    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    admin.is_active = False
    admin.save()
    for user in (AnonymousUser(), admin, superuser):
        for model, action in [(Facility, Action.MANAGE), (Inmate, Action.VIEW), (Recording, Action.PLAY)]:
            assert not model.objects.restrict(user, action).exists(), (user, model, action)


@pytest.mark.django_db
def test_each_action_reads_its_own_facility_permission_directly_or_through_a_group() -> None:
    home, other = FacilityFactory(), FacilityFactory()
    user = UserFactory(username="staff")
    group = Group.objects.create(name="night shift")
    user.groups.add(group)
    assign_perm("facilities.view_facility", user, home)
    assign_perm("facilities.view_facility_calls", group, other)

    assert list(Facility.objects.restrict(user, Action.VIEW)) == [home]
    assert list(Facility.objects.restrict(user, Action.VIEW_CALLS)) == [other]
    assert not Facility.objects.restrict(user, Action.MANAGE).exists()
    assert not Facility.objects.restrict(user, Action.APPROVE_EXPORTS).exists()


@pytest.mark.django_db
def test_grants_are_managed_by_the_facility_admin_and_seen_by_their_holder_only() -> None:
    home, other = FacilityFactory(), FacilityFactory()
    admin, other_admin = UserFactory(username="admin"), UserFactory(username="other-admin")
    investigator, colleague = UserFactory(username="inv"), UserFactory(username="colleague")
    grant_facility(admin, home, "view_facility", "manage_facility")
    grant_facility(other_admin, other, "view_facility", "manage_facility")
    for person in (investigator, colleague):
        grant_facility(person, home, "view_facility", "view_facility_calls")
    grant = inmate_grant_create(
        granted_by=admin,
        investigator=investigator,
        inmate=InmateFactory(facility=home),
        case_reference="CASE-1",
        expires_at=timezone.now() + timedelta(days=7),
    )

    assert list(InmateUserObjectPermission.objects.restrict(admin, Action.MANAGE)) == [grant]
    assert list(InmateUserObjectPermission.objects.restrict(investigator, Action.VIEW)) == [grant]
    assert not InmateUserObjectPermission.objects.restrict(investigator, Action.MANAGE).exists()
    assert not InmateUserObjectPermission.objects.restrict(colleague, Action.VIEW).exists()
    assert not InmateUserObjectPermission.objects.restrict(other_admin, Action.VIEW).exists()
