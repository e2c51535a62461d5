from django.urls import path

from apps.compliance import api

urlpatterns = [
    path("reports/", api.ComplianceReportsView.as_view(), name="compliance-reports"),
    path(
        "reports/<int:report_id>/", api.ComplianceReportDetailView.as_view(), name="compliance-report-detail"
    ),
    path(
        "reports/<int:report_id>/download/<str:part>/",
        api.ComplianceReportDownloadView.as_view(),
        name="compliance-report-download",
    ),
]
