from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, Permission, User
from django.db.models import Q

PRIVILEGED_DETAIL_PERMS = [("registry", "verify_exemptnumber"), ("recordings", "review_quarantine")]


def can_see_privileged_details(user: User | AnonymousUser) -> bool:
    """Only registry clerks and privilege officers learn *whom* a privileged call went to.

    Checked against explicit grants (user or group permissions), deliberately without the
    superuser shortcut of ``has_perm``: being a superuser does not unmask attorney numbers.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    wanted = Q()
    for app_label, codename in PRIVILEGED_DETAIL_PERMS:
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(wanted).filter(Q(user=user) | Q(group__user=user)).exists()
