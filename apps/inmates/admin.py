from __future__ import annotations

from django.contrib import admin

from apps.common.admin_site import ReadOnlyAdmin
from apps.inmates.models import Inmate


@admin.register(Inmate)
class InmateAdmin(ReadOnlyAdmin):
    """Read-only: inmates arrive from the switch and the facility's systems; investigator
    grants on them are made (and revoked) in the portal, where each one is audited."""

    list_display = ["booking_number", "last_name", "first_name", "facility"]
    list_filter = ["facility"]
    search_fields = ["booking_number", "last_name"]
    list_select_related = ["facility"]
