"""Call records read in the Django admin pay the same quota as everywhere else (I4).

A superuser holds every model permission, and the admin's change list pages through a whole
table; without this, it would be the one unmetered bulk read of call records. Each change-list
page charges ``call_rows`` for the rows it shows and each detail page one row, in one
transaction with the audit event that records the read; past the quota the page is a 429.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from apps.access.errors import QuotaExceededError
from apps.access.quotas import metered
from apps.audit.services import record_event


class MeteredCallRowsAdmin(admin.ModelAdmin):
    """For admins whose rows are call records (calls, recordings)."""

    list_per_page = 50
    # "Show all" would otherwise put up to 200 rows on one page regardless of the paginator.
    list_max_show_all = 50
    audit_action = "admin.calls_listed"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = (
            getattr(response, "context_data", {}).get("cl")
            if isinstance(response, TemplateResponse)
            else None
        )
        if changelist is None:
            return response
        rows = list(changelist.result_list)  # evaluated once here; the template reuses the cache
        changelist.result_list = rows
        return self._charge(
            request, response, rows=len(rows), details={"query": request.GET.urlencode()[:500]}
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code != 200:
            return response
        return self._charge(request, response, rows=1, details={"object_id": str(object_id)[:64]})

    def _charge(
        self, request: HttpRequest, response: HttpResponse, *, rows: int, details: dict[str, Any]
    ) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:  # the admin site admits superusers only
            return HttpResponse(status=403)
        try:
            with metered(user=user, charges=[("call_rows", rows)], facility_id=None):
                record_event(
                    action=self.audit_action,
                    actor=user,
                    target_type=self.model._meta.label_lower,
                    details={"via": "admin", "rows": rows, **details},
                )
        except QuotaExceededError as exc:
            return HttpResponse(str(exc), status=429, content_type="text/plain; charset=utf-8")
        return response
