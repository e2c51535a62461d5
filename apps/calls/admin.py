from __future__ import annotations

from django.contrib import admin

from apps.access.admin_metering import MeteredCallRowsAdmin
from apps.calls.models import Call
from apps.common.admin_site import ReadOnlyAdmin


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin, MeteredCallRowsAdmin):
    """Read-only and metered. The dialed number is never shown here: only registry clerks and
    privilege officers may learn whom a privileged call went to, and they do so in the portal,
    where the rule has one home; a superuser is neither by virtue of the flag."""

    list_display = ["switch_call_id", "facility", "inmate", "started_at", "decision", "privileged"]
    list_filter = ["facility", "decision", "privileged"]
    search_fields = ["switch_call_id", "inmate__booking_number"]
    list_select_related = ["facility", "inmate"]
    exclude = ["dialed_number", "exempt_number"]
