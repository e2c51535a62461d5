"""Who may learn *whom* a privileged call went to: the one check behind the masking rule
(apps.calls.masking) and the audit trail's revealed references (apps.audit.references).

It stays in common on purpose: it reads only django.contrib.auth's permission tables (the
app labels are strings, not imports), and its users sit on both sides of the layers (audit
below calls, calls below registry), so the ground floor is the one place all of them may
import. Moving it to calls or registry would point audit upwards."""

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
