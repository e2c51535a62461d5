from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from apps.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only for everyone, superusers included."""

    list_display = [
        "id",
        "sequence",
        "created_at",
        "actor_label",
        "action",
        "outcome",
        "target_type",
        "target_id",
    ]
    list_filter = ["action", "outcome"]
    search_fields = ["actor_label", "target_id", "request_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
