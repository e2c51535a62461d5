from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest

from apps.access.models import ExportRequest, QuotaLimit, Suspension
from apps.access.selectors import user_is_suspended
from apps.accounts.admin import AuditedUserAdmin
from apps.common.admin_site import ReadOnlyAdmin


class SuspensionAwareUserAdmin(AuditedUserAdmin):
    """The audited user admin (apps/accounts/admin.py), registered here because it needs the
    suspensions, which accounts (a lower layer) may not import."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A suspended account is reactivated only by suspension_lift (a written reason, a
        # different person with the lift permission, audited), never by this checkbox.
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and user_is_suspended(obj):
            fields += ("is_active",)
        return fields


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, SuspensionAwareUserAdmin)


@admin.register(QuotaLimit)
class QuotaLimitAdmin(admin.ModelAdmin):
    """Per-role and per-facility overrides of the default quotas (settings.ACCESS_QUOTAS)."""

    list_display = ["kind", "window_seconds", "limit", "group", "facility"]
    list_filter = ["kind", "group"]


@admin.register(Suspension)
class SuspensionAdmin(ReadOnlyAdmin):
    """Read-only: lifting goes through the audited lift service (API or portal) with a reason;
    deleting the row here would lift it silently."""

    list_display = ["user", "rule", "created_at", "lifted_at", "lifted_by"]
    list_filter = ["rule"]


@admin.register(ExportRequest)
class ExportRequestAdmin(ReadOnlyAdmin):
    """Read-only: requests, approvals and downloads go through the two-person export service."""

    list_display = ["id", "requested_by", "approved_by", "status", "case_reference", "created_at"]
    list_filter = ["status"]
    exclude = ["wrapped_key"]


# Canaries are deliberately not in the admin: listing them would tell an insider which records
# to avoid, and deleting them would disarm the rule. They are planted by `plant_canaries`.
