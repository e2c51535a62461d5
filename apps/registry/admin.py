from __future__ import annotations

from django.contrib import admin

from apps.common.admin_site import ReadOnlyAdmin
from apps.registry.models import Attorney, ExemptNumber


@admin.register(Attorney)
class AttorneyAdmin(ReadOnlyAdmin):
    """Read-only: an attorney's identity changes only through a clerk-reviewed request
    (apps.registry.identity), which is audited with before and after values."""

    list_display = ["full_name", "bar_state", "bar_number", "firm"]
    search_fields = ["full_name", "bar_number"]


@admin.register(ExemptNumber)
class ExemptNumberAdmin(ReadOnlyAdmin):
    """Read-only and masked: decisions go through the registry services (locked, audited), and
    the number itself is for registry clerks and privilege officers, in their portal. Not
    searchable by number here: a search would answer "is this number registered?"."""

    list_display = [
        "__str__",
        "masked_number",
        "attorney",
        "status",
        "facility",
        "effective_from",
        "effective_until",
    ]
    list_filter = ["status"]
    search_fields = ["attorney__full_name"]
    list_select_related = ["attorney", "facility"]
    exclude = ["number"]

    @admin.display(description="number")
    def masked_number(self, obj: ExemptNumber) -> str:
        return "hidden (registry clerks only)"
