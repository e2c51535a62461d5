from django.contrib import admin

from apps.recordings.models import Recording


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    """Metadata only, read-only: the admin is no way around quarantine or the audit trail."""

    list_display = ["id", "call", "state", "size_bytes", "storage_backend", "created_at"]
    list_filter = ["state", "storage_backend"]
    exclude = ["wrapped_key"]
    readonly_fields = [
        "call",
        "storage_backend",
        "storage_key",
        "size_bytes",
        "sha256",
        "content_type",
        "encryption",
        "state",
        "quarantined_at",
        "quarantine_reason",
        "purged_at",
        "retention_until",
        "created_at",
    ]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
