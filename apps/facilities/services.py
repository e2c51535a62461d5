"""Staff membership of facilities: who works where, in which role.

A role's facility permissions (apps.accounts.roles.ROLE_FACILITY_PERMISSIONS) are guardian
object permissions on the Facility. Only a user holding ``facilities.manage_facility`` on the
facility may change its staff, and nobody may change their own membership (no self-promotion,
no locking oneself out by accident). Role *groups* (global model permissions such as
unmasking privileged numbers) are deliberately not touched here: a facility admin must not be
able to hand out powers that reach beyond their facility.

What a change takes away beyond these permissions (inmate grants, export packages) is the
cross-domain act of apps.actions.staff, which every caller uses instead of these alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Permission, User
from django.db import transaction

from apps.accounts.roles import ROLE_FACILITY_PERMISSIONS
from apps.audit.services import record_event
from apps.common.errors import DomainError, NotFoundError
from apps.common.querysets import Action
from apps.facilities.models import Facility, FacilityUserObjectPermission


class StaffError(DomainError):
    reason = "invalid_staff_change"
    default_message = "The staff change is invalid."


class SelfStaffChangeError(StaffError):
    reason = "self_staff_change"
    default_message = "Nobody may change their own facility membership."


class UnknownRoleError(StaffError):
    reason = "unknown_role"
    default_message = "Unknown role."


def assignable_roles() -> list[str]:
    """Roles that carry facility permissions (a registry clerk works on no facility)."""
    return [role for role, perms in ROLE_FACILITY_PERMISSIONS.items() if perms]


@dataclass(frozen=True)
class StaffChange:
    added: list[str]
    removed: list[str]


def _check_manager(*, actor: User, facility: Facility, user: User) -> None:
    if not Facility.objects.restrict(actor, Action.MANAGE).filter(pk=facility.pk).exists():
        raise NotFoundError()
    if user.pk == actor.pk:
        raise SelfStaffChangeError()


def _current_codenames(*, user: User, facility: Facility) -> set[str]:
    return set(
        FacilityUserObjectPermission.objects.filter(user=user, content_object=facility).values_list(
            "permission__codename", flat=True
        )
    )


@transaction.atomic
def facility_staff_assign(*, assigned_by: User, user: User, facility: Facility, role: str) -> StaffChange:
    """Give ``user`` exactly ``role``'s facility permissions on ``facility``.

    Assigning someone already on staff changes their role: permissions the new role lacks are
    removed in the same transaction, so a demotion takes effect at once. Callers go through
    apps.actions.staff.staff_assign, which also takes the grants and packages a demotion ends.
    """
    _check_manager(actor=assigned_by, facility=facility, user=user)
    if role not in assignable_roles():
        raise UnknownRoleError()
    if not user.is_active:
        raise StaffError("The user is inactive.")
    wanted = set(ROLE_FACILITY_PERMISSIONS[role])
    current = _current_codenames(user=user, facility=facility)
    added, removed = sorted(wanted - current), sorted(current - wanted)
    perms = Permission.objects.filter(content_type__app_label="facilities", codename__in=added)
    FacilityUserObjectPermission.objects.bulk_create(
        [FacilityUserObjectPermission(user=user, permission=p, content_object=facility) for p in perms]
    )
    FacilityUserObjectPermission.objects.filter(
        user=user, content_object=facility, permission__codename__in=removed
    ).delete()
    record_event(
        action="staff.assigned",
        actor=assigned_by,
        target=user,
        facility_id=facility.pk,
        details={"user": user.get_username(), "role": role, "added": added, "removed": removed},
    )
    return StaffChange(added=added, removed=removed)


@transaction.atomic
def facility_staff_remove(*, removed_by: User, user: User, facility: Facility) -> StaffChange:
    """Take every facility permission ``user`` holds on ``facility`` away. Callers go through
    apps.actions.staff.staff_remove, which also revokes grants and shreds packages."""
    _check_manager(actor=removed_by, facility=facility, user=user)
    removed = sorted(_current_codenames(user=user, facility=facility))
    if not removed:
        raise NotFoundError()
    FacilityUserObjectPermission.objects.filter(user=user, content_object=facility).delete()
    record_event(
        action="staff.removed",
        actor=removed_by,
        target=user,
        facility_id=facility.pk,
        details={"user": user.get_username(), "removed": removed},
    )
    return StaffChange(added=[], removed=removed)
