from __future__ import annotations

from django.contrib import admin

from apps.access.admin_metering import MeteredCallRowsAdmin
from apps.common.admin_site import ReadOnlyAdmin
from apps.recordings.models import Recording


@admin.register(Recording)
class RecordingAdmin(ReadOnlyAdmin, MeteredCallRowsAdmin):
    """Metadata only, read-only and metered: the admin is no way around quarantine, quotas or
    the audit trail. Purging and releasing go through the two-officer privilege review."""

    audit_action = "admin.recordings_listed"
    list_display = ["id", "call", "state", "size_bytes", "storage_backend", "created_at"]
    list_filter = ["state", "storage_backend"]
    exclude = ["wrapped_key"]
