from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from apps.facilities.models import Facility, SwitchAccount


@admin.register(Facility)
class FacilityAdmin(GuardedModelAdmin):
    list_display = ["code", "name", "timezone", "phone_region"]
    search_fields = ["code", "name"]


@admin.register(SwitchAccount)
class SwitchAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "facility", "created_at"]
    list_select_related = ["user", "facility"]
