"""Taking access away is one act across three domains (I2, I4).

Staff membership is a facilities matter, investigator grants an inmates matter, export packages
an access matter; the rules that tie them together live here, above all three, so none of them
imports a higher one:

- Inmate grants do not re-check facility membership when a recording is played, so a member
  who no longer sees a facility's calls (removed, or demoted to a role without call access)
  loses their grants there in the same transaction.
- A ready export package its requester may no longer have is shredded with the act that took
  their access away (apps.access.revocation owns what "may no longer have" means).

Every portal page and API view that removes staff, changes a role or revokes a grant calls
these, never the domain services alone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from apps.access.revocation import exports_revoke_out_of_scope
from apps.accounts.emails import staff_invite_enqueue
from apps.accounts.roles import ROLE_FACILITY_PERMISSIONS, ensure_role_groups
from apps.accounts.throttle import mask_email
from apps.audit.services import record_event
from apps.common.errors import DomainError
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.facilities.services import StaffChange, facility_staff_assign, facility_staff_remove
from apps.inmates.models import InmateUserObjectPermission
from apps.inmates.services import inmate_grant_revoke


@dataclass(frozen=True)
class AccessTaken:
    """What a staff change took away besides the facility permissions themselves."""

    change: StaffChange
    grants_revoked: int
    exports_shredded: int


@transaction.atomic
def staff_assign(*, assigned_by: User, user: User, facility: Facility, role: str) -> AccessTaken:
    """Give ``user`` exactly ``role`` at ``facility``; a demotion takes what the new role lacks
    (grants there if it has no call access, packages no longer deserved) in the same act."""
    change = facility_staff_assign(assigned_by=assigned_by, user=user, facility=facility, role=role)
    grants = _revoke_grants_if_unassigned(member=user, facility=facility, by=assigned_by)
    shredded = 0
    if change.removed or grants:
        shredded = exports_revoke_out_of_scope(user=user, actor=assigned_by, cause="staff role changed")
    return AccessTaken(change=change, grants_revoked=grants, exports_shredded=shredded)


class InviteError(DomainError):
    reason = "invite_refused"
    default_message = "The invitation could not be made."


@transaction.atomic
def staff_invite(
    *, invited_by: User, username: str, email: str, facility: Facility, role: str, base_url: str
) -> User:
    """Create a staff account in ``role`` at ``facility`` and e-mail its owner a link to choose
    a password: the portal's alternative to the Django admin. The account gets the role's group
    (its model permissions) and, through staff_assign, exactly the role's facility permissions,
    checked as any assignment is (only a manager of the facility; never oneself). The random
    initial password is never shown to anyone; the invitation and the assignment are audited
    in this transaction and the e-mail goes out after the commit."""
    username, email = username.strip(), email.strip()
    if User.objects.filter(username__iexact=username).exists():
        raise InviteError("That username is taken; choose another.", field="username")
    if User.objects.filter(email__iexact=email, is_active=True).exists():
        raise InviteError("An account already uses this address; assign that user instead.", field="email")
    if role not in ROLE_FACILITY_PERMISSIONS:
        raise InviteError("Unknown role.", field="role")
    user = User(username=username, email=email, is_active=True)
    user.set_password(secrets.token_urlsafe(32))  # usable, so "Forgot your password?" works too
    user.full_clean()
    user.save()
    user.groups.add(ensure_role_groups()[role])
    staff_assign(assigned_by=invited_by, user=user, facility=facility, role=role)
    record_event(
        action="staff.invited",
        actor=invited_by,
        target=user,
        facility_id=facility.pk,
        details={"user": username, "role": role, "email": mask_email(email)},
    )
    staff_invite_enqueue(user_id=user.pk, facility_name=facility.name, base_url=base_url)
    return user


@transaction.atomic
def staff_remove(*, removed_by: User, user: User, facility: Facility) -> AccessTaken:
    """Remove ``user`` from ``facility``'s staff, revoke their inmate grants there if they no
    longer see its calls, and shred the export packages they may no longer have."""
    change = facility_staff_remove(removed_by=removed_by, user=user, facility=facility)
    grants = _revoke_grants_if_unassigned(member=user, facility=facility, by=removed_by)
    shredded = exports_revoke_out_of_scope(user=user, actor=removed_by, cause="removed from staff")
    return AccessTaken(change=change, grants_revoked=grants, exports_shredded=shredded)


@transaction.atomic
def grant_revoke(*, grant: InmateUserObjectPermission, revoked_by: User) -> int:
    """Revoke an investigator grant at once and shred the holder's export packages that it was
    letting out; return how many packages were shredded."""
    holder = grant.user
    inmate_grant_revoke(grant=grant, revoked_by=revoked_by)
    return exports_revoke_out_of_scope(user=holder, actor=revoked_by, cause="grant revoked")


def _revoke_grants_if_unassigned(*, member: User, facility: Facility, by: User) -> int:
    """Inside the caller's transaction: revoke ``member``'s grants on ``facility``'s inmates
    unless they still see its calls; return how many were revoked."""
    if Facility.objects.restrict(member, Action.VIEW_CALLS).filter(pk=facility.pk).exists():
        return 0
    grants = InmateUserObjectPermission.objects.filter(
        user=member, content_object__facility=facility
    ).select_related("user", "content_object")
    count = 0
    for grant in grants:
        inmate_grant_revoke(grant=grant, revoked_by=by)
        count += 1
    return count
