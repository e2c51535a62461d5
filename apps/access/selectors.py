from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import Group, User
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.access.models import ExportRequest, Suspension
from apps.accounts.roles import ROLES
from apps.audit.models import AuditEvent, Outcome
from apps.common.querysets import Action
from apps.facilities.models import (
    FACILITY_PERMISSION,
    Facility,
    FacilityGroupObjectPermission,
    FacilityUserObjectPermission,
    SwitchAccount,
    facility_ids,
)
from apps.inmates.models import InmateUserObjectPermission


def exports_visible_to(user: User) -> QuerySet[ExportRequest]:
    """The user's own export requests, and those touching a facility they may approve for."""
    approvable = Facility.objects.restrict(user, Action.APPROVE_EXPORTS).values("pk")
    return (
        ExportRequest.objects.filter(Q(requested_by=user) | Q(items__facility_id__in=approvable))
        .distinct()
        .select_related("requested_by", "approved_by")
        .prefetch_related("items")
    )


@dataclass(frozen=True)
class RecentActivity:
    """What an approver weighs next to a request: how its requester has used access lately."""

    days: int
    playbacks: int
    exports: int
    denied: int


def requester_recent_activity(
    requester: User, *, days: int = 7, now: datetime | None = None
) -> RecentActivity:
    """The requester's playback links, export requests and denied or refused attempts in the
    last ``days`` days, from the audit trail (one grouped query). Counts only: the approver
    judges the pattern, the trail itself stays the auditors'."""
    since = (now or timezone.now()) - timedelta(days=days)
    counts = AuditEvent.objects.filter(actor=requester, created_at__gte=since).aggregate(
        playbacks=Count("id", filter=Q(action="recording.playback_link_issued", outcome=Outcome.SUCCESS)),
        exports=Count("id", filter=Q(action="export.requested", outcome=Outcome.SUCCESS)),
        denied=Count("id", filter=Q(outcome__in=[Outcome.DENIED, Outcome.REFUSED])),
    )
    return RecentActivity(days=days, **counts)


def suspensions_liftable_by(user: User) -> QuerySet[Suspension]:
    """Suspensions the user may lift, never their own; any other id answers the same 404
    whether it exists or not (never a 403 that says it does).

    - With the global lift permission (compliance), every suspension.
    - As a facility administrator, the suspensions of the staff of the facilities they manage,
      but only of people on no other facility's staff: a suspension stops an account
      everywhere, so an administrator may not reopen access to a facility they do not run
      (nor a group's or an inmate grant elsewhere, a global permission, a superuser).
    """
    if not user.is_active:
        return Suspension.objects.none()
    if user.has_perm("access.lift_suspension"):
        return Suspension.objects.exclude(user=user)
    managed = facility_ids(user, Action.MANAGE)
    if not managed:
        return Suspension.objects.none()
    staff = FacilityUserObjectPermission.objects.filter(user=OuterRef("user_id"))
    # Access elsewhere comes not only from direct facility grants: a group's facility grant, an
    # inmate grant in another facility, a model permission outside the role groups (which reach
    # no facility alone) or superuser status all reach beyond the facilities this admin runs.
    group_elsewhere = FacilityGroupObjectPermission.objects.filter(group__user=OuterRef("user_id")).exclude(
        content_object_id__in=managed
    )
    inmate_elsewhere = InmateUserObjectPermission.objects.filter(user=OuterRef("user_id")).exclude(
        content_object__facility_id__in=managed
    )
    global_perm = Q(user__is_superuser=True) | Exists(
        User.user_permissions.through.objects.filter(user=OuterRef("user_id"))
    )
    non_role_group_perm = Exists(
        Group.permissions.through.objects.filter(group__user=OuterRef("user_id")).exclude(
            group__name__in=ROLES
        )
    )
    return (
        Suspension.objects.filter(Exists(staff.filter(content_object_id__in=managed)))
        .exclude(Exists(staff.exclude(content_object_id__in=managed)))
        .exclude(Exists(group_elsewhere))
        .exclude(Exists(inmate_elsewhere))
        .exclude(global_perm | non_role_group_perm)
        .exclude(user=user)
    )


def staff_accounts() -> QuerySet[User]:
    """Who the facility portal's password reset reaches (``settings.ACCOUNT_RESET_AUDIENCES``):
    active staff (a role, or a place on a facility's staff), not suspended. Never attorneys,
    switch accounts or superusers (a superuser resets with manage.py, not by mail)."""
    has_role = Exists(User.groups.through.objects.filter(user=OuterRef("pk"), group__name__in=ROLES))
    on_staff = Exists(FacilityUserObjectPermission.objects.filter(user=OuterRef("pk")))
    return (
        User.objects.filter(is_active=True, is_superuser=False, attorney__isnull=True)
        .filter(has_role | on_staff)
        .exclude(Exists(Suspension.objects.filter(user=OuterRef("pk"), lifted_at__isnull=True)))
        .exclude(Exists(SwitchAccount.objects.filter(user=OuterRef("pk"))))
    )


def user_is_suspended(user: User) -> bool:
    """An open suspension stands: only ``suspension_lift`` may reactivate the account."""
    return Suspension.objects.filter(user=user, lifted_at__isnull=True).exists()


def open_suspension(user: User) -> Suspension | None:
    return Suspension.objects.filter(user=user, lifted_at__isnull=True).first()


def suspension_contacts(user: User) -> list[str]:
    """Whom a suspended person should ask: the active administrators (not suspended, not
    themselves) of the facilities they work at, who may lift it in the portal."""
    facilities = FacilityUserObjectPermission.objects.filter(user=user).values("content_object_id")
    admins = FacilityUserObjectPermission.objects.filter(
        content_object_id__in=facilities,
        permission__codename=FACILITY_PERMISSION[Action.MANAGE],
        user__is_active=True,
    ).exclude(user=user)
    return sorted(set(admins.values_list("user__username", flat=True)))
