"""Facility staff: the members of the facilities the user manages, assigning a role, and
removing a member (apps.actions.staff: grants and export packages go with the access)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.roles import ROLE_FACILITY_PERMISSIONS
from apps.actions import staff as staff_actions
from apps.audit.scoped import get_in_scope_or_404
from apps.common.errors import DomainError, NotFoundError
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.facilities.selectors import staff_managed_by, staff_permissions
from apps.portal.forms import (
    ROLE_LABELS,
    StaffAssignForm,
    StaffInviteForm,
)
from apps.portal.nav import request_capabilities
from apps.portal.pages import confirmation, confirmed, page_of, portal_page, portal_user
from apps.portal.selectors import role_groups_of


@dataclass(frozen=True)
class Membership:
    facility_id: int
    facility_name: str
    user_id: int
    username: str
    role: str
    permissions: list[str]


# What each facility permission lets a member do, in words (never a codename on screen).
PERMISSION_LABELS = {
    "view_facility": "sees inmates",
    "view_facility_calls": "searches calls",
    "play_facility_recordings": "plays every recording",
    "manage_facility": "manages staff, inmates and grants",
    "approve_facility_exports": "approves exports",
}


def _role_of(codenames: set[str], groups: set[str]) -> str:
    """Roles are not stored per facility, only their permissions: name the role whose
    permissions these are, using the member's role groups where two roles hold the same set
    (investigators and privilege officers)."""
    roles = [r for r, perms in ROLE_FACILITY_PERMISSIONS.items() if perms and set(perms) == codenames]
    held = [r for r in roles if r in groups] or roles
    return " or ".join(ROLE_LABELS[r] for r in held) or "Custom"


def _abilities(codenames: set[str]) -> list[str]:
    return [PERMISSION_LABELS.get(c, c.replace("_", " ")) for c in sorted(codenames)]


@require_http_methods(["GET", "POST"])
@portal_page
def staff_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    if not request_capabilities(request).manage:
        raise NotFoundError()
    form = StaffAssignForm(request.POST or None, user=user)
    return _staff_page(request, form=form, invite=StaffInviteForm(user=user))


def _staff_page(request: HttpRequest, *, form: StaffAssignForm, invite: StaffInviteForm) -> HttpResponse:
    """The staff list with its two forms: assign an existing user, invite a new one."""
    user = portal_user(request)
    if request.method == "POST" and form.is_bound and form.is_valid() and form.member is not None:
        facility = form.cleaned_data["facility"]
        role = form.cleaned_data["role"]
        try:
            staff_actions.staff_assign(assigned_by=user, user=form.member, facility=facility, role=role)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, f"{form.member.username} is now {ROLE_LABELS[role]} at {facility.name}."
            )
            return redirect("portal:staff")

    page = page_of(request, staff_managed_by(user))
    perms = staff_permissions((r["content_object_id"], r["user_id"]) for r in page)
    groups = role_groups_of(r["user_id"] for r in page)
    members = [
        Membership(
            facility_id=r["content_object_id"],
            facility_name=r["content_object__name"],
            user_id=r["user_id"],
            username=r["user__username"],
            role=_role_of(
                perms.get((r["content_object_id"], r["user_id"]), set()), groups.get(r["user_id"], set())
            ),
            permissions=_abilities(perms.get((r["content_object_id"], r["user_id"]), set())),
        )
        for r in page
    ]
    return render(
        request,
        "portal/staff_list.html",
        {"form": form, "invite": invite, "page": page, "members": members, "me": user.pk},
        status=400 if invite.errors else 200,
    )


@require_POST
@portal_page
def staff_invite(request: HttpRequest) -> HttpResponse:
    """Create a staff account with a role and e-mail its owner (no Django admin needed)."""
    user = portal_user(request)
    if not request_capabilities(request).manage:
        raise NotFoundError()
    invite = StaffInviteForm(request.POST, user=user)
    if invite.is_valid():
        data = invite.cleaned_data
        try:
            member = staff_actions.staff_invite(
                invited_by=user,
                username=data["username"],
                email=data["email"],
                facility=data["facility"],
                role=data["role"],
                base_url=request.build_absolute_uri("/"),
            )
        except DomainError as exc:
            invite.add_error(exc.extra.get("field"), exc.message)
        else:
            messages.success(
                request,
                f"Invited {member.username} as {ROLE_LABELS[data['role']]} at {data['facility'].name}: "
                f"a link to choose a password is on its way to {member.email}.",
            )
            return redirect("portal:staff")
    return _staff_page(request, form=StaffAssignForm(user=user), invite=invite)


@require_POST
@portal_page
def staff_remove(request: HttpRequest) -> HttpResponseBase:
    user = portal_user(request)
    facility = get_in_scope_or_404(
        Facility.objects.restrict(user, Action.MANAGE),
        request.POST.get("facility", ""),
        actor=user,
        action="staff.remove",
    )
    raw_member = str(request.POST.get("user", ""))
    member = User.objects.filter(pk=int(raw_member)).first() if raw_member.isdigit() else None
    if member is None:
        raise NotFoundError()
    if not confirmed(request):
        return confirmation(
            request,
            title=f"Remove {member.username} from {facility.name}?",
            consequences=[
                f"{member.username} loses every permission at {facility.name} at once.",
                "Their case grants on its inmates are revoked; playback links already issued stop working.",
                "Export packages they may no longer have are shredded.",
            ],
            button="Remove",
            cancel_url=reverse("portal:staff"),
            carry={"facility": str(facility.pk), "user": str(member.pk)},
        )
    try:
        revoked = staff_actions.staff_remove(removed_by=user, user=member, facility=facility).grants_revoked
    except NotFoundError:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        extra = f" and revoked {revoked} grant(s)" if revoked else ""
        messages.success(request, f"Removed {member.username} from {facility.name}{extra}.")
    return redirect("portal:staff")
