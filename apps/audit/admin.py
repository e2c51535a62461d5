from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from apps.audit.models import AuditEvent, ChainVerification, Checkpoint
from apps.audit.services import record_event
from apps.common.admin_site import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the trail is append-only for everyone, superusers included. Every read of
    the trail here is itself audited, as it is through the API."""

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
    # Details are read through the compliance API and page, where the masking rule for
    # registered numbers applies; the admin shows the envelope only.
    exclude = ["details"]
    search_fields = ["actor_label", "target_id", "request_id"]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        with transaction.atomic():
            record_event(
                action="audit.events_read",
                actor=request.user,
                details={"via": "admin", "query": request.GET.urlencode()[:500]},
            )
        return super().changelist_view(request, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        with transaction.atomic():
            record_event(
                action="audit.event_read",
                actor=request.user,
                target_type="audit.auditevent",
                target_id=str(object_id)[:64],
                details={"via": "admin"},
            )
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["sequence", "hash", "created_at", "key_id"]


@admin.register(ChainVerification)
class ChainVerificationAdmin(ReadOnlyAdmin):
    list_display = ["finished_at", "ok", "events", "last_sequence", "problem_kind", "witnessed"]
