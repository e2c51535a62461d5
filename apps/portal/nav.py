"""What the portal shows a user: derived from the same permissions the querysets filter on.

The navigation only hides what a user cannot use; it is never the guard. Every page fetches
through restrict() querysets, so a hidden page reached by URL simply shows nothing (or 404).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

from apps.common.querysets import Action
from apps.common.visibility import can_see_privileged_details
from apps.facilities.models import Facility
from apps.inmates.models import InmateUserObjectPermission


@dataclass(frozen=True)
class Capabilities:
    inmates: bool = False
    calls: bool = False
    manage: bool = False
    own_grants: bool = False
    unmasked: bool = False
    compliance: bool = False
    clerk_queue: bool = False  # the registry clerk's queue (attorney portal)
    review_queue: bool = False  # the privilege officer's review queue (attorney portal)
    attorney: bool = False

    @property
    def grants(self) -> bool:
        return self.manage or self.own_grants

    def workspace_elsewhere(self) -> str | None:
        """Where a user who works at no facility belongs (attorneys, registry clerks, officers
        without a facility): their own workspace in the attorney portal, not an empty dashboard."""
        if self.inmates:
            return None
        if self.attorney:
            return "attorneys:home"
        if self.clerk_queue:
            return "attorneys:clerk-queue"
        if self.review_queue:
            return "attorneys:review-queue"
        return None


def capabilities(user: User | AnonymousUser) -> Capabilities:
    if not user.is_authenticated or not user.is_active:
        return Capabilities()
    return Capabilities(
        inmates=Facility.objects.restrict(user, Action.VIEW).exists(),
        calls=Facility.objects.restrict(user, Action.VIEW_CALLS).exists(),
        manage=Facility.objects.restrict(user, Action.MANAGE).exists(),
        own_grants=InmateUserObjectPermission.objects.filter(user_id=user.pk).exists(),
        unmasked=can_see_privileged_details(user),
        compliance=user.has_perm("audit.view_auditevent"),
        clerk_queue=user.has_perm("registry.verify_exemptnumber"),
        review_queue=user.has_perm("recordings.review_quarantine"),
        attorney=hasattr(user, "attorney"),
    )


def request_capabilities(request: HttpRequest) -> Capabilities:
    """Computed once per request (the base template and the view may both ask)."""
    cached = getattr(request, "_portal_capabilities", None)
    if cached is None:
        cached = capabilities(request.user)
        request._portal_capabilities = cached  # type: ignore[attr-defined]
    return cached
