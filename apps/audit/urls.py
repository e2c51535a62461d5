from django.urls import path

from apps.audit import api

urlpatterns = [
    path("events/", api.AuditEventsView.as_view(), name="audit-events"),
    path("exports/", api.AuditExportsView.as_view(), name="audit-exports"),
    path("exports/<int:export_id>/", api.AuditExportDetailView.as_view(), name="audit-export-detail"),
    path(
        "exports/<int:export_id>/download/",
        api.AuditExportDownloadView.as_view(),
        name="audit-export-download",
    ),
    path("public-key/", api.AuditPublicKeyView.as_view(), name="audit-public-key"),
]
