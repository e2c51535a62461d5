from django.contrib import admin

from apps.access.models import Canary, ExportRequest, QuotaLimit, Suspension


@admin.register(QuotaLimit)
class QuotaLimitAdmin(admin.ModelAdmin):
    """Per-role and per-facility overrides of the default quotas (settings.ACCESS_QUOTAS)."""

    list_display = ["kind", "window_seconds", "limit", "group", "facility"]
    list_filter = ["kind", "group"]


@admin.register(Suspension)
class SuspensionAdmin(admin.ModelAdmin):
    """Read-only: lifting goes through POST /api/v1/suspensions/{id}/lift/ with a reason."""

    list_display = ["user", "rule", "created_at", "lifted_at", "lifted_by"]
    list_filter = ["rule"]
    readonly_fields = ["user", "rule", "details", "created_at", "lifted_at", "lifted_by", "lift_reason"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ExportRequest)
class ExportRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "requested_by", "approved_by", "status", "case_reference", "created_at"]
    list_filter = ["status"]
    exclude = ["wrapped_key"]
    readonly_fields = [
        "requested_by",
        "approved_by",
        "status",
        "case_reference",
        "justification",
        "approved_at",
        "progress",
        "package_sha256",
        "download_expires_at",
        "downloaded_at",
    ]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


admin.site.register(Canary)
