from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class SuperuserAdminSite(AdminSite):
    """The Django admin is for superusers only; staff work in the portal, where every page is
    scoped and audited. (Superusers still get no shortcut around quarantine, quotas or audit:
    the protected domains are read-only there; see ReadOnlyAdmin.)"""

    site_header = "callplatform administration"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser)


class SuperuserAdminConfig(AdminConfig):
    default_site = "apps.common.admin_site.SuperuserAdminSite"


class ReadOnlyAdmin(admin.ModelAdmin):
    """A model a superuser may look at in the admin but never add, change or delete there.

    A superuser holds every model permission, so the admin's own checks would let them delete a
    verified registration or a suspension. Everything that changes a protected domain (the
    registry, calls, recordings, grants, suspensions, exports) goes through its audited service
    instead; the admin is a window, not a door. The bulk-delete action goes with the rest.
    """

    actions = None

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
