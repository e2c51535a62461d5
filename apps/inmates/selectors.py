"""Reads of inmates and investigator grants, for the API and the portal alike. Each takes the
user and starts from restrict(), so no caller builds a permission query of its own."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from apps.common.querysets import Action
from apps.inmates.models import Inmate, InmateUserObjectPermission


def inmates_visible_to(user: User) -> QuerySet[Inmate]:
    return Inmate.objects.restrict(user, Action.VIEW).select_related("facility")


def inmates_matching(inmates: QuerySet[Inmate], query: str) -> QuerySet[Inmate]:
    """Filter an already-scoped queryset: an exact booking number or a last-name prefix."""
    if not query:
        return inmates
    return inmates.filter(Q(booking_number__iexact=query) | Q(last_name__istartswith=query))


def grants_visible_to(user: User) -> QuerySet[InmateUserObjectPermission]:
    """Grants of facilities the user manages, plus the user's own grants."""
    return InmateUserObjectPermission.objects.restrict(user, Action.VIEW).select_related(
        "user", "granted_by", "content_object__facility"
    )


def grants_managed_by(user: User) -> QuerySet[InmateUserObjectPermission]:
    """Grants the user may revoke: those of facilities they manage."""
    return InmateUserObjectPermission.objects.restrict(user, Action.MANAGE).select_related(
        "user", "content_object"
    )
