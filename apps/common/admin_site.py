from __future__ import annotations

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class SuperuserAdminSite(AdminSite):
    """The Django admin is for superusers only; staff work in the portal, where every page is
    scoped and audited. (Superusers still get no shortcut around quarantine, quotas or audit:
    recordings are read-only metadata there.)"""

    site_header = "callplatform administration"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser)


class SuperuserAdminConfig(AdminConfig):
    default_site = "apps.common.admin_site.SuperuserAdminSite"
