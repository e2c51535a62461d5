from django.contrib import admin

from apps.calls.models import Call


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["switch_call_id", "facility", "inmate", "started_at", "decision", "privileged"]
    list_filter = ["facility", "decision", "privileged"]
    search_fields = ["switch_call_id", "inmate__booking_number"]
    list_select_related = ["facility", "inmate"]
    readonly_fields = [f.name for f in Call._meta.fields]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
