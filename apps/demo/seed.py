"""Demo data: facilities, inmates, attorneys with verified numbers, one user per role, a second
facility admin, privilege officer and registry clerk (a suspended admin can be lifted by the
other; the privilege review and bulk changes need two people), and one case grant so the
investigator can play (and stop) a recording out of the box.

Idempotent. Demo passwords are derived (HMAC) from a random secret made on the first run and
kept in VAR_DIR/demo-secret (mode 0600), so a re-run gives the same logins, and nobody can work
them out from the repository (they were once derived from the public SECRET_KEY). Refused under
the production settings: demo users with known roles have no place in a deployment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm
from rest_framework.authtoken.models import Token

from apps.accounts.roles import ROLE_FACILITY_PERMISSIONS, ROLES, ensure_role_groups
from apps.actions.registry import exempt_number_verify
from apps.actions.stations import station_register
from apps.common.errors import DomainError
from apps.facilities.models import Facility, PrivilegedStation, SwitchAccount
from apps.inmates.models import Inmate, InmateUserObjectPermission
from apps.inmates.services import inmate_grant_create
from apps.registry.models import Attorney, ExemptNumber, ExemptStatus
from apps.registry.services import exempt_number_register

FACILITIES = [
    ("nyc-mdc", "Metropolitan Detention Center (demo)", "America/New_York", "US"),
    ("tx-hunt", "Huntsville Unit (demo)", "America/Chicago", "US"),
]
FIRST = [
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Patricia",
    "David",
    "Barbara",
    "William",
    "Elizabeth",
    "Richard",
    "Jennifer",
    "Joseph",
    "Susan",
    "Thomas",
    "Jessica",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
]
INMATES_PER_FACILITY = 24
ATTORNEYS = [
    (
        "attorney-okafor",
        "Ngozi Okafor",
        "NY",
        "4012345",
        "Okafor Defense LLP",
        ["+12125550101", "+13475550123"],
    ),
    (
        "attorney-reyes",
        "Daniel Reyes",
        "TX",
        "24012345",
        "Reyes & Partners",
        ["+17135550142", "+18325550177"],
    ),
    ("attorney-chen", "Grace Chen", "NY", "5098765", "Legal Aid Society (demo)", ["+16465550188"]),
]


# The second person of each two-person job (issue 15: "the demo has a second admin", "seed two
# officers"; issue 11: a bulk change takes effect only when a second clerk approves it).
SECOND_USERS = {
    "facility_admin": "demo-facility-admin-2",
    "privilege_officer": "demo-privilege-officer-2",
    "registry_clerk": "demo-registry-clerk-2",
}
# The investigator's case grant (issue 15 item 3): the first inmate of the first facility.
GRANT_CASE_REFERENCE = "DEMO-CASE-1"
GRANT_DAYS = 30


def _demo_secret() -> bytes:
    """This installation's random demo secret, made once. Written aside and linked into place,
    so two first runs at once agree and nobody ever reads a half-written file."""
    path = settings.VAR_DIR / "demo-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        spare = path.with_name(f".demo-secret.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
        try:
            os.link(spare, path)
        except FileExistsError:
            pass
        finally:
            spare.unlink()
    return path.read_bytes()


def demo_password(username: str) -> str:
    digest = hmac.new(_demo_secret(), f"demo:{username}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest())[:18].decode()


@dataclass
class SeedResult:
    facilities: list[dict[str, Any]] = field(default_factory=list)
    inmates: list[dict[str, str]] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    attorneys: list[dict[str, Any]] = field(default_factory=list)
    # role -> the second user of that role (same shape as ``users``)
    second_users: dict[str, dict[str, Any]] = field(default_factory=dict)
    grants: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "facilities": self.facilities,
            "inmates": self.inmates,
            "users": self.users,
            "second_users": self.second_users,
            "attorneys": self.attorneys,
            "grants": self.grants,
        }


def _user(username: str, *, email: str = "") -> tuple[User, str]:
    user, _ = User.objects.get_or_create(username=username, defaults={"email": email})
    password = demo_password(username)
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    token, _ = Token.objects.get_or_create(user=user)
    return user, token.key


def _staff(username: str, role: str, groups: dict[str, Any], facilities: list[Facility]) -> dict[str, Any]:
    user, token = _user(username, email=f"{username}@example.org")
    user.groups.add(groups[role])
    for facility in facilities:
        for perm in ROLE_FACILITY_PERMISSIONS[role]:
            assign_perm(f"facilities.{perm}", user, facility)
    return {
        "username": user.username,
        "password": demo_password(user.username),
        "token": token,
        "facilities": [f.code for f in facilities],
    }


def _investigator_grant(result: SeedResult, facility: Facility) -> dict[str, str]:
    """One case grant for the investigator, made by an admin through the grant service (audited
    as ``grant.created``); renewed only when it has expired, so a re-run changes nothing. The
    second admin grants when the first cannot (suspended by the canary, say)."""
    investigator = User.objects.get(username=result.users["investigator"]["username"])
    inmate = Inmate.objects.get(facility=facility, booking_number=result.inmates[0]["booking_number"])
    current = InmateUserObjectPermission.objects.filter(
        user=investigator, content_object=inmate, expires_at__gt=timezone.now()
    ).first()
    if current is None:
        admins = [result.users["facility_admin"], result.second_users["facility_admin"]]
        for admin in admins:
            try:
                current = inmate_grant_create(
                    granted_by=User.objects.get(username=admin["username"]),
                    investigator=investigator,
                    inmate=inmate,
                    case_reference=GRANT_CASE_REFERENCE,
                    expires_at=timezone.now() + timedelta(days=GRANT_DAYS),
                )
                break
            except DomainError:
                continue
    return {
        "investigator": investigator.username,
        "facility": facility.code,
        "inmate": inmate.booking_number,
        "case_reference": current.case_reference if current else "",
    }


def ensure_demo_allowed() -> None:
    if settings.DEPLOYMENT == "production":
        raise CommandError("demo data is refused under the production settings (DEPLOYMENT=production)")


def seed_demo() -> SeedResult:
    ensure_demo_allowed()  # before touching the database
    return _seed()


@transaction.atomic
def _seed() -> SeedResult:
    result = SeedResult()
    groups = ensure_role_groups()
    facilities = []
    for code, name, tz, region in FACILITIES:
        facility, _ = Facility.objects.get_or_create(
            code=code, defaults={"name": name, "timezone": tz, "phone_region": region}
        )
        facilities.append(facility)
        switch_user, switch_token = _user(f"switch-{code}")
        SwitchAccount.objects.get_or_create(user=switch_user, defaults={"facility": facility})
        result.facilities.append({"code": code, "name": name, "region": region, "switch_token": switch_token})
        for i in range(INMATES_PER_FACILITY):
            booking = f"{code[:2].upper()}{100000 + i}"
            Inmate.objects.get_or_create(
                facility=facility,
                booking_number=booking,
                defaults={
                    "first_name": FIRST[i % len(FIRST)],
                    "last_name": LAST[(i * 7) % len(LAST)],
                    "account_number": f"ACCT-{code[:2].upper()}-{5000 + i}",
                },
            )
            result.inmates.append({"facility": code, "booking_number": booking})

    for role in ROLES:
        result.users[role] = _staff(f"demo-{role.replace('_', '-')}", role, groups, facilities)
    for role, username in SECOND_USERS.items():
        result.second_users[role] = _staff(username, role, groups, facilities)
    result.grants.append(_investigator_grant(result, facilities[0]))

    clerk = User.objects.get(username="demo-registry-clerk")
    for username, full_name, state, bar, firm, numbers in ATTORNEYS:
        user, token = _user(username, email=f"{username}@example.org")
        attorney, _ = Attorney.objects.get_or_create(
            user=user,
            defaults={
                "full_name": full_name,
                "bar_state": state,
                "bar_number": bar,
                "firm": firm,
                "contact_email": f"{username}@example.org",
                "email_verified_at": timezone.now(),
            },
        )
        for number in numbers:
            if not ExemptNumber.objects.filter(number=number, status=ExemptStatus.VERIFIED).exists():
                exempt = exempt_number_register(attorney=attorney, number=number, label="office", actor=user)
                exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
        result.attorneys.append(
            {"username": username, "password": demo_password(username), "token": token, "numbers": numbers}
        )
    _attorney_booth(facilities[0])
    # Canaries are planted by simulate_calls, among the calls, not here before them (their ids
    # would be the lowest of all).
    return result


# The first facility's attorney booth (issue 11, section 6): the switch names it at call setup
# and every call from it is exempt, whatever number it dials (simulate_calls places one).
DEMO_BOOTH = ("ATTORNEY-BOOTH-1", "Attorney booth 1 (visit wing)")


def _attorney_booth(facility: Facility) -> None:
    """Register the booth once: a re-seed finds it live and adds nothing."""
    station_id, label = DEMO_BOOTH
    if PrivilegedStation.objects.filter(
        facility=facility, station_id=station_id, retired_at__isnull=True
    ).exists():
        return
    admin = User.objects.get(username="demo-facility-admin")
    station_register(facility=facility, station=station_id, label=label, actor=admin)
