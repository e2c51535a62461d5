from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from apps.access.models import ExportRequest, Suspension
from apps.common.querysets import Action
from apps.facilities.models import Facility


def exports_visible_to(user: User) -> QuerySet[ExportRequest]:
    """The user's own export requests, and those touching a facility they may approve for."""
    approvable = Facility.objects.restrict(user, Action.APPROVE_EXPORTS).values("pk")
    return (
        ExportRequest.objects.filter(Q(requested_by=user) | Q(items__facility_id__in=approvable))
        .distinct()
        .select_related("requested_by", "approved_by")
        .prefetch_related("items")
    )


def suspensions_liftable_by(user: User) -> QuerySet[Suspension]:
    """Suspensions the user may lift: none at all without the lift permission, so that an id
    answers the same 404 whether it exists or not (never a 403 that says it does)."""
    if not user.is_active or not (user.is_superuser or user.has_perm("access.lift_suspension")):
        return Suspension.objects.none()
    return Suspension.objects.exclude(user=user)
