"""Reads of facility staff for the portal's staff page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from apps.common.querysets import Action
from apps.facilities.models import FACILITY_PERMISSION, FacilityUserObjectPermission


def staff_managed_by(user: User) -> QuerySet[Any]:
    """One row (facility id and name, user id and name) per member of the facilities ``user``
    manages, ordered by facility then username."""
    return (
        FacilityUserObjectPermission.objects.restrict(user, Action.MANAGE)
        .values("content_object_id", "content_object__name", "user_id", "user__username")
        .distinct()
        .order_by("content_object__name", "user__username")
    )


def staff_permissions(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], set[str]]:
    """The facility permission codenames of each (facility id, user id) pair; call it with the
    pairs of a page of ``staff_managed_by`` (already scoped), never with ids from a request."""
    pairs = list(pairs)
    perms: dict[tuple[int, int], set[str]] = {}
    if not pairs:
        return perms
    wanted = set(pairs)
    rows = FacilityUserObjectPermission.objects.filter(
        content_object_id__in={p[0] for p in pairs}, user_id__in={p[1] for p in pairs}
    ).values_list("content_object_id", "user_id", "permission__codename")
    for fid, uid, codename in rows:
        if (fid, uid) in wanted:
            perms.setdefault((fid, uid), set()).add(codename)
    return perms


def facility_admin_names(facility_id: int, *, besides: int | None = None) -> list[str]:
    """Usernames of the active administrators of one facility (whom staff ask for a grant)."""
    admins = FacilityUserObjectPermission.objects.filter(
        content_object_id=facility_id,
        permission__codename=FACILITY_PERMISSION[Action.MANAGE],
        user__is_active=True,
    )
    if besides is not None:
        admins = admins.exclude(user_id=besides)
    return sorted(set(admins.values_list("user__username", flat=True)))
