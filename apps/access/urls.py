from django.urls import path

from apps.access import api

urlpatterns = [
    path("exports/", api.ExportListView.as_view(), name="export-list"),
    path("exports/<int:export_id>/", api.ExportDetailView.as_view(), name="export-detail"),
    path("exports/<int:export_id>/approve/", api.ExportApproveView.as_view(), name="export-approve"),
    path("exports/<int:export_id>/reject/", api.ExportRejectView.as_view(), name="export-reject"),
    path("exports/<int:export_id>/download/", api.ExportDownloadView.as_view(), name="export-download"),
    path("suspensions/<int:suspension_id>/lift/", api.SuspensionLiftView.as_view(), name="suspension-lift"),
]
