from django.contrib import admin

from apps.registry.models import Attorney, ExemptNumber


@admin.register(Attorney)
class AttorneyAdmin(admin.ModelAdmin):
    """Read-only: an attorney's identity changes only through a clerk-reviewed request
    (apps.registry.identity), which is audited with before and after values."""

    list_display = ["full_name", "bar_state", "bar_number", "firm"]
    search_fields = ["full_name", "bar_number"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ExemptNumber)
class ExemptNumberAdmin(admin.ModelAdmin):
    """Read-only: decisions go through the registry services so they are locked and audited."""

    list_display = ["number", "attorney", "status", "facility", "effective_from", "effective_until"]
    list_filter = ["status"]
    search_fields = ["number", "attorney__full_name"]
    list_select_related = ["attorney", "facility"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
