from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.facilities.models import Facility, SwitchAccount


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin):
    """A plain ModelAdmin, not guardian's GuardedModelAdmin: its object-permission pages would
    grant facility access outside the portal's audited grant service. Facilities are never
    deleted (their calls and recordings hang off them)."""

    list_display = ["code", "name", "timezone", "phone_region"]
    search_fields = ["code", "name"]
    actions = None

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SwitchAccount)
class SwitchAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "facility", "created_at"]
    list_select_related = ["user", "facility"]
