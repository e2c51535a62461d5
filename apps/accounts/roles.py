"""Roles are Django groups carrying *model* permissions; facility- and inmate-level grants are
object permissions (django-guardian) given per user. A role alone reaches no facility."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

FACILITY_ADMIN = "facility_admin"
INVESTIGATOR = "investigator"
PRIVILEGE_OFFICER = "privilege_officer"
REGISTRY_CLERK = "registry_clerk"
AUDITOR = "auditor"

ROLE_PERMISSIONS: dict[str, list[str]] = {
    FACILITY_ADMIN: [],
    INVESTIGATOR: [],
    PRIVILEGE_OFFICER: ["recordings.review_quarantine"],
    REGISTRY_CLERK: ["registry.verify_exemptnumber", "registry.view_exemptnumber"],
    AUDITOR: ["audit.view_auditevent", "audit.export_auditevent"],
}

# Object permissions on a Facility that each role is given for the facilities it works at.
ROLE_FACILITY_PERMISSIONS: dict[str, list[str]] = {
    FACILITY_ADMIN: ["view_facility", "view_facility_calls", "manage_facility", "approve_facility_exports"],
    INVESTIGATOR: ["view_facility", "view_facility_calls"],
    PRIVILEGE_OFFICER: ["view_facility", "view_facility_calls"],
    REGISTRY_CLERK: [],
    AUDITOR: ["view_facility"],
}

ROLES = list(ROLE_PERMISSIONS)


def ensure_role_groups() -> dict[str, Group]:
    """Create or update the role groups so they carry exactly their model permissions."""
    groups = {}
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = [
            Permission.objects.get(content_type__app_label=label, codename=codename)
            for label, codename in (p.split(".") for p in perms)
        ]
        group.permissions.set(wanted)
        groups[role] = group
    return groups
