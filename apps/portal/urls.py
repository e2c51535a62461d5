from django.contrib.auth import views as auth_views
from django.urls import path

from apps.portal import password_reset
from apps.portal.views import (
    auth,
    calls,
    compliance,
    compliance_reports,
    dashboard,
    exports,
    grants,
    inmates,
    prompts,
    recordings,
    staff,
    stations,
    suspensions,
)

app_name = "portal"

urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("password-reset/", password_reset.PasswordResetView.as_view(), name="password-reset"),
    path("password-reset/sent/", password_reset.reset_sent, name="password-reset-done"),
    path(
        "password-reset/<uidb64>/<token>/",
        password_reset.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("", dashboard.dashboard, name="dashboard"),
    path("inmates/", inmates.inmate_list, name="inmate-list"),
    path("inmates/<int:inmate_id>/", inmates.inmate_detail, name="inmate-detail"),
    path("calls/", calls.call_list, name="call-list"),
    path("calls/download/", calls.call_download, name="call-download"),
    path("recordings/<int:recording_id>/", recordings.recording_detail, name="recording-detail"),
    path("recordings/<int:recording_id>/play/", recordings.recording_play, name="recording-play"),
    path("recordings/<int:recording_id>/stop/", recordings.recording_stop, name="recording-stop"),
    path("grants/", grants.grant_list, name="grant-list"),
    path("grants/new/", grants.grant_create, name="grant-create"),
    path("grants/<int:grant_id>/revoke/", grants.grant_revoke, name="grant-revoke"),
    path("staff/", staff.staff_list, name="staff"),
    path("staff/remove/", staff.staff_remove, name="staff-remove"),
    path("staff/suspensions/", suspensions.suspension_list, name="suspension-list"),
    path(
        "staff/suspensions/<int:suspension_id>/lift/",
        suspensions.suspension_lift_view,
        name="suspension-lift",
    ),
    path("staff/invite/", staff.staff_invite, name="staff-invite"),
    path("account/password/", auth.PasswordChangeView.as_view(), name="password-change"),
    path("prompts/", prompts.prompt_list, name="prompt-list"),
    path("stations/", stations.station_list, name="station-list"),
    path("stations/<int:station_id>/retire/", stations.station_retire_page, name="station-retire"),
    path(
        "inmates/<int:inmate_id>/do-not-record/",
        stations.inmate_do_not_record,
        name="inmate-do-not-record",
    ),
    path("exports/", exports.export_list, name="export-list"),
    path("exports/new/", exports.export_new, name="export-new"),
    path("exports/<int:export_id>/", exports.export_detail, name="export-detail"),
    path("exports/<int:export_id>/approve/", exports.export_approve, name="export-approve"),
    path("exports/<int:export_id>/reject/", exports.export_reject, name="export-reject"),
    path("exports/<int:export_id>/download/", exports.export_download, name="export-download"),
    path("compliance/", compliance.compliance, name="compliance"),
    path("compliance/exports/", compliance.compliance_export, name="compliance-export"),
    path("compliance/reports/", compliance_reports.report_list, name="compliance-reports"),
    path(
        "compliance/reports/<int:report_id>/<str:part>/",
        compliance_reports.report_download,
        name="compliance-report-download",
    ),
]
