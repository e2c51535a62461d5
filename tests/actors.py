"""The test actors: one way to make each person the tests act as, in the manner of
healthchecks' ``hc/test.py`` (alice, bob and charlie, built once, used everywhere).

Every role is made the way production makes it: the role's group from
``apps.accounts.roles.ensure_role_groups`` (model permissions), the role's facility permissions
from ``ROLE_FACILITY_PERMISSIONS`` (what ``facility_staff_assign`` gives), and inmate grants
through ``apps.inmates.services.inmate_grant_create``. A test that needs a person with other
permissions says so explicitly (``perms=``), so a departure from the role is visible.

``Cast`` is the standard world of one test: the home facility and a second one, and on the
home facility's staff an administrator, an investigator (without any inmate grant), a privilege
officer and an auditor. ``cast_grant`` gives the investigator a grant on an inmate. Fixtures
over these live in tests/conftest.py (``cast``, ``clerk``, ``attorney``, ``switch``, ...).

No fixture here: plain functions, so a module- or class-scoped world (the authorization matrix)
builds the same people as a per-test fixture does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.roles import (
    AUDITOR,
    FACILITY_ADMIN,
    INVESTIGATOR,
    PRIVILEGE_OFFICER,
    REGISTRY_CLERK,
    ROLE_FACILITY_PERMISSIONS,
    ensure_role_groups,
)
from apps.facilities.models import Facility
from apps.inmates.models import Inmate, InmateUserObjectPermission
from apps.inmates.services import inmate_grant_create
from apps.registry.models import Attorney
from tests.factories import AttorneyFactory, FacilityFactory, SwitchAccountFactory, UserFactory, token_for

PASSWORD = "a-long-test-password"  # tests.factories.UserFactory's

__all__ = [
    "AUDITOR",
    "FACILITY_ADMIN",
    "INVESTIGATOR",
    "PASSWORD",
    "PRIVILEGE_OFFICER",
    "REGISTRY_CLERK",
    "Actor",
    "Cast",
    "actor",
    "attorney_user",
    "build_cast",
    "cast_grant",
    "client_for",
    "grant_facility",
    "home_facilities",
    "registry_clerk",
    "staff_member",
    "switch_account",
]


@dataclass
class Actor:
    user: User
    client: APIClient


def client_for(user: User) -> APIClient:
    """An API client authenticated by the user's token (how machines and API users call)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def actor(username: str, *roles: str) -> Actor:
    """A user in the given role groups, reaching no facility yet (a role alone reaches none)."""
    user = UserFactory(username=username)
    groups = ensure_role_groups()
    for role in roles:
        user.groups.add(groups[role])
    return Actor(user, client_for(user))


def grant_facility(user: User, facility: Facility, *codenames: str) -> None:
    """Facility object permissions by codename (for the few tests that need a non-role set)."""
    from guardian.shortcuts import assign_perm

    for codename in codenames:
        assign_perm(f"facilities.{codename}", user, facility)


def staff_member(
    username: str, role: str, facility: Facility, *, perms: Sequence[str] | None = None
) -> Actor:
    """A member of ``facility``'s staff in ``role``: the role's group and, unless ``perms``
    says otherwise, exactly the facility permissions the role carries."""
    who = actor(username, role)
    grant_facility(who.user, facility, *(ROLE_FACILITY_PERMISSIONS[role] if perms is None else perms))
    return who


def registry_clerk(username: str = "clerk") -> Actor:
    return actor(username, REGISTRY_CLERK)


def attorney_user(username: str = "attorney") -> Attorney:
    """An attorney with a verified e-mail (a portal account), no numbers registered yet."""
    return AttorneyFactory(user=UserFactory(username=username))


def switch_account(facility: Facility, username: str) -> Actor:
    """A facility's telephone switch: a service account bound to that one facility."""
    account = SwitchAccountFactory(facility=facility, user=UserFactory(username=username))
    return Actor(account.user, client_for(account.user))


def home_facilities() -> tuple[Facility, Facility]:
    """The home facility and the other one, as every test names them."""
    return (
        FacilityFactory(code="home", name="Home Facility"),
        FacilityFactory(code="other", name="Other Facility"),
    )


@dataclass
class Cast:
    """The standard people of one world (see the module docstring)."""

    facility: Facility
    other_facility: Facility
    admin: Actor
    investigator: Actor
    officer: Actor
    auditor: Actor


def build_cast(
    facility: Facility,
    other_facility: Facility,
    *,
    prefix: str = "",
    admin_perms: Sequence[str] | None = None,
) -> Cast:
    """The home facility's staff; ``prefix`` keeps usernames apart from a test's own users."""
    return Cast(
        facility,
        other_facility,
        admin=staff_member(f"{prefix}admin", FACILITY_ADMIN, facility, perms=admin_perms),
        investigator=staff_member(f"{prefix}investigator", INVESTIGATOR, facility),
        officer=staff_member(f"{prefix}officer", PRIVILEGE_OFFICER, facility),
        auditor=staff_member(f"{prefix}auditor", AUDITOR, facility),
    )


def cast_grant(
    cast: Cast, inmate: Inmate, *, case_reference: str = "CASE-1", days: int = 7
) -> InmateUserObjectPermission:
    """The administrator grants the investigator ``inmate`` for a case (the real service)."""
    return inmate_grant_create(
        granted_by=cast.admin.user,
        investigator=cast.investigator.user,
        inmate=inmate,
        case_reference=case_reference,
        expires_at=timezone.now() + timedelta(days=days),
    )
