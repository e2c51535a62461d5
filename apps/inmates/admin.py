from django.contrib import admin

from apps.inmates.models import Inmate


@admin.register(Inmate)
class InmateAdmin(admin.ModelAdmin):
    list_display = ["booking_number", "last_name", "first_name", "facility"]
    list_filter = ["facility"]
    search_fields = ["booking_number", "last_name"]
    list_select_related = ["facility"]
