"""URLs of apps/registry/bulk_api.py, included under /api/v1/ (callplatform/urls.py)."""

from django.urls import path

from apps.registry import bulk_api

urlpatterns = [
    path("registry/bulk-changes/", bulk_api.BulkChangesView.as_view(), name="registry-bulk-changes"),
    path(
        "registry/bulk-changes/<int:change_id>/approve/",
        bulk_api.BulkChangeApproveView.as_view(),
        name="registry-bulk-change-approve",
    ),
    path(
        "registry/bulk-changes/<int:change_id>/reject/",
        bulk_api.BulkChangeRejectView.as_view(),
        name="registry-bulk-change-reject",
    ),
    path(
        "registry/numbers/<int:number_id>/revoke/",
        bulk_api.RegistryRevokeView.as_view(),
        name="registry-number-revoke",
    ),
]
